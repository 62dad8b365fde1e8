/**
 * The small dense linear algebra RegMean needs: a Cholesky factorisation of a symmetric
 * positive-definite matrix and solves against it. Row-major float64.
 */

/** Lower-triangular L with A = L·Lᵀ, or null if A is not (numerically) positive definite. */
export function cholesky(a: Float64Array, n: number): Float64Array | null {
  const l = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    let d = a[j * n + j]!;
    const lj = j * n;
    for (let k = 0; k < j; k++) d -= l[lj + k]! * l[lj + k]!;
    if (!(d > 0) || !Number.isFinite(d)) return null;
    const djj = Math.sqrt(d);
    l[lj + j] = djj;
    for (let i = j + 1; i < n; i++) {
      const li = i * n;
      let s = a[li + j]!;
      for (let k = 0; k < j; k++) s -= l[li + k]! * l[lj + k]!;
      l[li + j] = s / djj;
    }
  }
  return l;
}

/**
 * Solve X·A = B for X ([rows, n]) given A's Cholesky factor L (A symmetric, so this is
 * A·Xᵀ = Bᵀ): per row b, forward-substitute L·y = b, then back-substitute Lᵀ·x = y.
 */
export function solveRightCholesky(l: Float64Array, n: number, b: Float64Array, rows: number): Float64Array {
  const x = new Float64Array(rows * n);
  const y = new Float64Array(n);
  for (let r = 0; r < rows; r++) {
    const br = r * n;
    for (let i = 0; i < n; i++) {
      let s = b[br + i]!;
      const li = i * n;
      for (let k = 0; k < i; k++) s -= l[li + k]! * y[k]!;
      y[i] = s / l[li + i]!;
    }
    for (let i = n - 1; i >= 0; i--) {
      let s = y[i]!;
      for (let k = i + 1; k < n; k++) s -= l[k * n + i]! * x[br + k]!;
      x[br + i] = s / l[i * n + i]!;
    }
  }
  return x;
}

/** Mean of the diagonal: the scale jitter is measured against. */
export function meanDiagonal(a: Float64Array, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += a[i * n + i]!;
  return n > 0 ? s / n : 0;
}
