import { cholesky, meanDiagonal, solveRightCholesky } from './linalg.js';
import { weightedSum } from './task-vectors.js';
import { numParam, type MergeMethod } from './types.js';

/** Jitter tried, relative to the mean diagonal of Σ G_i, before giving up on the solve. */
const JITTERS = [0, 1e-8, 1e-6, 1e-4, 1e-2];

/**
 * RegMean (Jin et al., 2023): for each linear layer y = W·x, the W minimising
 * Σ_i ‖X_i Wᵀ − X_i W_iᵀ‖² over the members' own inputs X_i, in closed form
 *   W = (Σ_i W_i G̃_i) · (Σ_i G̃_i)⁻¹,   G_i = X_iᵀX_i / N_i,   G̃_i = α·G_i + (1 − α)·diag(G_i),
 * where α < 1 shrinks the off-diagonal terms towards the plain average (α = 0 is a
 * diagonal-weighted mean). Every other tensor (embeddings, biases, LayerNorm) is averaged.
 *
 * The solve uses a Cholesky factor of Σ G̃_i, adding jitter·mean(diag) to the diagonal when the
 * factorisation fails (a unit that never fires gives a zero row); if even the largest jitter fails
 * the layer falls back to the plain average and says so in the tensor's note.
 */
export const regmean: MergeMethod = {
  name: 'regmean',
  summary: 'per linear layer, the least-squares fit to every member on its own inputs (Gram matrices from texts)',
  base: 'none',
  minModels: 2,
  maxModels: Infinity,
  params: [{ name: 'alpha', scope: 'global', type: 'number', default: 0.9, min: 0, max: 1, description: 'scale of the off-diagonal Gram entries (1 = exact RegMean, 0 = diagonal only)' }],
  stats: 'gram',
  merge({ name, shape, tensors, grams, params }) {
    const average = (): Float32Array => weightedSum(tensors, tensors.map(() => 1), true);
    if (!grams) return { data: average() };
    const alpha = numParam(params, 'alpha');
    const [rows, n] = shape as [number, number];
    const a = new Float64Array(n * n);
    const b = new Float64Array(rows * n);
    tensors.forEach((w, m) => {
      const g = grams[m]!;
      const gt = new Float64Array(n * n);
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) gt[i * n + j] = i === j ? g[i * n + j]! : alpha * g[i * n + j]!;
      for (let k = 0; k < n * n; k++) a[k] += gt[k]!;
      // B += W_m · G̃_m  ([rows, n] · [n, n])
      for (let r = 0; r < rows; r++) {
        const wr = r * n;
        for (let k = 0; k < n; k++) {
          const wv = w[wr + k]!;
          if (wv === 0) continue;
          const gk = k * n;
          for (let j = 0; j < n; j++) b[wr + j] += wv * gt[gk + j]!;
        }
      }
    });
    const scale = meanDiagonal(a, n);
    for (const jitter of JITTERS) {
      const aj = jitter === 0 ? a : a.map((v, k) => (k % (n + 1) === 0 ? v + jitter * scale : v));
      const l = cholesky(aj, n);
      if (!l) continue;
      const x = solveRightCholesky(l, n, b, rows);
      if (!x.every(Number.isFinite)) continue;
      const note = jitter > 0 ? `${name}: Gram matrix not positive definite, solved with jitter ${jitter}·mean(diag)` : undefined;
      return { data: Float32Array.from(x), ...(note ? { note } : {}) };
    }
    return { data: average(), note: `${name}: Gram matrix singular even with jitter; fell back to the plain average` };
  },
};
