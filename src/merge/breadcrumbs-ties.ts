import { GAMMA } from './breadcrumbs.js';
import { gtaMethod } from './gta.js';

/** Breadcrumbs' sparsification (outliers and small entries dropped), then TIES's sign election. */
export const breadcrumbsTies = gtaMethod({
  name: 'breadcrumbs_ties',
  summary: 'breadcrumbs sparsification, then TIES sign election',
  sparsification: 'magnitude_outliers',
  consensus: true,
  normalize: false,
  rescale: false,
  extra: [GAMMA],
});
