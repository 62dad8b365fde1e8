import { option, resolveOptions } from './options.js';
import { applyPool, CALIBRATION_OPTIONS, emitPool, fitPool, type PoolParams } from './pool.js';
import { exp } from './log-probs.js';
import type { FusionMethod } from './types.js';

/**
 * Soft vote: every member votes with its log-probabilities and the votes are averaged,
 * p ∝ exp((1/M)·Σ_m log softmax(z_m / T_m)), the normalised geometric mean of the members'
 * distributions (a product of experts). Unlike `mean` (scikit-learn's "soft voting", the
 * arithmetic mean), one member that is sure a label is wrong can veto it.
 */
export const softVote: FusionMethod<PoolParams> = {
  name: 'soft_vote',
  summary: 'normalised geometric mean of the members\' probabilities (average of log-probabilities)',
  options: CALIBRATION_OPTIONS,
  fit(outputs, ctx, options) {
    const o = resolveOptions('soft_vote', CALIBRATION_OPTIONS, options);
    return fitPool('geometric', 'soft_vote', outputs, ctx, { calibrate: option.boolean(o, 'calibrate'), postTemperature: option.boolean(o, 'post_temperature'), fitWeights: false });
  },
  apply: (outputs, params) => exp(applyPool('geometric', 'soft_vote', outputs, params)),
  emit: (g, inputs, params) => emitPool('geometric', 'soft_vote', g, inputs, params),
};
