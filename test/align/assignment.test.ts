import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assignmentScore, maximiseAssignment, solveAssignment } from '../../src/align/assignment.js';
import { Rng } from '../../src/util/rng.js';

/** Every permutation of 0..n-1 (n ≤ 8). */
function permutations(n: number): number[][] {
  if (n === 0) return [[]];
  const out: number[][] = [];
  for (const p of permutations(n - 1)) {
    for (let k = 0; k <= p.length; k++) out.push([...p.slice(0, k), n - 1, ...p.slice(k)]);
  }
  return out;
}

function bruteMin(cost: Float64Array, n: number): number {
  let best = Infinity;
  for (const p of permutations(n)) best = Math.min(best, assignmentScore(cost, n, p));
  return best;
}

function isPermutation(p: ArrayLike<number>, n: number): boolean {
  const seen = new Set<number>();
  for (let i = 0; i < n; i++) {
    if (p[i]! < 0 || p[i]! >= n) return false;
    seen.add(p[i]!);
  }
  return seen.size === n;
}

test('matches brute force on random real matrices up to 7×7', () => {
  const rng = new Rng(7);
  for (let n = 1; n <= 7; n++) {
    for (let trial = 0; trial < 25; trial++) {
      const cost = Float64Array.from({ length: n * n }, () => rng.normal() * 10);
      const col = solveAssignment(cost, n);
      assert.ok(isPermutation(col, n));
      assert.ok(Math.abs(assignmentScore(cost, n, col) - bruteMin(cost, n)) < 1e-9, `n=${n} trial=${trial}`);
    }
  }
});

test('matches brute force on small integer matrices full of ties', () => {
  const rng = new Rng(3);
  for (let trial = 0; trial < 200; trial++) {
    const n = 2 + rng.int(5);
    const cost = Float64Array.from({ length: n * n }, () => rng.int(3) - 1);
    const col = solveAssignment(cost, n);
    assert.ok(isPermutation(col, n));
    assert.equal(assignmentScore(cost, n, col), bruteMin(cost, n));
  }
});

test('a hand-checked 3×3 case', () => {
  // Rows take columns 1, 0, 2: 1 + 2 + 2 = 5 is the unique minimum; greedily taking the smallest entry (row 1, col 1 = 0) first ends at 6.
  const cost = [4, 1, 3, 2, 0, 5, 3, 2, 2];
  assert.deepEqual([...solveAssignment(cost, 3)], [1, 0, 2]);
});

test('maximising recovers a hidden permutation from a noisy similarity matrix', () => {
  const rng = new Rng(11);
  const n = 40;
  const hidden = rng.shuffle(Array.from({ length: n }, (_, i) => i));
  const score = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) score[i * n + j] = rng.normal() * 0.2 + (hidden[i] === j ? 1 : 0);
  assert.deepEqual([...maximiseAssignment(score, n)], hidden);
});

test('rejects malformed input', () => {
  assert.throws(() => solveAssignment([1, 2, 3], 2), /3 costs for a 2×2/);
  assert.throws(() => solveAssignment([1, NaN, 3, 4], 2), /not finite/);
  assert.deepEqual([...solveAssignment([], 0)], []);
});
