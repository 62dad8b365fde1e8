import type { Tensor } from '../checkpoint/tensor-store.js';

/**
 * Permutations by group, as gather indices: after permuting, unit k of the group is the original
 * unit `perm[k]`. A missing group means identity.
 */
export type Permutations = ReadonlyMap<string, Int32Array>;

/** out[i, j] = t[p0[i], p1[j]] (1-D: out[i] = t[p0[i]]). */
export function gather(t: Tensor, p0: Int32Array | null, p1: Int32Array | null): Float32Array {
  const data = t.data;
  if (t.shape.length === 1) {
    if (!p0) return data;
    const out = new Float32Array(data.length);
    for (let i = 0; i < out.length; i++) out[i] = data[p0[i]!]!;
    return out;
  }
  if (t.shape.length !== 2) throw new Error(`cannot permute a ${t.shape.length}-d tensor`);
  if (!p0 && !p1) return data;
  const [rows, cols] = t.shape as [number, number];
  const out = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    const src = (p0 ? p0[i]! : i) * cols;
    const dst = i * cols;
    if (p1) for (let j = 0; j < cols; j++) out[dst + j] = data[src + p1[j]!]!;
    else out.set(data.subarray(src, src + cols), dst);
  }
  return out;
}

/** G'[i, j] = G[p[i], p[j]]: a Gram matrix of inputs whose units were permuted by p. */
export function permuteGram(g: Float64Array, n: number, p: Int32Array | null): Float64Array {
  if (!p) return g;
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const src = p[i]! * n;
    for (let j = 0; j < n; j++) out[i * n + j] = g[src + p[j]!]!;
  }
  return out;
}

/**
 * A head-structured permutation of `numHeads · headDim` units: position h·d + u takes the original
 * unit heads[h]·d + within[h][u].
 */
export function headPermutation(heads: ArrayLike<number>, within: readonly ArrayLike<number>[], headDim: number): Int32Array {
  const out = new Int32Array(heads.length * headDim);
  for (let h = 0; h < heads.length; h++) {
    for (let u = 0; u < headDim; u++) out[h * headDim + u] = heads[h]! * headDim + within[h]![u]!;
  }
  return out;
}

export function identity(n: number): Int32Array {
  return Int32Array.from({ length: n }, (_, i) => i);
}

export function isIdentity(p: ArrayLike<number>): boolean {
  for (let i = 0; i < p.length; i++) if (p[i] !== i) return false;
  return true;
}
