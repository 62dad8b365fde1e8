import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dareLinear } from '../../src/merge/dare-linear.js';
import { dareTies } from '../../src/merge/dare-ties.js';
import { linear } from '../../src/merge/linear.js';
import { resolveParams, type ParamMap } from '../../src/merge/params.js';
import { regmean } from '../../src/merge/regmean.js';
import { slerp } from '../../src/merge/slerp.js';
import { taskArithmetic } from '../../src/merge/task-arithmetic.js';
import { kthLargestMagnitude, sparsifyArray } from '../../src/merge/task-vectors.js';
import { Rng } from '../../src/util/rng.js';
import { ties } from '../../src/merge/ties.js';
import type { MergeMethod, TensorMergeInput } from '../../src/merge/types.js';

function run(method: MergeMethod, tensors: number[][], opts: { base?: number[]; global?: ParamMap; models?: ParamMap[]; grams?: Float64Array[]; shape?: number[]; seed?: number } = {}): { data: number[]; note?: string } {
  // Weights default to 1 here, as for recipes built from flags (recipe files must give them).
  const global: ParamMap = method.params.some((p) => p.name === 'weight') ? { weight: 1, ...opts.global } : (opts.global ?? {});
  const { params, modelParams } = resolveParams(method, global, opts.models ?? tensors.map(() => ({})), 'bert.encoder.layer.0.output.dense.weight');
  const input: TensorMergeInput = {
    name: 't',
    shape: opts.shape ?? [tensors[0]!.length],
    tensors: tensors.map((t) => Float32Array.from(t)),
    base: opts.base ? Float32Array.from(opts.base) : null,
    params,
    modelParams,
    seed: opts.seed ?? 1,
    grams: opts.grams ?? null,
  };
  const r = method.merge(input);
  return { data: Array.from(r.data), ...(r.note ? { note: r.note } : {}) };
}

function close(actual: readonly number[], expected: readonly number[], tol = 1e-6): void {
  assert.equal(actual.length, expected.length);
  actual.forEach((v, i) => assert.ok(Math.abs(v - expected[i]!) <= tol, `index ${i}: ${v} vs ${expected[i]} (all: ${actual.join(', ')})`));
}

test('linear: weighted mean, normalised or not', () => {
  const a = [1, 2];
  const b = [3, 6];
  close(run(linear, [a, b], { models: [{ weight: 1 }, { weight: 3 }] }).data, [(1 + 9) / 4, (2 + 18) / 4]);
  close(run(linear, [a, b], { models: [{ weight: 1 }, { weight: 3 }], global: { normalize: false } }).data, [10, 20]);
  close(run(linear, [a, b]).data, [2, 4]);
});

test('slerp: great-circle interpolation of unnormalised tensors, lerp when parallel; a zero tensor is not normalised (mergekit)', () => {
  const s = Math.SQRT1_2;
  close(run(slerp, [[1, 0], [0, 1]], { global: { t: 0.5 } }).data, [s, s]);
  close(run(slerp, [[2, 0], [0, 1]], { global: { t: 0.5 } }).data, [2 * s, s]);
  // t = 1/3 of a 90° arc: sin(60°)/sin(90°) and sin(30°)/sin(90°).
  close(run(slerp, [[1, 0], [0, 1]], { global: { t: 1 / 3 } }).data, [Math.sin(Math.PI / 3), Math.sin(Math.PI / 6)]);
  close(run(slerp, [[1, 0], [0, 1]], { global: { t: 0 } }).data, [1, 0]);
  close(run(slerp, [[1, 0], [0, 1]], { global: { t: 1 } }).data, [0, 1]);
  close(run(slerp, [[1, 2], [2, 4]], { global: { t: 0.5 } }).data, [1.5, 3]);
  // A zero v0 stays unnormalised, so cos = 0 and θ = 90°: mergekit's slerp gives sin(tπ/2)·v1.
  close(run(slerp, [[0, 0], [2, 4]], { global: { t: 0.25 } }).data, [2 * Math.sin(Math.PI / 8), 4 * Math.sin(Math.PI / 8)]);
});

test('task_arithmetic: base + λ Σ w_i (θ_i − base)', () => {
  const base = [1, 1, 1];
  const a = [2, 1, 0]; // τ = [1, 0, -1]
  const b = [1, 3, 1]; // τ = [0, 2, 0]
  close(run(taskArithmetic, [a, b], { base, models: [{ weight: 1 }, { weight: 0.5 }], global: { lambda: 2 } }).data, [3, 3, -1]);
  close(run(taskArithmetic, [a, b], { base, models: [{ weight: 1 }, { weight: 0.5 }], global: { lambda: 2, normalize: true } }).data, [1 + 2 / 1.5, 1 + 2 / 1.5, 1 - 2 / 1.5]);
});

