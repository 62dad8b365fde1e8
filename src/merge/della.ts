import { gtaMethod } from './gta.js';
import type { MergeParamSpec } from './types.js';

/** DELLA's spread of keep probabilities around the density (mergekit's default 0.15). */
export const EPSILON: MergeParamSpec = {
  name: 'epsilon',
  scope: 'model',
  type: 'number',
  default: 0.15,
  min: 0,
  max: 1,
  description: 'keep probabilities range over density ± epsilon by magnitude rank (density ± epsilon must stay in (0, 1))',
};

/**
 * DELLA (Deep et al., 2024): MagPrune drops task-vector entries at random with keep probability
 * rising with the entry's magnitude rank in its row (density − ε … density + ε), rescales the
 * survivors, then TIES's sign election and disjoint mean.
 */
export const della = gtaMethod({
  name: 'della',
  summary: 'magnitude-ranked random drop (MagPrune) + rescale, then TIES sign election',
  sparsification: 'della',
  consensus: true,
  normalize: true,
  rescale: true,
  extra: [EPSILON],
});
