import { DENSITY, LAMBDA, WEIGHT, normalizeSpec } from './param-specs.js';
import { addToBase, electAndMerge, keepTopMagnitude, taskVector } from './task-vectors.js';
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
    const taus = tensors.map((t, m) => keepTopMagnitude(taskVector(t, base), numParam(modelParams[m]!, 'density')));
    const tau = electAndMerge(taus, modelParams.map((p) => numParam(p, 'weight')), boolParam(params, 'normalize'));
    return { data: addToBase(base, tau, numParam(params, 'lambda')) };
  },
};
