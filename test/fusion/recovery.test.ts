// Fitting recovers known parameters on synthetic data drawn from the model being fit.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { accuracy } from '../../src/eval/metrics.js';
import { getFusionMethod } from '../../src/fusion/registry.js';
import { fitTemperature } from '../../src/fusion/temperature.js';
import type { MemberOutputs, MemberRows } from '../../src/fusion/types.js';
import { Rng } from '../../src/util/rng.js';

function softmax(z: readonly number[]): number[] {
  const m = Math.max(...z);
  const e = z.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}
function sample(p: readonly number[], rng: Rng): number {
  let u = rng.next();
  for (let j = 0; j < p.length; j++) {
    u -= p[j]!;
    if (u < 0) return j;
  }
  return p.length - 1;
}
function randomLogits(n: number, k: number, scale: number, rng: Rng): number[][] {
  return Array.from({ length: n }, () => Array.from({ length: k }, () => scale * rng.normal()));
}
function member(name: string, logits: number[][], extra: Partial<MemberRows> = {}): MemberRows {
  return { name, logits: Float64Array.from(logits.flat()), pooled: null, cls: null, hiddenSize: 0, cost: 1, ...extra };
}

test('temperature scaling recovers the temperature the labels were drawn with', () => {
  const rng = new Rng(1);
  const n = 20000;
  const k = 3;
  const zA = randomLogits(n, k, 3, rng);
  const zB = randomLogits(n, k, 3, rng);
  // Member A is overconfident (truth is softmax(z / 2.5)), member B underconfident (softmax(z / 0.5)).
  const labelsA = Int32Array.from(zA, (z) => sample(softmax(z.map((v) => v / 2.5)), rng));
  const labelsB = Int32Array.from(zB, (z) => sample(softmax(z.map((v) => v / 0.5)), rng));
  const tA = fitTemperature(Float64Array.from(zA.flat()), labelsA, k);
  const tB = fitTemperature(Float64Array.from(zB.flat()), labelsB, k);
  assert.ok(Math.abs(tA - 2.5) < 0.1, `T_A = ${tA}`);
  assert.ok(Math.abs(tB - 0.5) < 0.03, `T_B = ${tB}`);
});

test('mean with calibrate fits each member its own temperature', () => {
  const rng = new Rng(2);
  const n = 20000;
  const z = randomLogits(n, 2, 3, rng);
  const labels = Int32Array.from(z, (r) => sample(softmax(r.map((v) => v / 2)), rng));
  // The same logits twice, the second copy scaled by 3: its temperature must come out 3× larger.
  const outputs: MemberOutputs = { n, k: 2, members: [member('a', z), member('b', z.map((r) => r.map((v) => 3 * v)))] };
  const p = getFusionMethod('mean').fit(outputs, { labels, seed: 0, folds: 5 }, { calibrate: true }) as { temperatures: number[] };
  assert.ok(Math.abs(p.temperatures[0]! - 2) < 0.1, `T = ${p.temperatures}`);
  assert.ok(Math.abs(p.temperatures[1]! / p.temperatures[0]! - 3) < 1e-4, `T = ${p.temperatures}`);
});

test('weighted recovers known mixture weights, and gives a useless member ~no weight', () => {
  const rng = new Rng(3);
  const n = 20000;
  const k = 3;
  const zA = randomLogits(n, k, 2, rng);
  const zB = randomLogits(n, k, 2, rng);
  // Labels from the mixture 0.7·p_A + 0.3·p_B.
  const labels = Int32Array.from(zA, (za, i) => {
    const pa = softmax(za);
    const pb = softmax(zB[i]!);
    return sample(pa.map((v, j) => 0.7 * v + 0.3 * pb[j]!), rng);
  });
  const weighted = getFusionMethod('weighted');
  const outputs: MemberOutputs = { n, k, members: [member('a', zA), member('b', zB)] };
  const w = (weighted.fit(outputs, { labels, seed: 0, folds: 5 }, {}) as { weights: number[] }).weights;
  assert.ok(Math.abs(w[0]! - 0.7) < 0.03 && Math.abs(w[0]! + w[1]! - 1) < 1e-12, `weights ${w}`);
  // Labels from A alone: B carries no information and should get (almost) none of the weight.
  const fromA = Int32Array.from(zA, (za) => sample(softmax(za), rng));
  const w2 = (weighted.fit(outputs, { labels: fromA, seed: 0, folds: 5 }, {}) as { weights: number[] }).weights;
  assert.ok(w2[0]! > 0.95, `weights ${w2}`);
});

test('stack recovers the coefficients of a known logistic model on member log-probabilities', () => {
  const rng = new Rng(4);
  const n = 30000;
  const zA = randomLogits(n, 2, 2, rng);
  const zB = randomLogits(n, 2, 2, rng);
  const logSoftmax = (z: number[]): number[] => softmax(z).map(Math.log);
  // Two labels: the centred truth has row 1 = −row 0 (what L2 picks among equivalent solutions).
  const w = [0.8, -0.4, 0.3, 0.6];
  const b = 0.25;
  const labels = Int32Array.from(zA, (za, i) => {
    const x = [...logSoftmax(za), ...logSoftmax(zB[i]!)];
    const s = x.reduce((acc, v, t) => acc + v * w[t]!, b);
    return sample(softmax([s, -s]), rng);
  });
  const outputs: MemberOutputs = { n, k: 2, members: [member('a', zA), member('b', zB)] };
  const p = getFusionMethod('stack').fit(outputs, { labels, seed: 0, folds: 5 }, { l2_min: 1e-7, l2_steps: 1 }) as { weights: number[][]; bias: number[] };
  p.weights[0]!.forEach((v, t) => assert.ok(Math.abs(v - w[t]!) < 0.1, `w[${t}] = ${v}, truth ${w[t]}`));
  p.weights[1]!.forEach((v, t) => assert.ok(Math.abs(v + w[t]!) < 0.1, `row 1 is −row 0: ${v}`));
  assert.ok(Math.abs(p.bias[0]! - b) < 0.1, `b = ${p.bias[0]}`);
});

