import type { Tensor } from '../checkpoint/tensor-store.js';
import { Rng } from '../util/rng.js';
import { assignmentScore, maximiseAssignment } from './assignment.js';
import { solveHeads } from './heads.js';
import { axisIndex, tensorAxes, type AxisParts, type FamilyAlignment } from './axis-parts.js';
import { gather, identity, type Permutations } from './permutation.js';

/**
 * Weight matching (Ainsworth et al., "Git Re-Basin", 2023): find the unit permutations of the
 * other model that maximise Σ_tensors ⟨W_ref, P(W_other)⟩. Each group's permutation is the
 * solution of a linear assignment once the other groups are fixed, so we sweep the groups in a
 * seeded random order, re-solving each, until a full sweep improves nothing.
 *
 * Both models' tensors are held in memory for the duration (the sweep revisits every tensor).
 */

export interface MatchingModel {
  /** The tensors both models have, by canonical name (classifier rows already in the same label order). */
  read(name: string): Tensor;
}

export interface GroupReport {
  readonly group: string;
  readonly units: number;
  /** Units that moved away from their original position. */
  readonly moved: number;
  /** Mean per-unit similarity before (identity) and after alignment. */
  readonly before: number;
  readonly after: number;
}

export interface MatchingResult {
  readonly perms: Map<string, Int32Array>;
  readonly groups: GroupReport[];
  readonly iterations: number;
}

/** One place a group acts: part `offset / n` of one axis of a tensor; `other` is the other axis's parts (2-D). */
interface Use {
  readonly name: string;
  readonly axis: 0 | 1;
  readonly offset: number;
  readonly other: AxisParts | null;
}

/**
 * S[i, j] += Σ_k A[o+i, k]·B[o+j, k] (axis 0) or Σ_k A[k, o+i]·B[k, o+j] (axis 1), o the part's
 * offset, with B's other axis permuted as the current permutations say.
 */
function accumulate(s: Float64Array, n: number, a: Tensor, b: Tensor, use: Use, perms: Permutations): void {
  const o = use.offset;
  if (a.shape.length === 1) {
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) s[i * n + j] += a.data[o + i]! * b.data[o + j]!;
    return;
  }
  const [rows, cols] = a.shape as [number, number];
  if (use.axis === 0) {
    const bp = gather(b, null, use.other ? axisIndex(use.other, cols, perms) : null);
    for (let i = 0; i < n; i++) {
      const ai = (o + i) * cols;
      for (let j = 0; j < n; j++) {
        const bj = (o + j) * cols;
        let dot = 0;
        for (let k = 0; k < cols; k++) dot += a.data[ai + k]! * bp[bj + k]!;
        s[i * n + j] += dot;
      }
    }
  } else {
    const bp = gather(b, use.other ? axisIndex(use.other, rows, perms) : null, null);
    for (let k = 0; k < rows; k++) {
      const ak = k * cols + o;
      for (let i = 0; i < n; i++) {
        const av = a.data[ak + i]!;
        if (av === 0) continue;
        const si = i * n;
        for (let j = 0; j < n; j++) s[si + j] += av * bp[ak + j]!;
      }
    }
  }
}

export interface WeightMatchingOptions {
  /** The family's rules: which groups act on which axes (and parts of axes) of every tensor. */
  readonly alignment: FamilyAlignment;
  readonly hiddenSize: number;
  readonly numHeads: number;
  readonly maxSweeps?: number;
  readonly seed?: number;
}

export function weightMatching(ref: MatchingModel, other: MatchingModel, names: readonly string[], opts: WeightMatchingOptions): MatchingResult {
  const refT = new Map(names.map((n) => [n, ref.read(n)]));
  const othT = new Map(names.map((n) => [n, other.read(n)]));
  const uses = new Map<string, Use[]>();
  const sizes = new Map<string, number>();
  for (const name of names) {
    const axes = tensorAxes(opts.alignment, name);
    const shape = refT.get(name)!.shape;
    axes.forEach((parts, axis) => {
      const n = shape[axis]! / parts.length;
      parts.forEach((g, k) => {
        if (g === null) return;
        if (sizes.has(g) && sizes.get(g) !== n) throw new Error(`group ${g} has ${sizes.get(g)} units elsewhere but ${n} in ${name}`);
        const u = uses.get(g) ?? [];
        u.push({ name, axis: axis as 0 | 1, offset: k * n, other: axes.length > 1 ? axes[1 - axis]! : null });
        uses.set(g, u);
        sizes.set(g, n);
      });
    });
  }
  const perms = new Map<string, Int32Array>();
  for (const [g, n] of sizes) perms.set(g, identity(n));

  const similarity = (g: string): Float64Array => {
    const n = sizes.get(g)!;
    const s = new Float64Array(n * n);
    for (const use of uses.get(g)!) accumulate(s, n, refT.get(use.name)!, othT.get(use.name)!, use, perms);
    return s;
  };
  // Attention groups are solved together per layer (shared head order); everything else alone.
  const steps = [...new Set([...sizes.keys()].map((g) => g.replace(/^(qk|vo)\./, 'attn.')))].sort();
  const before = new Map<string, number>();
  const score = new Map<string, number>();
  const rng = new Rng(opts.seed ?? 0);
  const maxSweeps = opts.maxSweeps ?? 50;
  let sweeps = 0;
  for (; sweeps < maxSweeps; sweeps++) {
    let improved = false;
    for (const step of rng.shuffle(steps)) {
      const groups = step.startsWith('attn.') ? [step.replace('attn.', 'qk.'), step.replace('attn.', 'vo.')].filter((g) => sizes.has(g)) : [step];
      const sims = groups.map(similarity);
      const current = groups.reduce((acc, g, k) => acc + assignmentScore(sims[k]!, sizes.get(g)!, perms.get(g)!), 0);
      if (sweeps === 0) groups.forEach((g, k) => before.set(g, assignmentScore(sims[k]!, sizes.get(g)!, identity(sizes.get(g)!)) / sizes.get(g)!));
      let next: Int32Array[];
      if (step.startsWith('attn.') && groups.length === 2) {
        const h = solveHeads(sims[0]!, sims[1]!, opts.hiddenSize, opts.numHeads, opts.alignment.qkWithinHead);
        next = [h.qk, h.vo];
      } else {
        next = groups.map((g, k) => maximiseAssignment(sims[k]!, sizes.get(g)!));
      }
      const proposed = groups.reduce((acc, g, k) => acc + assignmentScore(sims[k]!, sizes.get(g)!, next[k]!), 0);
      if (proposed > current + 1e-9 * Math.max(1, Math.abs(current))) {
        groups.forEach((g, k) => perms.set(g, next[k]!));
        improved = true;
      }
    }
    if (!improved) break;
  }
  for (const g of sizes.keys()) score.set(g, assignmentScore(similarity(g), sizes.get(g)!, perms.get(g)!) / sizes.get(g)!);
  const groups = [...sizes.keys()].sort().map((g) => {
    const p = perms.get(g)!;
    let moved = 0;
    for (let i = 0; i < p.length; i++) if (p[i] !== i) moved++;
    return { group: g, units: p.length, moved, before: before.get(g) ?? 0, after: score.get(g) ?? 0 };
  });
  return { perms, groups, iterations: Math.min(sweeps + 1, maxSweeps) };
}
