import { WEIGHT } from './param-specs.js';
import { weightedSum } from './task-vectors.js';
import { numParam, type MergeMethod } from './types.js';

/**
 * Fisher merging (Matena & Raffel 2022): per parameter, the members' values averaged with weights
 * w_i · F_i, F_i the diagonal Fisher of member i on the texts (floored so a parameter no member is
 * sensitive to gets the plain weighted average rather than 0/0):
 *   θ = Σ w_i · max(F_i, floor) · θ_i / Σ w_i · max(F_i, floor).
 */
export const fisher: MergeMethod = {
  name: 'fisher',
  summary: 'per parameter, average weighted by each member\'s diagonal Fisher information on texts',
  base: 'none',
  minModels: 2,
  maxModels: Infinity,
  params: [WEIGHT, { name: 'fisher_floor', scope: 'global', type: 'number', default: 1e-6, min: 0, description: 'lower bound on each Fisher value (keeps parameters no member is sensitive to at the weighted average)' }],
  stats: 'fisher',
  merge({ tensors, fisher: fishers, params, modelParams }) {
    const weights = modelParams.map((p) => numParam(p, 'weight'));
    if (!fishers) return { data: weightedSum(tensors, weights, true) };
    const floor = numParam(params, 'fisher_floor');
    const n = tensors[0]!.length;
    const out = new Float32Array(n);
    for (let j = 0; j < n; j++) {
      let num = 0;
      let den = 0;
      for (let i = 0; i < tensors.length; i++) {
        const f = weights[i]! * Math.max(fishers[i]![j]!, floor);
        num += f * tensors[i]![j]!;
        den += f;
      }
      out[j] = den > 0 ? num / den : tensors[0]![j]!;
    }
    return { data: out };
  },
};
