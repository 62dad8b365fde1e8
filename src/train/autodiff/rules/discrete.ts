import { broadcastShapes } from '../shapes.js';
import type { GradRule, ShapeContext, SymDim, SymShape } from '../types.js';

/**
 * Ops whose outputs are booleans or integers: comparisons and logic on masks and ids (RoBERTa's
 * `Not(ids == pad)`, ModernBERT's sliding window), shapes, ranges and constant fills. Nothing flows
 * back through them, so they only propagate shapes; a parameter upstream stops here by nature.
 */
const broadcast = (ctx: ShapeContext): SymShape[] => [ctx.inputs.reduce((a, b) => broadcastShapes(a, b))];
const discrete = (shape: (ctx: ShapeContext) => SymShape[]): GradRule => ({ shape, discrete: true });

export const discreteRules: Record<string, GradRule> = {
  Equal: discrete(broadcast),
  Greater: discrete(broadcast),
  GreaterOrEqual: discrete(broadcast),
  Less: discrete(broadcast),
  LessOrEqual: discrete(broadcast),
  And: discrete(broadcast),
  Or: discrete(broadcast),
  Xor: discrete(broadcast),
  Not: discrete((ctx) => [ctx.inputs[0]!]),
  Shape: discrete((ctx) => [[ctx.inputs[0]!.length]]),
  Size: discrete(() => [[]]),
  Range: discrete(() => [[null]]),
  ConstantOfShape: discrete((ctx) => {
    const n = ctx.inputs[0]![0];
    return [Array<SymDim>(typeof n === 'number' ? n : 0).fill(null)];
  }),
};
