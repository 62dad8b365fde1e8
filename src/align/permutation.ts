import type { Tensor } from '../checkpoint/tensor-store.js';

/**
 * Which hidden units of a BERT classifier can be reordered without changing what it computes, as
 * data: for every tensor, the permutation group acting on each axis (null: that axis stays).
 *
 * - `residual`: one permutation of the hidden size shared by the embeddings, every layer's
 *   residual stream and the pooler's input. LayerNorm commutes with it (mean and variance do not
 *   depend on order), so its weight and bias permute along.
 * - `qk.{i}` / `vo.{i}`: layer i's attention, as head-structured permutations of the hidden size:
 *   heads move as blocks (the same head order for Q, K, V and the output projection), and inside a
 *   head the query and key units share one order (q·k is unchanged) while the value units and
 *   the columns of the output projection share another.
 * - `ffn.{i}`: layer i's intermediate units (rows of intermediate.dense, columns of output.dense).
 * - `pooler`: the pooler's output units (rows of pooler.dense, columns of the classifier).
 *
 * Names are the canonical `bert.`-prefixed ones; `{i}` is a layer index.
 */
type Axes = readonly [string | null] | readonly [string | null, string | null];

const RULES: ReadonlyArray<readonly [RegExp, (i: string) => Axes]> = [
  [/^bert\.embeddings\.(word|position|token_type)_embeddings\.weight$/, () => [null, 'residual']],
  [/^bert\.embeddings\.LayerNorm\.(weight|bias)$/, () => ['residual']],
  [/^bert\.encoder\.layer\.(\d+)\.attention\.self\.(query|key)\.weight$/, (i) => [`qk.${i}`, 'residual']],
  [/^bert\.encoder\.layer\.(\d+)\.attention\.self\.(query|key)\.bias$/, (i) => [`qk.${i}`]],
  [/^bert\.encoder\.layer\.(\d+)\.attention\.self\.value\.weight$/, (i) => [`vo.${i}`, 'residual']],
  [/^bert\.encoder\.layer\.(\d+)\.attention\.self\.value\.bias$/, (i) => [`vo.${i}`]],
  [/^bert\.encoder\.layer\.(\d+)\.attention\.output\.dense\.weight$/, (i) => ['residual', `vo.${i}`]],
  [/^bert\.encoder\.layer\.(\d+)\.attention\.output\.dense\.bias$/, () => ['residual']],
  [/^bert\.encoder\.layer\.(\d+)\.(attention\.)?output\.LayerNorm\.(weight|bias)$/, () => ['residual']],
  [/^bert\.encoder\.layer\.(\d+)\.intermediate\.dense\.weight$/, (i) => [`ffn.${i}`, 'residual']],
  [/^bert\.encoder\.layer\.(\d+)\.intermediate\.dense\.bias$/, (i) => [`ffn.${i}`]],
  [/^bert\.encoder\.layer\.(\d+)\.output\.dense\.weight$/, (i) => ['residual', `ffn.${i}`]],
  [/^bert\.encoder\.layer\.(\d+)\.output\.dense\.bias$/, () => ['residual']],
  [/^bert\.pooler\.dense\.weight$/, () => ['pooler', 'residual']],
  [/^bert\.pooler\.dense\.bias$/, () => ['pooler']],
  [/^classifier\.weight$/, () => [null, 'pooler']],
  [/^classifier\.bias$/, () => [null]],
  // BertForMaskedLM's head writes back into the residual basis (its decoder is the tied word embedding).
  [/^cls\.predictions\.transform\.dense\.weight$/, () => ['residual', 'residual']],
  [/^cls\.predictions\.transform\.(dense\.bias|LayerNorm\.weight|LayerNorm\.bias)$/, () => ['residual']],
  [/^cls\.predictions\.bias$/, () => [null]],
];

/** The permutation group on each axis of a canonical tensor name; throws for names it does not know. */
export function permutationAxes(name: string): Axes {
  for (const [re, axes] of RULES) {
    const m = re.exec(name);
    if (m) return axes(m[1] ?? '');
  }
  throw new Error(`no permutation rule for tensor "${name}"`);
}

/**
 * Permutations by group, as gather indices: after permuting, unit k of the group is the original
 * unit `perm[k]`. A missing group means identity.
 */
export type Permutations = ReadonlyMap<string, Int32Array>;

/** out[i, j] = t[p0[i], p1[j]] (1-D: out[i] = t[p0[i]]). */
export function gather(t: Tensor, p0: Int32Array | null, p1: Int32Array | null): Float32Array {
  const data = t.data;
  if (t.shape.length === 1) {
    if (!p0) return data;
    const out = new Float32Array(data.length);
    for (let i = 0; i < out.length; i++) out[i] = data[p0[i]!]!;
    return out;
  }
  if (t.shape.length !== 2) throw new Error(`cannot permute a ${t.shape.length}-d tensor`);
  if (!p0 && !p1) return data;
  const [rows, cols] = t.shape as [number, number];
  const out = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    const src = (p0 ? p0[i]! : i) * cols;
    const dst = i * cols;
    if (p1) for (let j = 0; j < cols; j++) out[dst + j] = data[src + p1[j]!]!;
    else out.set(data.subarray(src, src + cols), dst);
  }
  return out;
}

/** Apply the permutations to one tensor (by its canonical name). Returns the input array when nothing moves. */
export function permuteTensor(name: string, t: Tensor, perms: Permutations): Float32Array {
  const axes = permutationAxes(name);
  const p0 = axes[0] ? perms.get(axes[0]) ?? null : null;
  const p1 = axes.length > 1 && axes[1] ? perms.get(axes[1]) ?? null : null;
  return gather(t, p0, p1);
}

/** G'[i, j] = G[p[i], p[j]]: a Gram matrix of inputs whose units were permuted by p. */
export function permuteGram(g: Float64Array, n: number, p: Int32Array | null): Float64Array {
  if (!p) return g;
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const src = p[i]! * n;
    for (let j = 0; j < n; j++) out[i * n + j] = g[src + p[j]!]!;
  }
  return out;
}

/**
 * A head-structured permutation of `numHeads · headDim` units: position h·d + u takes the original
 * unit heads[h]·d + within[h][u].
 */
export function headPermutation(heads: ArrayLike<number>, within: readonly ArrayLike<number>[], headDim: number): Int32Array {
  const out = new Int32Array(heads.length * headDim);
  for (let h = 0; h < heads.length; h++) {
    for (let u = 0; u < headDim; u++) out[h * headDim + u] = heads[h]! * headDim + within[h]![u]!;
  }
  return out;
}

export function identity(n: number): Int32Array {
  return Int32Array.from({ length: n }, (_, i) => i);
}

export function isIdentity(p: ArrayLike<number>): boolean {
  for (let i = 0; i < p.length; i++) if (p[i] !== i) return false;
  return true;
}

/** Every group of a BERT encoder with `layers` layers (and a pooler when the model has one). */
export function permutationGroups(layers: number, pooler: boolean): string[] {
  const g = ['residual'];
  for (let i = 0; i < layers; i++) g.push(`qk.${i}`, `vo.${i}`, `ffn.${i}`);
  if (pooler) g.push('pooler');
  return g;
}
