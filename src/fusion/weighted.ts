import { option, resolveOptions } from './options.js';
import { applyPool, CALIBRATION_OPTIONS, emitPool, fitPool, parseFixedWeights, type PoolParams } from './pool.js';
import { exp } from './log-probs.js';
import type { FusionMethod, ParamSpec } from './types.js';

const OPTIONS: readonly ParamSpec[] = [
  ...CALIBRATION_OPTIONS,
  { name: 'weights', type: 'string', default: '', description: 'fixed weights, one per member (e.g. 0.6,0.4; scaled to sum to 1) instead of fitting them' },
];

/**
 * p = Σ_m w_m·softmax(z_m / T_m) with w on the simplex fit to minimise the log-loss on the fit
 * data (EM, see mixture-weights.ts), or fixed by the user (`weights=0.6,0.4`). With `calibrate`, the temperatures are fit first, each
 * member alone; then the weights; then, with `post_temperature`, one temperature on the result.
 */
export const weighted: FusionMethod<PoolParams> = {
  name: 'weighted',
  summary: 'weighted average of probabilities, weights fit on the simplex to minimise log-loss (or fixed: weights=0.6,0.4)',
  options: OPTIONS,
  fit(outputs, ctx, options) {
    const o = resolveOptions('weighted', OPTIONS, options);
    const fixedWeights = parseFixedWeights('weighted', String(o['weights']));
    return fitPool('arithmetic', 'weighted', outputs, ctx, { calibrate: option.boolean(o, 'calibrate'), postTemperature: option.boolean(o, 'post_temperature'), fitWeights: true, fixedWeights });
  },
  apply: (outputs, params) => exp(applyPool('arithmetic', 'weighted', outputs, params)),
  emit: (g, inputs, params) => emitPool('arithmetic', 'weighted', g, inputs, params),
};
