import assert from 'node:assert/strict';
import { test } from 'node:test';
import { kFolds } from '../../src/data/folds.js';
import { chooseL2, fitHead, headLogProbs, headObjective, logGrid } from '../../src/fusion/linear-head.js';
import { Rng } from '../../src/util/rng.js';

function randomProblem(n: number, d: number, k: number, seed: number): { x: Float64Array; labels: Int32Array } {
  const rng = new Rng(seed);
  return { x: Float64Array.from({ length: n * d }, () => rng.normal()), labels: Int32Array.from({ length: n }, () => rng.int(k)) };
}

test('the hand-written gradient matches central finite differences', () => {
  const n = 30;
  const d = 5;
  const k = 3;
  const { x, labels } = randomProblem(n, d, k, 1);
  const rng = new Rng(2);
  const theta = Float64Array.from({ length: k * d + k }, () => rng.normal());
  const rows = Int32Array.from([0, 3, 4, 7, 8, 11, 20, 29]);
  for (const [l2, subset] of [
    [0, null],
    [0.3, rows],
  ] as const) {
    const f = headObjective({ x, n, d }, labels, k, l2, subset);
    const grad = new Float64Array(theta.length);
    f(theta, grad);
    const h = 1e-6;
    const scratch = new Float64Array(theta.length);
    for (let p = 0; p < theta.length; p++) {
      const plus = Float64Array.from(theta);
      const minus = Float64Array.from(theta);
      plus[p] += h;
      minus[p] -= h;
      const numeric = (f(plus, scratch) - f(minus, scratch)) / (2 * h);
      assert.ok(Math.abs(numeric - grad[p]!) < 1e-7 * Math.max(1, Math.abs(numeric)), `θ[${p}] (λ=${l2}): analytic ${grad[p]} vs numeric ${numeric}`);
    }
  }
});

test('the objective is the mean cross-entropy plus (λ/2)‖W‖², computed independently', () => {
  const n = 4;
  const d = 2;
  const k = 2;
  const x = Float64Array.from([1, 0, 0, 1, 1, 1, -1, 2]);
  const labels = Int32Array.from([0, 1, 1, 0]);
  const theta = Float64Array.from([0.5, -1, 0.25, 2, 0.1, -0.1]); // W = [[.5,-1],[.25,2]], b = [.1,-.1]
  let ce = 0;
  for (let i = 0; i < n; i++) {
    const s0 = 0.5 * x[2 * i]! - 1 * x[2 * i + 1]! + 0.1;
    const s1 = 0.25 * x[2 * i]! + 2 * x[2 * i + 1]! - 0.1;
    const lse = Math.log(Math.exp(s0) + Math.exp(s1));
    ce += lse - (labels[i] === 0 ? s0 : s1);
  }
  const want = ce / n + 0.5 * 0.2 * (0.25 + 1 + 0.0625 + 4);
  assert.ok(Math.abs(headObjective({ x, n, d }, labels, k, 0.2)(theta, new Float64Array(6)) - want) < 1e-12);
  const lp = headLogProbs(theta, { x, n, d }, k);
  for (let i = 0; i < n; i++) assert.ok(Math.abs(Math.exp(lp[2 * i]!) + Math.exp(lp[2 * i + 1]!) - 1) < 1e-12);
});

test('fitHead reaches a stationary point (gradient ~0) of the regularised objective', () => {
  const n = 200;
  const d = 6;
  const k = 3;
  const { x, labels } = randomProblem(n, d, k, 3);
  const theta = fitHead({ x, n, d }, labels, k, { l2: 0.01 });
  const grad = new Float64Array(theta.length);
  headObjective({ x, n, d }, labels, k, 0.01)(theta, grad);
  assert.ok(Math.max(...grad.map(Math.abs)) < 1e-5);
});

test('cross-validation picks strong L2 for noise labels and weak L2 for a clean signal', () => {
  const n = 400;
  const d = 10;
  const k = 2;
  const grid = logGrid(1e-4, 10, 6);
  assert.equal(grid.length, 6);
  assert.ok(Math.abs(grid[0]! - 1e-4) < 1e-18 && Math.abs(grid[5]! - 10) < 1e-12);
  const { x, labels: noise } = randomProblem(n, d, k, 4);
  const f = { x, n, d };
  const noisy = chooseL2(f, noise, k, grid, kFolds(noise, 5, 0), 5);
  assert.equal(noisy.l2, grid[5]);
  assert.equal(noisy.scores.length, 6);
  // A clean linear signal in feature 0.
  const clean = Int32Array.from({ length: n }, (_, i) => (x[i * d]! > 0 ? 1 : 0));
  const sharp = chooseL2(f, clean, k, grid, kFolds(clean, 5, 0), 5);
  assert.ok(sharp.l2 <= 1e-2, `l2 = ${sharp.l2}`);
});
