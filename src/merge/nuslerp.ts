import { boolParam, numParam, type MergeMethod } from './types.js';
import { WEIGHT } from './param-specs.js';

/**
 * NuSLERP, as mergekit computes it: spherical interpolation of two models at t = w₂ / (w₁ + w₂)
 * (0.5 when the weights sum to ~0), over the whole flattened tensor (`nuslerp_flatten`, default),
 * or per row (last axis) or per column (`nuslerp_row_wise`). With a base_model it interpolates
 * the task vectors θ_i − θ_base and adds the result to the base. Unlike slerp there is no
 * near-parallel threshold: lerp only when sin θ is below 1e-8.
 */
export const nuslerp: MergeMethod = {
  name: 'nuslerp',
  summary: 'slerp at t = w2/(w1+w2), per tensor/row/column, of models or (with base_model) task vectors',
  base: 'optional',
  minModels: 2,
  maxModels: 2,
  params: [
    WEIGHT,
    { name: 'nuslerp_row_wise', scope: 'global', type: 'boolean', default: false, description: 'interpolate columns (vectors along the first axis) instead of rows' },
    { name: 'nuslerp_flatten', scope: 'global', type: 'boolean', default: true, description: 'interpolate the whole tensor as one vector' },
  ],
  stats: null,
  merge({ shape, tensors, base, params, modelParams }) {
    const [w0, w1] = modelParams.map((p) => numParam(p, 'weight')) as [number, number];
    const t = Math.abs(w0 + w1) < 1e-6 ? 0.5 : w1 / (w0 + w1);
    const n = tensors[0]!.length;
    const v0 = new Float64Array(n);
    const v1 = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      v0[i] = base ? tensors[0]![i]! - base[i]! : tensors[0]![i]!;
      v1[i] = base ? tensors[1]![i]! - base[i]! : tensors[1]![i]!;
    }
    // Vectors: the whole tensor; else rows (stride 1) or, row-wise, columns (stride = row length).
    const flatten = boolParam(params, 'nuslerp_flatten') || shape.length < 2;
    const cols = shape.length >= 2 ? shape[shape.length - 1]! : n;
    const rows = n / cols;
    const byColumn = !flatten && boolParam(params, 'nuslerp_row_wise');
    const count = flatten ? 1 : byColumn ? cols : rows;
    const len = flatten ? n : byColumn ? rows : cols;
    const index = (v: number, j: number): number => (flatten ? j : byColumn ? j * cols + v : v * cols + j);
    const out = new Float32Array(n);
    for (let v = 0; v < count; v++) {
      let n0 = 0;
      let n1 = 0;
      for (let j = 0; j < len; j++) {
        const i = index(v, j);
        n0 += v0[i]! * v0[i]!;
        n1 += v1[i]! * v1[i]!;
      }
      const d0 = Math.max(Math.sqrt(n0), 1e-7);
      const d1 = Math.max(Math.sqrt(n1), 1e-7);
      let cos = 0;
      for (let j = 0; j < len; j++) {
        const i = index(v, j);
        cos += (v0[i]! / d0) * (v1[i]! / d1);
      }
      const theta = Math.acos(Math.min(1, Math.max(-1, cos)));
      const sin = Math.sin(theta);
      const colinear = Math.abs(sin) < 1e-8;
      const s0 = colinear ? 1 - t : Math.sin((1 - t) * theta) / sin;
      const s1 = colinear ? t : Math.sin(t * theta) / sin;
      for (let j = 0; j < len; j++) {
        const i = index(v, j);
        out[i] = (base ? base[i]! : 0) + s0 * v0[i]! + s1 * v1[i]!;
      }
    }
    return { data: out };
  },
};
