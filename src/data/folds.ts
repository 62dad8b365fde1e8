import { Rng, seedFor } from '../util/rng.js';

/**
 * Fold index (0..k−1) for each row. Given labels, the assignment is stratified: each class is
 * shuffled on its own and dealt round-robin, continuing from where the previous class stopped, so
 * every fold gets each class in proportion and fold sizes differ by at most one. Given a row
 * count, rows are shuffled and dealt the same way. Same inputs and seed, same folds.
 */
export function kFolds(labelsOrCount: ArrayLike<number> | number, k: number, seed: number): Int32Array {
  if (!Number.isInteger(k) || k < 2) throw new Error(`kFolds: k must be an integer ≥ 2, got ${k}`);
  const labels = typeof labelsOrCount === 'number' ? new Int32Array(labelsOrCount) : labelsOrCount;
  const n = labels.length;
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const c = labels[i]!;
    const rows = byClass.get(c);
    if (rows) rows.push(i);
    else byClass.set(c, [i]);
  }
  const folds = new Int32Array(n);
  let next = 0;
  for (const c of [...byClass.keys()].sort((a, b) => a - b)) {
    const rows = new Rng(seedFor(seed, `class:${c}`)).shuffle(byClass.get(c)!);
    for (const r of rows) {
      folds[r] = next;
      next = (next + 1) % k;
    }
  }
  return folds;
}

/** Row indices outside (`train`) and inside (`test`) fold f. */
export function foldSplit(folds: Int32Array, f: number): { train: Int32Array; test: Int32Array } {
  const train: number[] = [];
  const test: number[] = [];
  for (let i = 0; i < folds.length; i++) (folds[i] === f ? test : train).push(i);
  return { train: Int32Array.from(train), test: Int32Array.from(test) };
}
