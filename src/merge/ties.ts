import { DENSITY, LAMBDA, WEIGHT, normalizeSpec } from './param-specs.js';
import { addElectedMerge, trimmedTau } from './task-vectors.js';
import { boolParam, numParam, type MergeMethod } from './types.js';

/**
 * TIES-merging (Yadav et al., 2023): trim each task vector to its largest-magnitude `density`
 * fraction, elect a sign per entry by weighted mass, and average only the entries that agree
 * with it (disjoint mean); θ = θ_base + λ·τ.
 */
export const ties: MergeMethod = {
  name: 'ties',
  summary: 'trim task vectors to top-|τ|, elect signs by mass, disjoint mean',
  base: 'required',
  minModels: 1,
  maxModels: Infinity,
  params: [WEIGHT, DENSITY, LAMBDA, normalizeSpec(true, 'the agreeing entries (disjoint mean)')],
  stats: null,
  merge({ tensors, base, params, modelParams }) {
    if (!base) throw new Error('ties needs a base tensor');
    const taus = tensors.map((t, m) => trimmedTau(t, base, numParam(modelParams[m]!, 'density')));
    const weights = modelParams.map((p) => numParam(p, 'weight'));
    return { data: addElectedMerge(base, taus, weights, numParam(params, 'lambda'), boolParam(params, 'normalize')) };
  },
};
