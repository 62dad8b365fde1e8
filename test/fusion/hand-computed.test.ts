// Fused probabilities worked out by hand on small arrays. Member logits are written as log p,
// so each member's softmax is exactly the distribution p we reason about.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { getFusionMethod } from '../../src/fusion/registry.js';
import type { MemberOutputs } from '../../src/fusion/types.js';
import { SHARE_FLOOR, TIE_WEIGHT } from '../../src/fusion/vote.js';

function members(...dists: number[][][]): MemberOutputs {
  const n = dists[0]!.length;
  const k = dists[0]![0]!.length;
  return {
    n,
    k,
    members: dists.map((rows, m) => ({ name: `m${m}`, logits: Float64Array.from(rows.flat().map(Math.log)), pooled: null, cls: null, hiddenSize: 0, cost: 1 })),
  };
}
const assertClose = (got: ArrayLike<number>, want: number[], tol = 1e-12): void => {
  assert.equal(got.length, want.length);
  for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i]! - want[i]!) <= tol, `[${i}] ${got[i]} vs ${want[i]}`);
};

const A = [0.5, 0.3, 0.2];
const B = [0.1, 0.6, 0.3];
const uncalibrated = { weights: [0.5, 0.5], temperatures: [1, 1], postTemperature: 1 };

test('mean: (A + B) / 2', () => {
  assertClose(getFusionMethod('mean').apply(members([A], [B]), uncalibrated), [0.3, 0.45, 0.25]);
});

test('weighted with given weights 0.25 / 0.75', () => {
  assertClose(getFusionMethod('weighted').apply(members([A], [B]), { ...uncalibrated, weights: [0.25, 0.75] }), [0.2, 0.525, 0.275]);
});

test('member temperature 2 takes square roots; post-temperature 0.5 squares', () => {
  // softmax(log p / 2) = √p / Σ√p for A; B unchanged; then the mean.
  const sq = A.map(Math.sqrt);
  const s = sq.reduce((a, b) => a + b, 0);
  assertClose(getFusionMethod('mean').apply(members([A], [B]), { ...uncalibrated, temperatures: [2, 1] }), A.map((_, j) => (sq[j]! / s + B[j]!) / 2));
  // softmax(log q / 0.5) = q² / Σq² with q = [0.3, 0.45, 0.25].
  const q2 = [0.09, 0.2025, 0.0625];
  const t = q2.reduce((a, b) => a + b, 0);
  assertClose(getFusionMethod('mean').apply(members([A], [B]), { ...uncalibrated, postTemperature: 0.5 }), q2.map((v) => v / t));
});

test('geometric_mean: normalised geometric mean √(A·B); soft_vote is its old name', () => {
  const g = A.map((a, j) => Math.sqrt(a * B[j]!));
  const s = g.reduce((a, b) => a + b, 0);
  assertClose(getFusionMethod('geometric_mean').apply(members([A], [B]), uncalibrated), g.map((v) => v / s));
  assert.equal(getFusionMethod('soft_vote'), getFusionMethod('geometric_mean'));
});

test('weighted with user-fixed weights=0.6,0.4 (scaled to sum 1): 0.6·A + 0.4·B, not fitted', () => {
  const ctx = { labels: Int32Array.from([1, 1, 1]), folds: 3, seed: 0 };
  const outs = members([A, A, A], [B, B, B]);
  const params = getFusionMethod('weighted').fit(outs, ctx, { weights: '0.6,0.4' });
  assert.deepEqual((params as { weights: number[] }).weights, [0.6, 0.4]);
  assertClose(getFusionMethod('weighted').apply(members([A], [B]), params), A.map((a, j) => 0.6 * a + 0.4 * B[j]!));
  const scaled = getFusionMethod('weighted').fit(outs, ctx, { weights: '3,1' });
  assertClose((scaled as { weights: number[] }).weights, [0.75, 0.25]);
  for (const [w, why] of [
    ['0.6', /one number per member \(2\), got 1/],
    ['0.6,-0.4', /finite numbers ≥ 0, got "-0.4"/],
    ['0.6,inf', /finite numbers ≥ 0, got "inf"/],
    ['0,0', /all zero/],
  ] as const) {
    assert.throws(() => getFusionMethod('weighted').fit(outs, ctx, { weights: w }), (e: Error) => why.test(e.message), w);
  }
});

test('hard vote: shares of votes, with the documented tie term and floor', () => {
  const vote = getFusionMethod('vote');
  const C = [0.2, 0.7, 0.1];
  // Votes: A → 0, B → 1, C → 1: shares 1/3, 2/3, 0.
  const p = vote.apply(members([A], [B], [C]), { temperatures: [1, 1, 1] });
  const mean = A.map((a, j) => (a + B[j]! + C[j]!) / 3);
  const want = [1, 2, 0].map((v, j) => (1 - SHARE_FLOOR) * ((v + TIE_WEIGHT * mean[j]!) / (3 + TIE_WEIGHT)) + SHARE_FLOOR / 3);
  assertClose(p, want);
  assertClose(p, [1 / 3, 2 / 3, 0], 1e-3);
  assert.ok(p[2]! > 0, 'the floor keeps log finite');
});

test('hard vote tie rule: equal votes go to the larger summed probability, then the lowest index', () => {
  const vote = getFusionMethod('vote');
  const params = { temperatures: [1, 1] };
  // 1–1 tie; summed probabilities 0.6 + 0.3 = 0.9 for label 0, 0.4 + 0.7 = 1.1 for label 1: label 1 wins.
  const p = vote.apply(members([[0.6, 0.4]], [[0.3, 0.7]]), params);
  assert.ok(p[1]! > p[0]!, `label 1 should win: ${[...p]}`);
  assertClose(p, [0.5, 0.5], 1e-3);
  // 1–1 tie and equal sums (0.6 + 0.4 each): the lowest index wins, i.e. the two shares are equal
  // and argmax (ours and ONNX ArgMax) picks label 0.
  const q = vote.apply(members([[0.6, 0.4]], [[0.4, 0.6]]), params);
  assert.equal(q[0], q[1]);
  // Three members, three labels, one vote each: summed probabilities decide (label 1: 0.3+0.6+0.5).
  const r = vote.apply(members([[0.5, 0.3, 0.2]], [[0.1, 0.6, 0.3]], [[0.25, 0.35, 0.4]]), { temperatures: [1, 1, 1] });
  // Votes: 0, 1, 2. Sums: 0.85, 1.25, 0.9.
  assert.ok(r[1]! > r[2]! && r[2]! > r[0]!, `${[...r]}`);
});

test('cascade: first member above the threshold, the mean below it', () => {
  const cascade = getFusionMethod('cascade');
  const out = members([[0.9, 0.1], [0.55, 0.45]], [[0.3, 0.7], [0.2, 0.8]]);
  const p = cascade.apply(out, { temperatures: [1, 1], threshold: 0.8, fallback: 'mean' });
  assertClose(p, [0.9, 0.1, 0.375, 0.625]);
  const q = cascade.apply(out, { temperatures: [1, 1], threshold: 0.8, fallback: 'second' });
  assertClose(q, [0.9, 0.1, 0.2, 0.8]);
  assert.deepEqual(cascade.stats!({ ...out, members: out.members.map((m, i) => ({ ...m, cost: i + 1 })) }, { temperatures: [1, 1], threshold: 0.8, fallback: 'mean' }), {
    fallback_fraction: 0.5,
    threshold: 0.8,
    cost: 1 + 0.5 * 2,
  });
});
