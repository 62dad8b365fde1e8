import { contribRules } from './rules/contrib.js';
import { discreteRules } from './rules/discrete.js';
import { elementwiseRules } from './rules/elementwise.js';
import { linearAlgebraRules } from './rules/linear-algebra.js';
import { normalizationRules } from './rules/normalization.js';
import { reductionRules } from './rules/reductions.js';
import { shapeRules } from './rules/shape-ops.js';
import type { GradRule } from './types.js';

/** Every op the differentiator knows: op type (default domain) or `domain.op` → rule. */
export const GRAD_RULES: ReadonlyMap<string, GradRule> = new Map(
  Object.entries({ ...discreteRules, ...elementwiseRules, ...shapeRules, ...linearAlgebraRules, ...normalizationRules, ...reductionRules, ...contribRules }),
);

/** Ops with a gradient rule (the discrete ones only propagate shapes). */
export function differentiableOps(): string[] {
  return [...GRAD_RULES].filter(([, r]) => r.grad).map(([op]) => op).sort();
}
