import assert from 'node:assert/strict';
import { test } from 'node:test';
import { greedySoup } from '../../scripts/distill-soup.js';

// Candidates are numbers and a soup's loss is (mean − 1)²: a stand-in for "average the weights, score
// on the tuning rows" whose answer can be worked out by hand.
const loss = async (soup: readonly number[]): Promise<number> => (soup.reduce((s, x) => s + x, 0) / soup.length - 1) ** 2;

test('greedy soup: a candidate is kept only when the average with it scores lower, tried best first', async () => {
  // Alone: 1.5 → 0.25. With 0.4: mean 0.95 → 0.0025, kept. With 2.0: mean 1.3 → 0.09, left out.
  // With 0.9: mean 0.9333 → 0.00444, left out (0.0025 is lower). With 1.2: mean 1.0333 → 0.00111, kept.
  const r = await greedySoup([1.5, 0.4, 2.0, 0.9, 1.2], loss);
  assert.deepEqual(r.soup, [1.5, 0.4, 1.2]);
  assert.deepEqual(r.tried.map((t) => t.kept), [true, true, false, false, true]);
  assert.ok(Math.abs(r.best - (3.1 / 3 - 1) ** 2) < 1e-12);
  assert.ok(Math.abs(r.tried[2]!.loss - 0.09) < 1e-12);
});

test('greedy soup: one candidate is its own soup; none is refused', async () => {
  const r = await greedySoup([3], loss);
  assert.deepEqual(r.soup, [3]);
  assert.equal(r.best, 4);
  await assert.rejects(greedySoup([], loss), /no candidates/);
});
