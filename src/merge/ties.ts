import { gtaMethod } from './gta.js';

/**
 * TIES-merging (Yadav et al., 2023): trim each task vector to its floor(density·n) largest-|τ|
 * entries, elect a sign per entry by weighted mass, and average only the entries that agree with
 * it (disjoint mean); θ = θ_base + λ·τ.
 */
export const ties = gtaMethod({
  name: 'ties',
  summary: 'trim task vectors to top-|τ|, elect signs by mass, disjoint mean',
  sparsification: 'magnitude',
  consensus: true,
  normalize: true,
  rescale: false,
});
