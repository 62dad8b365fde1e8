import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { clipScale, initAdamWState, NORM_CHUNK } from '../../src/train/adamw.js';
import { OptimizerPool, type StepPlan } from '../../src/train/optimizer-pool.js';
import { Rng } from '../../src/util/rng.js';
import { ROOT } from '../helpers/fixtures.js';

// Sizes that cross norm-chunk boundaries (and one single entry), so every thread count splits differently.
const SIZES = [3 * NORM_CHUNK + 5, 7, NORM_CHUNK, 1, 2 * NORM_CHUNK - 3, 300];
const DECAY = SIZES.map((n) => n > 300);
const LR = 2e-3;
const WD = 0.05;

function randomArrays(seed: number, scale: number): Float32Array[] {
  const rng = new Rng(seed);
  return SIZES.map((n) => Float32Array.from({ length: n }, () => (rng.next() - 0.5) * scale));
}
/** Gradients of step t: large enough that the norm is clipped on some steps, not on others. */
const gradsAt = (t: number): Float32Array[] => randomArrays(100 + t, t === 1 ? 1e-3 : 0.05);
const plan = (norm: number): StepPlan => ({ lr: LR, opts: { weightDecay: WD, gradScale: clipScale(norm, 1) } });
const bytes = (ws: readonly Float32Array[]): Buffer => Buffer.concat(ws.map((w) => Buffer.from(w.buffer, w.byteOffset, w.byteLength)));

async function run(threads: number, steps: number): Promise<{ weights: Float32Array[]; m: Float32Array[]; v: Float32Array[]; norms: number[] }> {
  const weights = randomArrays(1, 2);
  const pool = OptimizerPool.create(initAdamWState(SIZES), DECAY, threads);
  const norms: number[] = [];
  try {
    for (let t = 0; t < steps; t++) {
      const grads = gradsAt(t);
      const before = bytes(grads);
      const r = await pool.step(weights, grads, plan);
      assert.ok(r.applied);
      norms.push(r.gradNorm);
      // Gradients are read, not rewritten, and every array is usable again after the step.
      assert.ok(bytes(grads).equals(before));
    }
    assert.equal(pool.state.step, steps);
    return { weights, m: pool.state.m.map((x) => x.slice()), v: pool.state.v.map((x) => x.slice()), norms };
  } finally {
    await pool.close();
  }
}

test('optimizer pool: 1, 2 and 3 threads give the same bytes, equal to AdamW computed element by element', async () => {
  const one = await run(1, 3);
  for (const threads of [2, 3]) {
    const r = await run(threads, 3);
    assert.deepEqual(r.norms, one.norms, `${threads} threads: norms`);
    assert.ok(bytes(r.weights).equals(bytes(one.weights)), `${threads} threads: weights`);
    assert.ok(bytes(r.m).equals(bytes(one.m)) && bytes(r.v).equals(bytes(one.v)), `${threads} threads: moments`);
  }
  // Independent reference: PyTorch's clip_grad_norm_ then AdamW, per element, float32 storage.
  const w = randomArrays(1, 2).map((x) => Array.from(x));
  const m = SIZES.map((n) => new Array<number>(n).fill(0));
  const v = SIZES.map((n) => new Array<number>(n).fill(0));
  for (let t = 0; t < 3; t++) {
    const g = gradsAt(t);
    const norm = Math.sqrt(g.reduce((s, x) => s + x.reduce((a, y) => a + y * y, 0), 0));
    assert.ok(Math.abs(norm - one.norms[t]!) <= 1e-12 * norm, `norm ${norm} vs ${one.norms[t]}`);
    const c = norm > 1 ? 1 / (norm + 1e-6) : 1;
    if (t === 1) assert.equal(c, 1, 'step 2 is not clipped');
    else assert.ok(c < 1, 'steps 1 and 3 are clipped');
    SIZES.forEach((n, k) => {
      for (let i = 0; i < n; i++) {
        const gi = g[k]![i]! * c;
        let x = w[k]![i]!;
        if (DECAY[k]) x -= LR * WD * x;
        m[k]![i] = Math.fround(0.9 * m[k]![i]! + 0.1 * gi);
        v[k]![i] = Math.fround(0.999 * v[k]![i]! + 0.001 * gi * gi);
        const mh = m[k]![i]! / (1 - 0.9 ** (t + 1));
        const vh = v[k]![i]! / (1 - 0.999 ** (t + 1));
        w[k]![i] = Math.fround(x - (LR * mh) / (Math.sqrt(vh) + 1e-8));
      }
    });
  }
  let worst = 0;
  SIZES.forEach((n, k) => {
    for (let i = 0; i < n; i++) worst = Math.max(worst, Math.abs(one.weights[k]![i]! - w[k]![i]!));
  });
  // Each step moves an entry by about lr; the float64-vs-rounding differences are far below that.
  assert.ok(worst < 1e-6, `largest difference from the reference: ${worst}`);
});

test('optimizer pool: a skipped step (plan returns null) changes nothing and gives every buffer back', async () => {
  const weights = randomArrays(1, 2);
  const before = bytes(weights);
  const pool = OptimizerPool.create(initAdamWState(SIZES), DECAY, 2);
  try {
    const grads = gradsAt(0);
    let seen = NaN;
    const r = await pool.step(weights, grads, (norm) => ((seen = norm), null));
    assert.equal(r.applied, false);
    assert.equal(r.gradNorm, seen);
    assert.equal(pool.state.step, 0);
    assert.ok(bytes(weights).equals(before));
    assert.ok(pool.state.v.every((x) => x.every((y) => y === 0)));
    assert.deepEqual(grads.map((g) => g.length), SIZES);
  } finally {
    await pool.close();
  }
});

test('optimizer pool: a failure in a worker is an error, not a hang, and the pool refuses further steps', async () => {
  const pool = OptimizerPool.create(initAdamWState(SIZES), DECAY, 2);
  try {
    // The second largest tensor goes to the worker (the largest stays on the calling thread): its
    // gradient one entry short makes the worker's update throw.
    const short = gradsAt(0);
    short[4] = short[4]!.slice(1);
    await assert.rejects(pool.step(randomArrays(1, 2), short, plan), /the optimizer worker failed: AdamW: a tensor of 131069 weights got 131068 gradients/);
    await assert.rejects(pool.step(randomArrays(1, 2), gradsAt(0), plan), /AdamW: a tensor/);
  } finally {
    await pool.close();
  }
  await assert.rejects(pool.step(randomArrays(1, 2), gradsAt(0), plan), /closed|AdamW/);
});

test('optimizer pool: a pool that is never closed does not keep the process alive', () => {
  const script = [
    `import { OptimizerPool } from ${JSON.stringify(path.join(ROOT, 'src/train/optimizer-pool.ts'))};`,
    `import { initAdamWState } from ${JSON.stringify(path.join(ROOT, 'src/train/adamw.ts'))};`,
    'const pool = OptimizerPool.create(initAdamWState([5, 4]), [true, false], 2);',
    'const r = await pool.step([new Float32Array(5), new Float32Array(4)], [new Float32Array(5).fill(1), new Float32Array(4).fill(1)], () => ({ lr: 1, opts: {} }));',
    'console.log(pool.threads, r.gradNorm);',
  ].join('\n');
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.signal, null, 'the process had to be killed');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), '2 3');
});
