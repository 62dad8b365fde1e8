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
  // d|x| = sign(x) (0 at 0, as PyTorch).
  Abs: unary((ctx, dy, x) => ctx.g.op('Mul', [dy, ctx.g.op('Sign', [x])])),
  Sin: unary((ctx, dy, x) => ctx.g.op('Mul', [dy, ctx.g.op('Cos', [x])])),
  Cos: unary((ctx, dy, x) => ctx.g.op('Neg', [ctx.g.op('Mul', [dy, ctx.g.op('Sin', [x])])])),
  Where: { shape: (ctx) => [broadcastShapes(broadcastShapes(ctx.inputs[0]!, ctx.inputs[1]!), ctx.inputs[2]!)], grad: whereGrad },
  Clip: { shape: same, grad: clipGrad },
  // No rule yet (only ever applied to targets, never between a weight and the loss): the
  // differentiator refuses a graph where they would need one.
  Max: { shape: broadcast },
  Min: { shape: broadcast },
};

/** Y = cond ? A : B: the gradient goes to A where cond holds and to B elsewhere. */
function whereGrad(ctx: GradContext): (string | null)[] {
  const dy = ctx.gradOut(0);
  if (!dy) return [null, null, null];
  const g = ctx.g;
  const cond = ctx.node.input![0]!;
  const zero = ctx.scalar(0);
  const y = ctx.outputs[0]!;
  return [
    null,
    ctx.needs(1) ? ctx.reduceTo(g.op('Where', [cond, dy, zero]), y, 1) : null,
    ctx.needs(2) ? ctx.reduceTo(g.op('Where', [cond, zero, dy]), y, 2) : null,
  ];
}

/** Clip(x, lo, hi): the gradient passes where lo ≤ x ≤ hi (PyTorch's clamp); bounds that depend on a weight are refused. */
function clipGrad(ctx: GradContext): (string | null)[] {
  const dy = ctx.gradOut(0);
  const [x, lo, hi] = ctx.node.input as [string, string?, string?];
  if (ctx.needs(1) || ctx.needs(2)) throw new Error(`Clip (${ctx.node.name}): bounds that depend on a parameter have no gradient rule`);
  if (!dy || !ctx.needs(0)) return [null, null, null];
  const g = ctx.g;
  let keep: string | null = null;
  const and = (c: string): string => (keep ? g.op('And', [keep, c]) : c);
  if (lo) keep = and(g.op('GreaterOrEqual', [x, lo]));
  if (hi) keep = and(g.op('LessOrEqual', [x, hi]));
  return [keep ? g.op('Where', [keep, dy, ctx.scalar(0)]) : dy, null, null];
}

