import assert from 'node:assert/strict';
import { test } from 'node:test';
import { foldSplit, kFolds } from '../../src/data/folds.js';

test('kFolds is stratified: each fold holds each class in proportion, sizes differ by at most one', () => {
  // 70 of class 0, 30 of class 1, interleaved irregularly.
  const labels = Int32Array.from({ length: 100 }, (_, i) => (i % 10 < 3 ? 1 : 0));
  const folds = kFolds(labels, 5, 7);
  for (let f = 0; f < 5; f++) {
    const { train, test: held } = foldSplit(folds, f);
    assert.equal(held.length, 20);
    assert.equal(train.length + held.length, 100);
    assert.equal([...held].filter((i) => labels[i] === 1).length, 6);
  }
});

test('kFolds: same seed same folds, other seed other folds', () => {
  const labels = Int32Array.from({ length: 50 }, (_, i) => i % 3);
  assert.deepEqual(kFolds(labels, 4, 1), kFolds(labels, 4, 1));
  assert.notDeepEqual(kFolds(labels, 4, 1), kFolds(labels, 4, 2));
});

test('kFolds on a row count balances fold sizes; rejects k < 2', () => {
  const folds = kFolds(23, 5, 0);
  const sizes = [0, 0, 0, 0, 0];
  for (const f of folds) sizes[f]!++;
  assert.deepEqual(sizes.sort(), [4, 4, 5, 5, 5]);
  assert.throws(() => kFolds(10, 1, 0), /k must be/);
});
