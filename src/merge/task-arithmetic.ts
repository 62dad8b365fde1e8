import { LAMBDA, WEIGHT, normalizeSpec } from './param-specs.js';
import { addWeightedSum, fullTau } from './task-vectors.js';
import { boolParam, numParam, type MergeMethod } from './types.js';

/** θ = θ_base + λ Σ w_i (θ_i − θ_base): add the members' task vectors to the base. */
export const taskArithmetic: MergeMethod = {
  name: 'task_arithmetic',
  summary: 'base + λ · weighted sum of task vectors (θ_i − θ_base)',
  base: 'required',
  minModels: 1,
  maxModels: Infinity,
  params: [WEIGHT, LAMBDA, normalizeSpec(false, 'the sum of task vectors')],
  stats: null,
  merge({ tensors, base, params, modelParams }) {
    if (!base) throw new Error('task_arithmetic needs a base tensor');
    const taus = tensors.map((t) => fullTau(t, base));
    const weights = modelParams.map((p) => numParam(p, 'weight'));
    return { data: addWeightedSum(base, taus, weights, numParam(params, 'lambda'), boolParam(params, 'normalize')) };
  },
};
