import { option, resolveOptions } from './options.js';
import { applyPool, CALIBRATION_OPTIONS, emitPool, fitPool, type PoolParams } from './pool.js';
import { exp } from './log-probs.js';
import type { FusionMethod } from './types.js';

/** p = (1/M)·Σ_m softmax(z_m / T_m): the plain average of the members' probabilities (scikit-learn's `voting='soft'`). */
export const mean: FusionMethod<PoolParams> = {
  name: 'mean',
  summary: 'average of the members\' probabilities (scikit-learn\'s voting=\'soft\'; optionally temperature-calibrated)',
  options: CALIBRATION_OPTIONS,
  fit(outputs, ctx, options) {
    const o = resolveOptions('mean', CALIBRATION_OPTIONS, options);
    return fitPool('arithmetic', 'mean', outputs, ctx, { calibrate: option.boolean(o, 'calibrate'), postTemperature: option.boolean(o, 'post_temperature'), fitWeights: false });
  },
  apply: (outputs, params) => exp(applyPool('arithmetic', 'mean', outputs, params)),
  emit: (g, inputs, params) => emitPool('arithmetic', 'mean', g, inputs, params),
};
