import { broadcastShapes } from '../shapes.js';
import type { GradContext, GradRule, ShapeContext, SymShape } from '../types.js';

const same = (ctx: ShapeContext): SymShape[] => [ctx.inputs[0]!];
const broadcast = (ctx: ShapeContext): SymShape[] => [ctx.inputs.reduce((a, b) => broadcastShapes(a, b))];

/** A unary op whose gradient is dY · f'(x), with f' built from x and y. */
function unary(deriv: (ctx: GradContext, dy: string, x: string, y: string) => string): GradRule {
  return {
    shape: same,
    grad: (ctx) => {
      const dy = ctx.gradOut(0);
      if (!dy || !ctx.needs(0)) return [null];
      return [deriv(ctx, dy, ctx.node.input![0]!, ctx.node.output![0]!)];
    },
  };
}

/** A binary broadcasting op: each partial is computed at the output's shape, then summed down. */
function binary(partials: (ctx: GradContext, dy: string, a: string, b: string, y: string) => [() => string, () => string]): GradRule {
  return {
    shape: broadcast,
    grad: (ctx) => {
      const dy = ctx.gradOut(0);
      if (!dy) return [null, null];
      const [a, b] = ctx.node.input as [string, string];
      const [da, db] = partials(ctx, dy, a, b, ctx.node.output![0]!);
      const y = ctx.outputs[0]!;
      return [ctx.needs(0) ? ctx.reduceTo(da(), y, 0) : null, ctx.needs(1) ? ctx.reduceTo(db(), y, 1) : null];
    },
  };
}

export const elementwiseRules: Record<string, GradRule> = {
  Identity: unary((_ctx, dy) => dy),
  Neg: unary((ctx, dy) => ctx.g.op('Neg', [dy])),
  // d tanh = 1 − y²
  Tanh: unary((ctx, dy, _x, y) => ctx.g.op('Mul', [dy, ctx.g.op('Sub', [ctx.scalar(1), ctx.g.op('Mul', [y, y])])])),
  // d erf = 2/√π · exp(−x²)
  Erf: unary((ctx, dy, x) => {
    const e = ctx.g.op('Exp', [ctx.g.op('Neg', [ctx.g.op('Mul', [x, x])])]);
    return ctx.g.op('Mul', [dy, ctx.g.op('Mul', [e, ctx.scalar(2 / Math.sqrt(Math.PI))])]);
  }),
  Exp: unary((ctx, dy, _x, y) => ctx.g.op('Mul', [dy, y])),
  Log: unary((ctx, dy, x) => ctx.g.op('Div', [dy, x])),
  // d √x = 1 / (2y)
  Sqrt: unary((ctx, dy, _x, y) => ctx.g.op('Div', [dy, ctx.g.op('Mul', [y, ctx.scalar(2)])])),
  // Relu passes the gradient where x > 0 (PyTorch's convention at 0: zero).
  Relu: unary((ctx, dy, x) => ctx.g.op('Where', [ctx.g.op('Greater', [x, ctx.scalar(0)]), dy, ctx.scalar(0)])),
  Cast: {
    shape: same,
    grad: (ctx) => {
      const dy = ctx.gradOut(0);
      // Only float → float casts carry a gradient; needs(0) is false for integer sources.
      return [dy && ctx.needs(0) ? dy : null];
    },
  },
  Add: binary((_ctx, dy) => [() => dy, () => dy]),
  Sub: binary((ctx, dy) => [() => dy, () => ctx.g.op('Neg', [dy])]),
  Mul: binary((ctx, dy, a, b) => [() => ctx.g.op('Mul', [dy, b]), () => ctx.g.op('Mul', [dy, a])]),
  // d(a/b)/da = 1/b; d(a/b)/db = −y/b
  Div: binary((ctx, dy, _a, b, y) => [() => ctx.g.op('Div', [dy, b]), () => ctx.g.op('Neg', [ctx.g.op('Div', [ctx.g.op('Mul', [dy, y]), b])])]),
  // Shape-only: never on a gradient path in the graphs we build (used on targets, not weights).
  Max: { shape: broadcast },
  Min: { shape: broadcast },
  Equal: { shape: broadcast },
  Greater: { shape: broadcast },
  Less: { shape: broadcast },
  Where: { shape: (ctx) => [broadcastShapes(broadcastShapes(ctx.inputs[0]!, ctx.inputs[1]!), ctx.inputs[2]!)] },
};

