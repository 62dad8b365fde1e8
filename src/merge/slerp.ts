import { numParam, type MergeMethod } from './types.js';

/** Below this angle between the two tensors, slerp and lerp agree to float precision: use lerp. */
const PARALLEL_DOT = 0.9995;

/**
 * Spherical interpolation between exactly two models, tensor by tensor (flattened): the result
 * moves along the great circle through the two directions, at fraction t of the angle. Near-parallel
 * (or zero) tensors fall back to linear interpolation, where slerp's 0/0 would blow up.
 */
export const slerp: MergeMethod = {
  name: 'slerp',
  summary: 'spherical interpolation between two models (t = 0: first, t = 1: second)',
  base: 'none',
  minModels: 2,
  maxModels: 2,
  params: [{ name: 't', scope: 'global', type: 'number', default: 0.5, min: 0, max: 1, description: 'interpolation fraction from the first model to the second' }],
  stats: null,
  merge({ tensors, params }) {
    const t = numParam(params, 't');
    const [a, b] = tensors as [Float32Array, Float32Array];
    let na = 0;
    let nb = 0;
    let dot = 0;
    for (let i = 0; i < a.length; i++) {
      na += a[i]! * a[i]!;
      nb += b[i]! * b[i]!;
      dot += a[i]! * b[i]!;
    }
    const out = new Float32Array(a.length);
    const cos = na > 0 && nb > 0 ? dot / Math.sqrt(na * nb) : 1;
    if (Math.abs(cos) > PARALLEL_DOT) {
      for (let i = 0; i < a.length; i++) out[i] = (1 - t) * a[i]! + t * b[i]!;
      return { data: out };
    }
    const theta = Math.acos(cos);
    const sin = Math.sin(theta);
    const sa = Math.sin((1 - t) * theta) / sin;
    const sb = Math.sin(t * theta) / sin;
    for (let i = 0; i < a.length; i++) out[i] = sa * a[i]! + sb * b[i]!;
    return { data: out };
  },
};
