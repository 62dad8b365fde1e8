import { WEIGHT, normalizeSpec } from './param-specs.js';
import { weightedSum } from './task-vectors.js';
import { boolParam, numParam, type MergeMethod } from './types.js';

/** θ = Σ w_i θ_i (/ Σ w_i): the weighted average of the members ("model soup"). */
export const linear: MergeMethod = {
  name: 'linear',
  summary: 'weighted average of the members',
  base: 'none',
  minModels: 1,
  maxModels: Infinity,
  params: [WEIGHT, normalizeSpec(true, 'the weighted sum')],
  stats: null,
  merge({ tensors, params, modelParams }) {
    const weights = modelParams.map((p) => numParam(p, 'weight'));
    return { data: weightedSum(tensors, weights, boolParam(params, 'normalize')) };
  },
};
