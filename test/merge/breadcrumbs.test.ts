import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sparsifyArray } from '../../src/merge/task-vectors.js';
import { A, B, BASE, assertClose, runRecipe, tensors, zip } from './mergekit-helpers.js';
import { gta, magnitudeOutliers, sub } from './mergekit-reference.js';

const a = tensors(A);
const b = tensors(B);
const base = tensors(BASE);

for (const [method, consensus] of [['breadcrumbs', false], ['breadcrumbs_ties', true]] as const) {
  test(`${method}: drop the gamma largest and the smallest entries, keep floor(density · n), then ${consensus ? 'TIES election' : 'task arithmetic'} (normalize false)`, async () => {
    const { got } = await runRecipe({
      merge_method: method,
      base_model: BASE,
      models: [
        { model: A, parameters: { weight: 0.6, density: 0.5, gamma: 0.1 } },
        { model: B, parameters: { weight: 0.7, density: 0.3 } },
      ],
    });
    for (const [name, x] of a) {
      const y = b.get(name)!;
      const o = base.get(name);
      const want = o
        ? gta(o, [{ tau: magnitudeOutliers(sub(x, o), 0.5, 0.1), weight: 0.6 }, { tau: magnitudeOutliers(sub(y, o), 0.3, 0.01), weight: 0.7 }], { consensus, normalize: false })
        : zip([x, y], (p, q) => (0.6 * p + 0.7 * q) / 1.3);
      assertClose(name, got.get(name), want);
    }
  });
}

test('breadcrumbs on a hand-worked vector; with fewer than one outlier it keeps the largest (mergekit keeps nothing there)', () => {
  const tau = Float32Array.from([5, -1, 0.5, 3, -2]);
  // n = 5, keep 2, drop 1 outlier: 5 goes, then 3 and −2 are the two largest left.
  assert.deepEqual(Array.from(sparsifyArray('magnitude_outliers', tau, { density: 0.4, gamma: 0.2 })), [0, 0, 0, 3, -2]);
  // γ·n < 1: no outlier. mergekit's indices[n_bot:-0] is empty there and zeroes the whole vector.
  assert.deepEqual(Array.from(sparsifyArray('magnitude_outliers', tau, { density: 0.4, gamma: 0.01 })), [5, 0, 0, 3, 0]);
  // Outliers give way when keeping density·n leaves no room: density 0.8 keeps 4 of 5, so 1 outlier goes, not 2.
  assert.deepEqual(Array.from(sparsifyArray('magnitude_outliers', tau, { density: 0.8, gamma: 0.4 })), [0, -1, 0.5, 3, -2]);
  assert.deepEqual(Array.from(sparsifyArray('magnitude_outliers', tau, { density: 1, gamma: 0.4 })), [5, -1, 0.5, 3, -2], 'density 1 keeps all');
});
