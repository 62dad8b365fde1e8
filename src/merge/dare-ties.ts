import { seedFor } from '../util/rng.js';
import { RESCALE } from './dare-linear.js';
import { DENSITY, LAMBDA, WEIGHT, normalizeSpec } from './param-specs.js';
import { addElectedMerge, droppedTau } from './task-vectors.js';
import { boolParam, numParam, type MergeMethod } from './types.js';

/** DARE's random drop + rescale in place of TIES's trim, then TIES's sign election and disjoint mean. */
export const dareTies: MergeMethod = {
  name: 'dare_ties',
  summary: 'random drop + rescale of task vectors, then TIES sign election',
  base: 'required',
  minModels: 1,
  maxModels: Infinity,
  params: [WEIGHT, DENSITY, LAMBDA, RESCALE, normalizeSpec(true, 'the agreeing entries (disjoint mean)')],
  stats: null,
  merge({ tensors, base, params, modelParams, seed }) {
    if (!base) throw new Error('dare_ties needs a base tensor');
    const rescale = boolParam(params, 'rescale');
    const taus = tensors.map((t, m) => droppedTau(t, base, numParam(modelParams[m]!, 'density'), seedFor(seed, `member${m}`), rescale));
    const weights = modelParams.map((p) => numParam(p, 'weight'));
    return { data: addElectedMerge(base, taus, weights, numParam(params, 'lambda'), boolParam(params, 'normalize')) };
  },
};
