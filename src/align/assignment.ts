/**
 * The linear assignment problem: given an n×n cost matrix, find the permutation `col[row]` that
 * minimises Σ cost[row][col[row]]. Solved with the shortest-augmenting-path method (Jonker &
 * Volgenant's formulation of the Hungarian algorithm with row/column potentials), O(n³).
 *
 * One row is added at a time. Dual potentials u (rows) and v (columns) keep every reduced cost
 * cost[i][j] − u[i] − v[j] ≥ 0; a Dijkstra-like search over columns finds the cheapest
 * augmenting path for the new row, the potentials are updated so reduced costs stay non-negative,
 * and the matching is flipped along the path. After n rows the matching is optimal (the duals
 * certify it).
 */
export function solveAssignment(cost: Float64Array | readonly number[], n: number): Int32Array {
  if (cost.length !== n * n) throw new Error(`assignment: ${cost.length} costs for a ${n}×${n} matrix`);
  for (let i = 0; i < cost.length; i++) {
    if (!Number.isFinite(cost[i]!)) throw new Error(`assignment: cost[${Math.floor(i / n)}][${i % n}] is not finite`);
  }
  // 1-based arrays with a virtual column 0, as in the classic formulation.
  const u = new Float64Array(n + 1);
  const v = new Float64Array(n + 1);
  const rowOf = new Int32Array(n + 1); // rowOf[j]: row matched to column j (0 = none)
  const way = new Int32Array(n + 1); // predecessor column on the shortest path
  const minv = new Float64Array(n + 1);
  const used = new Uint8Array(n + 1);
  for (let i = 1; i <= n; i++) {
    rowOf[0] = i;
    let j0 = 0;
    minv.fill(Infinity);
    used.fill(0);
    do {
      used[j0] = 1;
      const i0 = rowOf[j0]!;
      let delta = Infinity;
      let j1 = 0;
      const base = (i0 - 1) * n;
      for (let j = 1; j <= n; j++) {
        if (used[j]) continue;
        const cur = cost[base + j - 1]! - u[i0]! - v[j]!;
        if (cur < minv[j]!) {
          minv[j] = cur;
          way[j] = j0;
        }
        if (minv[j]! < delta) {
          delta = minv[j]!;
          j1 = j;
        }
      }
      for (let j = 0; j <= n; j++) {
        if (used[j]) {
          u[rowOf[j]!] += delta;
          v[j] -= delta;
        } else {
          minv[j] -= delta;
        }
      }
      j0 = j1;
    } while (rowOf[j0] !== 0);
    // Flip the matching along the augmenting path back to the virtual column.
    do {
      const j1 = way[j0]!;
      rowOf[j0] = rowOf[j1]!;
      j0 = j1;
    } while (j0 !== 0);
  }
  const colOf = new Int32Array(n);
  for (let j = 1; j <= n; j++) colOf[rowOf[j]! - 1] = j - 1;
  return colOf;
}

/** The permutation maximising Σ score[row][col[row]] (similarity instead of cost). */
export function maximiseAssignment(score: Float64Array, n: number): Int32Array {
  const cost = new Float64Array(score.length);
  for (let i = 0; i < score.length; i++) cost[i] = -score[i]!;
  return solveAssignment(cost, n);
}

/** Σ score[i][col[i]]: the objective of an assignment. */
export function assignmentScore(score: Float64Array | readonly number[], n: number, col: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += score[i * n + col[i]!]!;
  return s;
}