// Three task vectors (base = 0), worked by hand. density 0.6 keeps 3 of 5 entries per member:
//   τ1 = [ 3,   -1, 0.5, -2,  0.1] → [ 3,   -1, 0, -2, 0]
//   τ2 = [-1,   -2, 1,    4, -0.2] → [-1,   -2, 0,  4, 0]   (|−1| and |1| tie; the lower index stays)
//   τ3 = [-1.5,  1, 2,   -1,  0.3] → [-1.5,  1, 2,  0, 0]   (|1| at 1 and 3 tie; index 1 stays)
const T1 = [3, -1, 0.5, -2, 0.1];
const T2 = [-1, -2, 1, 4, -0.2];
const T3 = [-1.5, 1, 2, -1, 0.3];
const ZERO = [0, 0, 0, 0, 0];

test('ties: trim, sign election by mass (not by count), disjoint mean', () => {
  // Entry 0: two members say −, one says + but Σ = 3 − 1 − 1.5 = +0.5, so + wins and only τ1 counts.
  // Entry 1: Σ = −2 → −; τ1 and τ2 agree: mean(−1, −2) = −1.5. Entry 2: only τ3 survives: 2.
  // Entry 3: Σ = −2 + 4 = +2 → +; τ2 alone: 4. Entry 4: trimmed everywhere: 0.
  const models = [{ density: 0.6 }, { density: 0.6 }, { density: 0.6 }];
  close(run(ties, [T1, T2, T3], { base: ZERO, models }).data, [3, -1.5, 2, 4, 0]);
  // Without normalising, the agreeing entries are summed.
  close(run(ties, [T1, T2, T3], { base: ZERO, models, global: { normalize: false } }).data, [3, -3, 2, 4, 0]);
  // Weights move the election: entry 0 becomes 3 − 1 − 2·1.5 = −1 → −; weighted mean of τ2, τ3 = (−1 − 3)/3.
  const weighted = [
    { density: 0.6, weight: 1 },
    { density: 0.6, weight: 1 },
    { density: 0.6, weight: 2 },
  ];
  close(run(ties, [T1, T2, T3], { base: ZERO, models: weighted }).data, [-4 / 3, -1.5, 2, 4, 0], 1e-6);
  // λ scales the merged task vector, and a non-zero base is added back.
  const plusOne = [T1, T2, T3].map((t) => t.map((v) => v + 1));
  close(run(ties, plusOne, { base: [1, 1, 1, 1, 1], models: models.map(() => ({ density: 1 })), global: { lambda: 0.5 } }).data.map((v) => Number(v.toFixed(6))), [
    // density 1: entry 0: Σ = 0.5 → +, only τ1 → 3; entry 1: Σ = −2 → mean(−1, −2); entry 2: all +: mean(0.5, 1, 2);
    // entry 3: Σ = 1 → +, τ2 → 4; entry 4: Σ = 0.2 → +, mean(0.1, 0.3).
    Number((1 + 0.5 * 3).toFixed(6)),
    Number((1 + 0.5 * -1.5).toFixed(6)),
    Number((1 + (0.5 * 3.5) / 3).toFixed(6)),
    Number((1 + 0.5 * 4).toFixed(6)),
    Number((1 + 0.5 * 0.2).toFixed(6)),
  ]);
});

