import type { MergeParamSpec } from './types.js';

/** Parameter declarations several methods share, so they read the same everywhere (mergekit's names and defaults). */

/** Required, as in mergekit: a recipe names every model's weight (the flags default to 1 each). */
export const WEIGHT: MergeParamSpec = { name: 'weight', scope: 'model', type: 'number', description: "this model's weight in the (weighted) sum" };
export const DENSITY: MergeParamSpec = {
  name: 'density',
  scope: 'model',
  type: 'number',
  default: 1,
  min: 0,
  max: 1,
  description: 'fraction of each task vector kept (1 − density is the drop rate)',
};
export const LAMBDA: MergeParamSpec = { name: 'lambda', scope: 'global', type: 'number', default: 1, description: 'scale of the merged task vector added to the base' };
export const INT8_MASK: MergeParamSpec = {
  name: 'int8_mask',
  scope: 'global',
  type: 'boolean',
  default: false,
  description: "accepted for mergekit recipes: it only changes the memory type of mergekit's sign mask, never the result",
};

/**
 * How kept task-vector entries are scaled after sparsification. `true` / `l1` is mergekit's
 * (since 2025): multiply by ‖τ‖₁ / ‖kept‖₁ per tensor. `density` is the DARE paper's: divide by
 * the density, which keeps every entry's expectation exactly. `false`: no rescale.
 */
export function rescaleSpec(byDefault: boolean): MergeParamSpec {
  return {
    name: 'rescale',
    scope: 'global',
    type: 'choice',
    choices: [true, false, 'l1', 'density'],
    default: byDefault,
    description: "rescale kept entries: true/l1 keeps each tensor's L1 norm (mergekit), density divides by the density (DARE paper), false none",
  };
}

export function normalizeSpec(byDefault: boolean, what: string): MergeParamSpec {
  return { name: 'normalize', scope: 'global', type: 'boolean', default: byDefault, description: `divide ${what} by the sum of the weights` };
}
