import { boolParam, type MergeMethod } from './types.js';

/**
 * Model Stock (Jang et al., 2024), as mergekit computes it: with offsets o_k = θ_k − θ_base and
 * cos θ the mean pairwise cosine between them, t = N·cos θ / (1 + (N − 1)·cos θ) and
 * θ = t·mean(θ_k) + (1 − t)·θ_base — the closer the fine-tunes agree, the further from the base.
 * The cosine is over the whole tensor, or per row (last axis) with `filter_wise`.
 */
export const modelStock: MergeMethod = {
  name: 'model_stock',
  summary: 'average of the members pulled toward the base by their offsets\' mean pairwise cosine',
  base: 'required',
  minModels: 2,
  maxModels: Infinity,
  params: [{ name: 'filter_wise', scope: 'global', type: 'boolean', default: false, description: 'one cosine per row (last axis) instead of one per tensor' }],
  stats: null,
  merge({ shape, tensors, base, params }) {
    if (!base) throw new Error('model_stock needs a base tensor');
    const n = base.length;
    const rowLength = boolParam(params, 'filter_wise') && shape.length >= 2 ? shape[shape.length - 1]! : n;
    const N = tensors.length;
    const out = new Float32Array(n);
    const norms = new Float64Array(N);
    for (let start = 0; start < n; start += rowLength) {
      const end = start + rowLength;
      for (let k = 0; k < N; k++) {
        let s = 0;
        for (let i = start; i < end; i++) s += (tensors[k]![i]! - base[i]!) ** 2;
        norms[k] = Math.sqrt(s);
      }
      let cosSum = 0;
      let pairs = 0;
      for (let a = 0; a < N; a++) {
        for (let b = a + 1; b < N; b++) {
          let dot = 0;
          for (let i = start; i < end; i++) dot += (tensors[a]![i]! - base[i]!) * (tensors[b]![i]! - base[i]!);
          // mergekit clamps the norm product at 1e-6 and the cosine to [−1, 1].
          cosSum += Math.min(1, Math.max(-1, dot / Math.max(norms[a]! * norms[b]!, 1e-6)));
          pairs++;
        }
      }
      const cos = cosSum / pairs;
      const t = (N * cos) / (1 + (N - 1) * cos);
      for (let i = start; i < end; i++) {
        let avg = 0;
        for (let k = 0; k < N; k++) avg += tensors[k]![i]!;
        out[i] = t * (avg / N) + (1 - t) * base[i]!;
      }
    }
    return { data: out };
  },
};
