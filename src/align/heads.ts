import { assignmentScore, maximiseAssignment } from './assignment.js';
import { headPermutation, identity } from './permutation.js';

/**
 * Attention heads are matched as blocks. For every pair (head a of the reference, head b of the
 * other model) the best unit matching inside the pair is solved twice — once for the query/key
 * units, once for the value/output units — and the pair scores the sum; a second assignment over
 * the heads then picks the pairing. The head order is shared by Q, K, V and the output projection,
 * which is what keeps the attention function unchanged.
 *
 * `sQK` and `sVO` are [H, H] similarities (row: reference unit, column: other unit). With
 * `qkWithinHead` 'fixed' (rotary positions) the query/key units keep their place inside a head: a
 * pair of heads then scores the diagonal of its query/key block, and only whole heads move.
 */
export function solveHeads(sQK: Float64Array, sVO: Float64Array, hidden: number, numHeads: number, qkWithinHead: 'free' | 'fixed' = 'free'): { qk: Int32Array; vo: Int32Array } {
  const d = hidden / numHeads;
  const pairScore = new Float64Array(numHeads * numHeads);
  const inner = (s: Float64Array, a: number, b: number, fixed = false): { perm: Int32Array; score: number } => {
    const block = new Float64Array(d * d);
    for (let u = 0; u < d; u++) for (let w = 0; w < d; w++) block[u * d + w] = s[(a * d + u) * hidden + b * d + w]!;
    const perm = fixed ? identity(d) : maximiseAssignment(block, d);
    return { perm, score: assignmentScore(block, d, perm) };
  };
  const withinQK: Int32Array[][] = [];
  const withinVO: Int32Array[][] = [];
  for (let a = 0; a < numHeads; a++) {
    withinQK.push([]);
    withinVO.push([]);
    for (let b = 0; b < numHeads; b++) {
      const qk = inner(sQK, a, b, qkWithinHead === 'fixed');
      const vo = inner(sVO, a, b);
      withinQK[a]!.push(qk.perm);
      withinVO[a]!.push(vo.perm);
      pairScore[a * numHeads + b] = qk.score + vo.score;
    }
  }
  const heads = maximiseAssignment(pairScore, numHeads);
  return {
    qk: headPermutation(heads, Array.from(heads, (b, a) => withinQK[a]![b]!), d),
    vo: headPermutation(heads, Array.from(heads, (b, a) => withinVO[a]![b]!), d),
  };
}
