import { option, resolveOptions } from './options.js';
import { applyPool, CALIBRATION_OPTIONS, emitPool, fitPool, type PoolParams } from './pool.js';
import { exp } from './log-probs.js';
import type { FusionMethod } from './types.js';

/**
 * p ∝ exp((1/M)·Σ_m log softmax(z_m / T_m)): the normalised geometric mean of the members'
 * distributions (a product of experts; every member votes with its log-probabilities). Unlike
 * `mean` (scikit-learn's `voting='soft'`, the arithmetic mean), one member that is sure a label is
 * wrong can veto it. Its first name was `soft_vote`, which people read as scikit-learn's soft
 * voting; recipes and manifests written with that name still work.
 */
export const geometricMean: FusionMethod<PoolParams> = {
  name: 'geometric_mean',
  aliases: ['soft_vote'],
  summary: 'normalised geometric mean of the members\' probabilities (average of log-probabilities)',
  options: CALIBRATION_OPTIONS,
  fit(outputs, ctx, options) {
    const o = resolveOptions('geometric_mean', CALIBRATION_OPTIONS, options);
    return fitPool('geometric', 'geometric_mean', outputs, ctx, { calibrate: option.boolean(o, 'calibrate'), postTemperature: option.boolean(o, 'post_temperature'), fitWeights: false });
  },
  apply: (outputs, params) => exp(applyPool('geometric', 'geometric_mean', outputs, params)),
  emit: (g, inputs, params) => emitPool('geometric', 'geometric_mean', g, inputs, params),
};
