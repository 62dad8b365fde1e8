import { gtaMethod } from './gta.js';

/** DARE's random drop + rescale in place of TIES's trim, then TIES's sign election (normalize off by default, as in mergekit). */
export const dareTies = gtaMethod({
  name: 'dare_ties',
  summary: 'random drop + rescale of task vectors, then TIES sign election',
  sparsification: 'random',
  consensus: true,
  normalize: false,
  rescale: true,
});
