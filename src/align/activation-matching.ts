import type { Checkpoint } from '../checkpoint/load.js';
import type { TextInput } from '../checkpoint/tokenizer.js';
import { collectStats, probeNamesOf, probePoints, type StatRequest, type StatsOptions } from '../merge/probe.js';
import { assignmentScore, maximiseAssignment } from './assignment.js';
import { solveHeads } from './heads.js';
import { identity } from './permutation.js';
import type { GroupReport, MatchingResult } from './weight-matching.js';

/**
 * Activation matching: run both models on the same texts and pair each unit of the reference with
 * the unit of the other model whose activations correlate best (Pearson, over unpadded tokens),
 * one linear assignment per group. The residual stream has one permutation for the whole network,
 * so its correlation matrices at every point (embeddings, after each attention block, after each
 * FFN) are summed before solving.
 */

/** The probe points that inform each permutation group; `headGroup` is the classifier input's (BERT: pooler; ModernBERT: head). */
export function groupPoints(layers: number, headGroup = 'pooler'): Map<string, string[]> {
  const m = new Map<string, string[]>();
  const residual = ['layer.0.attention_input'];
  for (let i = 0; i < layers; i++) {
    residual.push(`layer.${i}.ffn_input`);
    m.set(`qk.${i}`, [`layer.${i}.query`, `layer.${i}.key`]);
    m.set(`vo.${i}`, [`layer.${i}.value`, `layer.${i}.attention_context`]);
    m.set(`ffn.${i}`, [`layer.${i}.ffn_hidden`]);
  }
  residual.push('final_hidden');
  m.set('residual', residual);
  m.set(headGroup, ['classifier_input']);
  return m;
}

/** Pearson correlation matrix [da, db] from the sums the probe returns. */
export function correlation(sumA: Float64Array, sumB: Float64Array, sqA: Float64Array, sqB: Float64Array, cross: Float64Array, count: number): Float64Array {
  const da = sumA.length;
  const db = sumB.length;
  const sdA = Float64Array.from(sumA, (s, i) => Math.sqrt(Math.max(sqA[i]! / count - (s / count) ** 2, 0)));
  const sdB = Float64Array.from(sumB, (s, j) => Math.sqrt(Math.max(sqB[j]! / count - (s / count) ** 2, 0)));
  const out = new Float64Array(da * db);
  for (let i = 0; i < da; i++) {
    for (let j = 0; j < db; j++) {
      const cov = cross[i * db + j]! / count - (sumA[i]! / count) * (sumB[j]! / count);
      out[i * db + j] = cov / (sdA[i]! * sdB[j]! + 1e-12);
    }
  }
  return out;
}

export type ActivationMatchingOptions = StatsOptions & {
  /** 'fixed': query/key units keep their place inside a head (FamilyAlignment.qkWithinHead). */
  readonly qkWithinHead?: 'free' | 'fixed';
};

export async function activationMatching(ref: Checkpoint, other: Checkpoint, texts: readonly TextInput[], opts: ActivationMatchingOptions = {}): Promise<MatchingResult> {
  const cfg = ref.config;
  const shared = new Set(probePoints(ref).map((p) => p.key).filter((k) => probePoints(other).some((q) => q.key === k)));
  const groups = new Map([...groupPoints(cfg.numLayers, probeNamesOf(ref)?.headGroup)].map(([g, pts]) => [g, pts.filter((p) => shared.has(p))] as const).filter(([, pts]) => pts.length > 0));
  const points = [...new Set([...groups.values()].flat())];
  const requests: StatRequest[] = [];
  const index = new Map<string, number>();
  for (const key of points) {
    index.set(key, requests.length);
    requests.push(
      { kind: 'sum', model: 0, key },
      { kind: 'sum', model: 1, key },
      { kind: 'sumsq', model: 0, key },
      { kind: 'sumsq', model: 1, key },
      { kind: 'cross', a: 0, b: 1, key },
    );
  }
  const stats = await collectStats([ref, other], requests, texts, opts);
  const perSequence = new Set(['pooler_input', 'classifier_input']);
  const corr = (key: string): Float64Array => {
    const i = index.get(key)!;
    const v = stats.values;
    return correlation(v[i]!, v[i + 1]!, v[i + 2]!, v[i + 3]!, v[i + 4]!, perSequence.has(key) ? stats.sequences : stats.tokens);
  };
  const sims = new Map<string, { s: Float64Array; n: number; points: number }>();
  for (const [g, pts] of groups) {
    let s: Float64Array | null = null;
    for (const key of pts) {
      const c = corr(key);
      if (!s) s = c;
      else for (let k = 0; k < s.length; k++) s[k] += c[k]!;
    }
    sims.set(g, { s: s!, n: Math.round(Math.sqrt(s!.length)), points: pts.length });
  }
  const perms = new Map<string, Int32Array>();
  for (const [g, { s, n }] of sims) {
    if (g.startsWith('vo.')) continue;
    if (g.startsWith('qk.')) {
      const vo = sims.get(g.replace('qk.', 'vo.'));
      if (!vo) continue;
      const h = solveHeads(s, vo.s, cfg.hiddenSize, cfg.numHeads, opts.qkWithinHead ?? 'free');
      perms.set(g, h.qk);
      perms.set(g.replace('qk.', 'vo.'), h.vo);
    } else {
      perms.set(g, maximiseAssignment(s, n));
    }
  }
  const reports: GroupReport[] = [...sims.keys()].sort().map((g) => {
    const { s, n, points: k } = sims.get(g)!;
    const p = perms.get(g) ?? identity(n);
    let moved = 0;
    for (let i = 0; i < n; i++) if (p[i] !== i) moved++;
    return { group: g, units: n, moved, before: assignmentScore(s, n, identity(n)) / n / k, after: assignmentScore(s, n, p) / n / k };
  });
  return { perms, groups: reports, iterations: 1 };
}
