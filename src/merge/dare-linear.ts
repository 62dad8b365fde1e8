import { gtaMethod } from './gta.js';

/**
 * DARE (Yu et al., 2024) with a linear combination: drop each task-vector entry with probability
 * 1 − density, rescale the survivors (mergekit's L1 norm by default, `rescale: density` for the
 * paper's 1/density), and add the weighted sum to the base. Masks are seeded per tensor and
 * member, so the same recipe gives the same bytes.
 */
export const dareLinear = gtaMethod({
  name: 'dare_linear',
  summary: 'random drop + rescale of task vectors, then task arithmetic',
  sparsification: 'random',
  consensus: false,
  normalize: false,
  rescale: true,
});
