import { seedFor } from '../util/rng.js';
import { DENSITY, LAMBDA, WEIGHT, normalizeSpec } from './param-specs.js';
import { addWeightedSum, droppedTau } from './task-vectors.js';
import { boolParam, numParam, type MergeMethod, type MergeParamSpec } from './types.js';

export const RESCALE: MergeParamSpec = { name: 'rescale', scope: 'global', type: 'boolean', default: true, description: 'divide kept entries by the density (keeps each entry\'s expectation)' };

/**
 * DARE (Yu et al., 2024) with a linear combination: drop each task-vector entry with probability
 * 1 − density, rescale the survivors by 1/density, and add the weighted sum to the base. Masks are
 * seeded per tensor and member, so the same recipe gives the same bytes.
 */
export const dareLinear: MergeMethod = {
  name: 'dare_linear',
  summary: 'random drop + rescale of task vectors, then task arithmetic',
  base: 'required',
  minModels: 1,
  maxModels: Infinity,
  params: [WEIGHT, DENSITY, LAMBDA, RESCALE, normalizeSpec(false, 'the sum of task vectors')],
  stats: null,
  merge({ tensors, base, params, modelParams, seed }) {
    if (!base) throw new Error('dare_linear needs a base tensor');
    const rescale = boolParam(params, 'rescale');
    const taus = tensors.map((t, m) => droppedTau(t, base, numParam(modelParams[m]!, 'density'), seedFor(seed, `member${m}`), rescale));
    const weights = modelParams.map((p) => numParam(p, 'weight'));
    return { data: addWeightedSum(base, taus, weights, numParam(params, 'lambda'), boolParam(params, 'normalize')) };
  },
};
