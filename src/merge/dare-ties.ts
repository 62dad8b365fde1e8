import { seedFor } from '../util/rng.js';
import { RESCALE } from './dare-linear.js';
import { DENSITY, LAMBDA, WEIGHT, normalizeSpec } from './param-specs.js';
import { addToBase, dropAndRescale, electAndMerge, taskVector } from './task-vectors.js';
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
    const taus = tensors.map((t, m) => dropAndRescale(taskVector(t, base), numParam(modelParams[m]!, 'density'), seedFor(seed, `member${m}`), rescale));
    const tau = electAndMerge(taus, modelParams.map((p) => numParam(p, 'weight')), boolParam(params, 'normalize'));
    return { data: addToBase(base, tau, numParam(params, 'lambda')) };
  },
};
