import assert from 'node:assert/strict';
import { test } from 'node:test';
import { adamwStep, clipGlobalNorm, clipScale, globalNorm, initAdamWState, learningRate } from '../../src/train/adamw.js';

test('AdamW: two steps equal the closed form (bias correction, decoupled decay only where asked)', () => {
  const w = [Float32Array.from([1, -2]), Float32Array.from([0.5])];
  const g1 = [Float32Array.from([0.1, 0.2]), Float32Array.from([-0.3])];
  const g2 = [Float32Array.from([-0.2, 0.4]), Float32Array.from([0.1])];
  const state = initAdamWState([2, 1]);
  const lr = 0.01;
  const wd = 0.1;
  adamwStep(w, g1, [true, false], state, lr, { weightDecay: wd });
  adamwStep(w, g2, [true, false], state, lr, { weightDecay: wd });
  // Independent computation, element by element (PyTorch's AdamW algorithm).
  const ref = (w0: number, gs: number[], decay: boolean): number => {
    let x = w0;
    let m = 0;
    let v = 0;
    gs.forEach((g, t) => {
      if (decay) x -= lr * wd * x;
      m = 0.9 * m + 0.1 * g;
      v = 0.999 * v + 0.001 * g * g;
      const mh = m / (1 - 0.9 ** (t + 1));
      const vh = v / (1 - 0.999 ** (t + 1));
      x -= (lr * mh) / (Math.sqrt(vh) + 1e-8);
    });
    return x;
  };
  assert.ok(Math.abs(w[0]![0]! - ref(1, [0.1, -0.2], true)) < 1e-6);
  assert.ok(Math.abs(w[0]![1]! - ref(-2, [0.2, 0.4], true)) < 1e-6);
  assert.ok(Math.abs(w[1]![0]! - ref(0.5, [-0.3, 0.1], false)) < 1e-6);
  assert.equal(state.step, 2);
});

test('gradient clipping scales to the global norm and leaves small gradients alone', () => {
  const g = [Float32Array.from([3, 0]), Float32Array.from([4])];
  assert.equal(clipGlobalNorm(g, 1), 5);
  const n = Math.hypot(g[0]![0]!, g[0]![1]!, g[1]![0]!);
  assert.ok(Math.abs(n - 1) < 1e-5);
  assert.ok(Math.abs(g[0]![0]! / g[1]![0]! - 0.75) < 1e-6);
  const small = [Float32Array.from([0.1])];
  clipGlobalNorm(small, 1);
  assert.equal(small[0]![0], Math.fround(0.1));
});

test('clipping folded into AdamW (gradScale) moves the weights as clipping first, then stepping', () => {
  const grads = (): Float32Array[] => [Float32Array.from([3, -0.5, 2e-9]), Float32Array.from([4, 1e-3])];
  const start = (): Float32Array[] => [Float32Array.from([0.2, -1, 0.7]), Float32Array.from([1.5, -0.25])];
  const [wa, wb] = [start(), start()];
  const [sa, sb] = [initAdamWState([3, 2]), initAdamWState([3, 2])];
  for (let t = 0; t < 3; t++) {
    const ga = grads().map((g) => g.map((x) => x * (t + 1)));
    const gb = grads().map((g) => g.map((x) => x * (t + 1)));
    clipGlobalNorm(ga, 1);
    adamwStep(wa, ga, [true, false], sa, 0.01);
    const norm = globalNorm(gb);
    assert.ok(Math.abs(norm - Math.hypot(...gb.flatMap((g) => [...g]))) < 1e-5);
    adamwStep(wb, gb, [true, false], sb, 0.01, { gradScale: clipScale(norm, 1) });
    // gb is read, not rewritten.
    assert.equal(gb[0]![0], 3 * (t + 1));
  }
  wa.forEach((w, k) => w.forEach((x, i) => assert.ok(Math.abs(x - wb[k]![i]!) < 1e-6, `tensor ${k}[${i}]: ${x} vs ${wb[k]![i]}`)));
  assert.equal(clipScale(0.5, 1), 1);
  assert.equal(clipScale(Number.NaN, 1), 1);
});

test('learning rate: linear warm-up then linear decay to zero', () => {
  assert.equal(learningRate(0, 1, 4, 10), 0.25);
  assert.equal(learningRate(3, 1, 4, 10), 1);
  assert.equal(learningRate(4, 1, 4, 10), 1);
  assert.equal(learningRate(7, 1, 4, 10), 0.5);
  assert.equal(learningRate(10, 1, 4, 10), 0);
});