test('dare: drop with probability 1 − density, rescale by 1/density: unbiased over seeds', () => {
  const n = 2000;
  const tau = Float32Array.from({ length: n }, (_, i) => Math.sin(i) * 3);
  const density = 0.3;
  const seeds = 400;
  const mean = new Float64Array(n);
  let kept = 0;
  for (let s = 0; s < seeds; s++) {
    const d = sparsifyArray('random', tau.slice(), { density, seed: 1000 + s, rescale: 'density' });
    for (let i = 0; i < n; i++) {
      mean[i] += d[i]! / seeds;
      if (d[i] !== 0) {
        kept++;
        assert.ok(Math.abs(d[i]! - tau[i]! / density) < 1e-5, 'kept entries are divided by the density');
      }
    }
  }
  // A kept fraction of 0.3 ± 4 standard errors.
  const frac = kept / (n * seeds);
  assert.ok(Math.abs(frac - density) < 4 * Math.sqrt((density * (1 - density)) / (n * seeds)), `kept fraction ${frac}`);
  // Each entry's mean is τ within 5 standard errors (sd of one draw = |τ|·√((1−p)/p)).
  const sdFactor = Math.sqrt((1 - density) / density / seeds);
  for (let i = 0; i < n; i++) assert.ok(Math.abs(mean[i]! - tau[i]!) <= 5 * sdFactor * Math.abs(tau[i]!) + 1e-9, `entry ${i}: mean ${mean[i]} vs ${tau[i]}`);
  // Without rescaling the expectation shrinks to density·τ (checked on the total).
  let total = 0;
  let shrunk = 0;
  for (let s = 0; s < seeds; s++) {
    const d = sparsifyArray('random', tau.slice(), { density, seed: 5000 + s, rescale: 'none' });
    for (let i = 0; i < n; i++) shrunk += Math.abs(d[i]!) / seeds;
  }
  for (let i = 0; i < n; i++) total += Math.abs(tau[i]!);
  assert.ok(Math.abs(shrunk / total - density) < 0.01, `unrescaled mass ratio ${shrunk / total}`);
});

test('dare_linear / dare_ties: seeded, and with density 1 equal to task arithmetic / ties', () => {
  const base = [0.5, -0.5, 1, 2, 0];
  const members = [T1.map((v, i) => v + base[i]!), T2.map((v, i) => v + base[i]!)];
  const a = run(dareLinear, members, { base, global: { density: 0.5 }, seed: 7 }).data;
  assert.deepEqual(run(dareLinear, members, { base, global: { density: 0.5 }, seed: 7 }).data, a, 'same seed, same result');
  assert.notDeepEqual(run(dareLinear, members, { base, global: { density: 0.5 }, seed: 8 }).data, a, 'another seed, another mask');
  close(run(dareLinear, members, { base, global: { density: 1, lambda: 0.7 } }).data, run(taskArithmetic, members, { base, global: { lambda: 0.7 } }).data);
  close(run(dareTies, members, { base, global: { density: 1 } }).data, run(ties, members, { base, global: { density: 1, normalize: false } }).data);
  // dare_ties keeps survivors rescaled: with one member the result is base + τ̂, each entry 0 or τ/density.
  const one = run(dareTies, [members[0]!], { base, global: { density: 0.5, rescale: 'density' }, seed: 3 }).data;
  one.forEach((v, i) => {
    const t = T1[i]!;
    assert.ok(Math.abs(v - base[i]!) < 1e-6 || Math.abs(v - (base[i]! + t / 0.5)) < 1e-5, `entry ${i}: ${v}`);
  });
});

/** Row-major n×n Gram XᵀX of rows X. */
function gram(rows: number[][]): Float64Array {
  const n = rows[0]!.length;
  const g = new Float64Array(n * n);
  for (const r of rows) for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) g[i * n + j] += r[i]! * r[j]!;
  return g;
}

test('regmean: identical inputs give the plain average', () => {
  const w1 = [1, 2, 3, 4, 5, 6]; // [2, 3]
  const w2 = [-1, 0, 2, 7, 1, 1];
  const g = gram([
    [1, 2, 0],
    [0, 1, 1],
    [2, 0, 1],
    [1, 1, 1],
  ]);
  for (const alpha of [1, 0.9, 0.3]) {
    close(run(regmean, [w1, w2], { shape: [2, 3], grams: [g, g], global: { alpha } }).data, w1.map((v, i) => (v + w2[i]!) / 2), 1e-5);
  }
  // Tensors without statistics (biases, LayerNorm, embeddings) are averaged.
  close(run(regmean, [[1, 3], [3, 5]]).data, [2, 4]);
});

