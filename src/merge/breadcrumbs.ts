import { gtaMethod } from './gta.js';
import type { MergeParamSpec } from './types.js';

/** Breadcrumbs' outlier fraction (mergekit's default 0.01). */
export const GAMMA: MergeParamSpec = {
  name: 'gamma',
  scope: 'model',
  type: 'number',
  default: 0.01,
  min: 0,
  max: 1,
  description: 'fraction of the largest |τ| entries dropped as outliers',
};

/**
 * Model Breadcrumbs (Davari & Belilovsky, 2023): from each task vector drop the largest γ
 * fraction (outliers) and the smallest, keeping floor(density·n) entries; then task arithmetic.
 */
export const breadcrumbs = gtaMethod({
  name: 'breadcrumbs',
  summary: 'drop the largest (gamma) and smallest task-vector entries, then task arithmetic',
  sparsification: 'magnitude_outliers',
  consensus: false,
  normalize: false,
  rescale: false,
  extra: [GAMMA],
});
