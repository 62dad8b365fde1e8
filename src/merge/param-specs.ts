import type { MergeParamSpec } from './types.js';

/** Parameter declarations several methods share, so they read the same everywhere. */
export const WEIGHT: MergeParamSpec = { name: 'weight', scope: 'model', type: 'number', default: 1, description: "this model's weight in the (weighted) sum" };
export const DENSITY: MergeParamSpec = {
  name: 'density',
  scope: 'model',
  type: 'number',
  default: 0.2,
  min: 0,
  max: 1,
  description: 'fraction of each task vector kept (1 − density is the drop rate)',
};
export const LAMBDA: MergeParamSpec = { name: 'lambda', scope: 'global', type: 'number', default: 1, description: 'scale of the merged task vector added to the base' };

export function normalizeSpec(byDefault: boolean, what: string): MergeParamSpec {
  return { name: 'normalize', scope: 'global', type: 'boolean', default: byDefault, description: `divide ${what} by the sum of the weights` };
}