test('regmean: closed form W = (Σ W_i G̃_i)(Σ G̃_i)⁻¹, checked by hand and by its normal equations', () => {
  // Diagonal Grams: each input column is weighted by how much that member uses it.
  close(run(regmean, [[1, 0], [0, 1]], { shape: [1, 2], grams: [Float64Array.from([3, 0, 0, 1]), Float64Array.from([1, 0, 0, 3])] }).data, [0.75, 0.75]);
  // Full Grams: the result must satisfy W·A = B with A = Σ G̃_i, B = Σ W_i G̃_i (α = 0.5 halves off-diagonals).
  const g1 = gram([
    [1, 2, 0],
    [0, 1, 3],
    [2, 1, 1],
  ]);
  const g2 = gram([
    [2, 0, 1],
    [1, 1, 0],
    [0, 3, 1],
    [1, 0, 0],
  ]);
  const w1 = [1, -2, 0.5, 3, 0, 1];
  const w2 = [0, 1, 1, -1, 2, 0.5];
  const alpha = 0.5;
  const w = run(regmean, [w1, w2], { shape: [2, 3], grams: [g1, g2], global: { alpha } }).data;
  const shrink = (g: Float64Array): Float64Array => g.map((v, k) => (k % 4 === 0 ? v : alpha * v));
  const [s1, s2] = [shrink(g1), shrink(g2)];
  for (let r = 0; r < 2; r++) {
    for (let j = 0; j < 3; j++) {
      let lhs = 0;
      let rhs = 0;
      for (let k = 0; k < 3; k++) {
        lhs += w[r * 3 + k]! * (s1[k * 3 + j]! + s2[k * 3 + j]!);
        rhs += w1[r * 3 + k]! * s1[k * 3 + j]! + w2[r * 3 + k]! * s2[k * 3 + j]!;
      }
      assert.ok(Math.abs(lhs - rhs) < 1e-4, `normal equation (${r}, ${j}): ${lhs} vs ${rhs}`);
    }
  }
  // α = 0 reduces to a per-input-column weighted mean with weights G_i[j, j].
  const w0 = run(regmean, [w1, w2], { shape: [2, 3], grams: [g1, g2], global: { alpha: 0 } }).data;
  for (let r = 0; r < 2; r++) {
    for (let j = 0; j < 3; j++) {
      const d1 = g1[j * 4]!;
      const d2 = g2[j * 4]!;
      assert.ok(Math.abs(w0[r * 3 + j]! - (w1[r * 3 + j]! * d1 + w2[r * 3 + j]! * d2) / (d1 + d2)) < 1e-5);
    }
  }
});

test('regmean: a singular Gram is solved with jitter, an all-zero one falls back to the average, both reported', () => {
  // Input 2 is never active for either member: Σ G has a zero row and column.
  const g = Float64Array.from([2, 1, 0, 1, 2, 0, 0, 0, 0]);
  const r = run(regmean, [[1, 2, 3], [3, 2, 1]], { shape: [1, 3], grams: [g, g] });
  assert.match(r.note ?? '', /jitter/);
  close(r.data.slice(0, 2), [2, 2], 1e-4);
  const z = new Float64Array(9);
  const f = run(regmean, [[1, 2, 3], [3, 2, 1]], { shape: [1, 3], grams: [z, z] });
  assert.match(f.note ?? '', /fell back to the plain average/);
  close(f.data, [2, 2, 2]);
});

test('top-k threshold by radix select equals sorting; exactly k survivors, ties broken by index', () => {
  const rng = new Rng(4);
  const coarse = [0.25, 0.5, 1, 2];
  for (let trial = 0; trial < 30; trial++) {
    const n = 1 + rng.int(3000);
    // No zeros (so survivors are visible), many equal magnitudes, and tiny values for the low bits.
    const tau = Float32Array.from({ length: n }, () => (rng.next() < 0.5 ? 1 : -1) * (rng.next() < 0.5 ? coarse[rng.int(4)]! : 1e-6 + Math.abs(rng.normal()) * 1e-3));
    const sorted = Array.from(tau, Math.abs).sort((a, b) => b - a);
    const k = 1 + rng.int(n);
    const { threshold, above } = kthLargestMagnitude(n, (i) => tau[i]!, k);
    assert.equal(threshold, sorted[k - 1]);
    assert.equal(above, sorted.filter((v) => v > threshold).length);
    const density = rng.next();
    const kept = sparsifyArray('magnitude', tau, { density });
    const survivors = Array.from(kept.keys()).filter((i) => kept[i] !== 0);
    assert.equal(survivors.length, Math.floor(density * n), `trial ${trial}`);
    survivors.forEach((i) => assert.equal(kept[i], tau[i]));
    const minKept = Math.min(...survivors.map((i) => Math.abs(tau[i]!)));
    const dropped = Array.from(kept.keys()).filter((i) => kept[i] === 0);
    for (const i of dropped) {
      assert.ok(Math.abs(tau[i]!) <= minKept, 'no dropped entry is larger than a kept one');
      // At the threshold, lower indices are kept first.
      if (Math.abs(tau[i]!) === minKept) assert.ok(survivors.filter((j) => Math.abs(tau[j]!) === minKept).every((j) => j < i));
    }
  }
});
