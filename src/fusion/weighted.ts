import { option, resolveOptions } from './options.js';
import { applyPool, CALIBRATION_OPTIONS, emitPool, fitPool, type PoolParams } from './pool.js';
import { exp } from './log-probs.js';
import type { FusionMethod } from './types.js';

/**
 * p = Σ_m w_m·softmax(z_m / T_m) with w on the simplex fit to minimise the log-loss on the fit
 * data (EM, see mixture-weights.ts). With `calibrate`, the temperatures are fit first, each
 * member alone; then the weights; then, with `post_temperature`, one temperature on the result.
 */
export const weighted: FusionMethod<PoolParams> = {
  name: 'weighted',
  summary: 'weighted average of probabilities, weights fit on the simplex to minimise log-loss',
  options: CALIBRATION_OPTIONS,
  fit(outputs, ctx, options) {
    const o = resolveOptions('weighted', CALIBRATION_OPTIONS, options);
    return fitPool('arithmetic', 'weighted', outputs, ctx, { calibrate: option.boolean(o, 'calibrate'), postTemperature: option.boolean(o, 'post_temperature'), fitWeights: true });
  },
  apply: (outputs, params) => exp(applyPool('arithmetic', 'weighted', outputs, params)),
  emit: (g, inputs, params) => emitPool('arithmetic', 'weighted', g, inputs, params),
};
