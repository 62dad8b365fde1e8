import { numParam, type MergeMethod } from './types.js';

/** Above this |cos| between the two tensors, slerp and lerp agree to float precision: use lerp (mergekit's DOT_THRESHOLD). */
const PARALLEL_DOT = 0.9995;
/** A tensor with a norm at or below this is used as it is, not normalised (mergekit's eps). */
const NORM_EPS = 1e-8;

/**
 * Spherical interpolation between exactly two models, tensor by tensor (flattened), as mergekit
 * computes it: the result moves along the great circle through the two directions, at fraction t
 * of the angle; near-parallel tensors fall back to linear interpolation. With a base_model, the
 * base is v0 (t = 0) — the recipe puts it first.
 */
export const slerp: MergeMethod = {
  name: 'slerp',
  summary: 'spherical interpolation between two models (t = 0: the first / base_model, t = 1: the other)',
  base: 'none',
  baseIsMember: true,
  minModels: 2,
  maxModels: 2,
  params: [{ name: 't', scope: 'global', type: 'number', min: 0, max: 1, description: 'interpolation fraction from the first model (base_model) to the second; required, as in mergekit' }],
  stats: null,
  merge({ tensors, params }) {
    const t = numParam(params, 't');
    const [a, b] = tensors as [Float32Array, Float32Array];
    let na = 0;
    let nb = 0;
    for (let i = 0; i < a.length; i++) {
      na += a[i]! * a[i]!;
      nb += b[i]! * b[i]!;
    }
    na = Math.sqrt(na);
    nb = Math.sqrt(nb);
    const sa = na > NORM_EPS ? 1 / na : 1;
    const sb = nb > NORM_EPS ? 1 / nb : 1;
    let dot = 0;
    for (let i = 0; i < a.length; i++) dot += a[i]! * sa * (b[i]! * sb);
    const out = new Float32Array(a.length);
    if (Math.abs(dot) > PARALLEL_DOT) {
      for (let i = 0; i < a.length; i++) out[i] = (1 - t) * a[i]! + t * b[i]!;
      return { data: out };
    }
    const theta = Math.acos(dot);
    const sin = Math.sin(theta);
    const s0 = Math.sin(theta - theta * t) / sin;
    const s1 = Math.sin(theta * t) / sin;
    for (let i = 0; i < a.length; i++) out[i] = s0 * a[i]! + s1 * b[i]!;
    return { data: out };
  },
};
