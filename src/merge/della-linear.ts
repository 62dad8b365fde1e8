import { EPSILON } from './della.js';
import { gtaMethod } from './gta.js';

/** DELLA's MagPrune + rescale, then task arithmetic (no sign election). */
export const dellaLinear = gtaMethod({
  name: 'della_linear',
  summary: 'magnitude-ranked random drop (MagPrune) + rescale, then task arithmetic',
  sparsification: 'della',
  consensus: false,
  normalize: false,
  rescale: true,
  extra: [EPSILON],
});