test('concat reaches high accuracy on linearly separable embeddings (train and held-out)', () => {
  const rng = new Rng(5);
  const H = 8;
  const v = Array.from({ length: 2 * H }, () => rng.normal());
  const make = (n: number): { outputs: MemberOutputs; labels: Int32Array } => {
    const e = [new Float32Array(n * H), new Float32Array(n * H)];
    const labels = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let m = 0; m < 2; m++) {
        for (let t = 0; t < H; t++) {
          // Different scales and offsets per feature: standardisation has work to do.
          const x = Math.fround(5 * (t + 1) * rng.normal() + 10 * m);
          e[m]![i * H + t] = x;
          s += v[m * H + t]! * ((x - 10 * m) / (5 * (t + 1)));
        }
      }
      labels[i] = s > 0 ? 1 : 0;
    }
    const rows = (m: number): MemberRows => ({ name: `m${m}`, logits: new Float64Array(n * 2), pooled: e[m]!, cls: null, hiddenSize: H, cost: 1 });
    return { outputs: { n, k: 2, members: [rows(0), rows(1)] }, labels };
  };
  const train = make(600);
  const held = make(600);
  const concat = getFusionMethod('concat');
  const params = concat.fit(train.outputs, { labels: train.labels, seed: 0, folds: 5 }, { l2_min: 1e-4, l2_max: 1, l2_steps: 3 });
  const trainAcc = accuracy(concat.apply(train.outputs, params), train.labels, 2);
  const heldAcc = accuracy(concat.apply(held.outputs, params), held.labels, 2);
  assert.ok(trainAcc > 0.97, `train accuracy ${trainAcc}`);
  assert.ok(heldAcc > 0.93, `held-out accuracy ${heldAcc}`);
});

test('cascade threshold: a member right whenever confident is trusted above its confidence gap', () => {
  const rng = new Rng(6);
  const n = 2000;
  // First member: confident (0.95) and right on half the rows, unsure (0.55) and right 55% of the
  // time on the rest. Second member: 80% right everywhere at 0.8.
  const labels = Int32Array.from({ length: n }, () => rng.int(2));
  const a: number[][] = [];
  const bRows: number[][] = [];
  for (let i = 0; i < n; i++) {
    const y = labels[i]!;
    const confident = i % 2 === 0;
    const pa = confident ? 0.95 : 0.55;
    const rightA = confident || rng.next() < 0.55;
    const ya = rightA ? y : 1 - y;
    a.push(ya === 0 ? [Math.log(pa), Math.log(1 - pa)] : [Math.log(1 - pa), Math.log(pa)]);
    const yb = rng.next() < 0.8 ? y : 1 - y;
    bRows.push(yb === 0 ? [Math.log(0.8), Math.log(0.2)] : [Math.log(0.2), Math.log(0.8)]);
  }
  const outputs: MemberOutputs = { n, k: 2, members: [member('a', a), member('b', bRows)] };
  const cascade = getFusionMethod('cascade');
  for (const objective of ['log_loss', 'accuracy']) {
    const params = cascade.fit(outputs, { labels, seed: 0, folds: 5 }, { objective, fallback: 'second' }) as { threshold: number };
    assert.ok(params.threshold > 0.55 && params.threshold < 0.95, `${objective}: threshold ${params.threshold}`);
    assert.equal(cascade.stats!(outputs, params)['fallback_fraction'], 0.5);
  }
  // A budget of 20% fallbacks cannot afford the cut at 50%: it keeps the first member everywhere.
  const capped = cascade.fit(outputs, { labels, seed: 0, folds: 5 }, { fallback: 'second', max_fallback: 0.2 }) as { threshold: number };
  assert.equal(cascade.stats!(outputs, capped)['fallback_fraction'], 0);
});

test('determinism: concat and stack give identical params for the same seed, and CV folds follow the seed', () => {
  const rng = new Rng(7);
  const n = 200;
  const H = 4;
  const labels = Int32Array.from({ length: n }, () => rng.int(2));
  const emb = (): Float32Array => Float32Array.from({ length: n * H }, (_, i) => rng.normal() + (labels[Math.floor(i / H)]! ? 0.5 : 0));
  const outputs: MemberOutputs = {
    n,
    k: 2,
    members: [0, 1].map((m) => member(`m${m}`, randomLogits(n, 2, 1, rng).map((r, i) => [r[0]!, r[1]! + labels[i]!]), { pooled: emb(), hiddenSize: H })),
  };
  for (const name of ['stack', 'concat']) {
    const method = getFusionMethod(name);
    const a = method.fit(outputs, { labels, seed: 11, folds: 4 }, {});
    assert.deepEqual(method.fit(outputs, { labels, seed: 11, folds: 4 }, {}), a);
    const other = method.fit(outputs, { labels, seed: 12, folds: 4 }, {}) as { cv: unknown };
    assert.notDeepEqual(other.cv, (a as { cv: unknown }).cv, `${name}: another seed gives other folds`);
  }
});
