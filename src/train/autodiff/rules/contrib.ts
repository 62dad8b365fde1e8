import type { GradContext, GradRule, ShapeContext, SymShape } from '../types.js';

/**
 * The onnxruntime contrib ops a training graph may hold in its forward pass: the fused bias + GELU
 * kernels (one pass over the FFN's widest activation instead of six), keyed `domain.op`.
 */
const same = (ctx: ShapeContext): SymShape[] => [ctx.inputs[0]!];

/** A bias + activation op y = f(x + b): dx = dy · f'(x + b), db = dx summed to b's shape. */
function biasActivation(derivative: (ctx: GradContext, u: string) => string): GradRule {
  return {
    shape: same,
    grad: (ctx) => {
      const dy = ctx.gradOut(0);
      if (!dy || !(ctx.needs(0) || ctx.needs(1))) return [null, null];
      const [x, b] = ctx.node.input as [string, string];
      const du = ctx.g.op('Mul', [dy, derivative(ctx, ctx.g.op('Add', [x, b]))]);
      return [ctx.needs(0) ? ctx.reduceTo(du, ctx.outputs[0]!, 0) : null, ctx.needs(1) ? ctx.reduceTo(du, ctx.outputs[0]!, 1) : null];
    },
  };
}

/**
 * gelu(u) = u·Φ(u): gelu'(u) = Φ(u) + u·φ(u) = ½·(1 + erf(d)) + d·exp(−d²)/√π with d = u/√2.
 */
function geluDerivative(ctx: GradContext, u: string): string {
  const g = ctx.g;
  const d = g.op('Mul', [u, ctx.scalar(Math.SQRT1_2)]);
  const half = g.op('Add', [g.op('Mul', [g.op('Erf', [d]), ctx.scalar(0.5)]), ctx.scalar(0.5)]);
  const density = g.op('Exp', [g.op('Neg', [g.op('Mul', [d, d])])]);
  return g.op('Add', [half, g.op('Mul', [g.op('Mul', [d, density]), ctx.scalar(1 / Math.sqrt(Math.PI))])]);
}

/**
 * The tanh form (FastGelu): y = ½·u·(1 + t), t = tanh(k·(u + c·u³)), k = √(2/π), c = 0.044715:
 * y' = ½·(1 + t) + ½·u·(1 − t²)·k·(1 + 3c·u²).
 */
function fastGeluDerivative(ctx: GradContext, u: string): string {
  const g = ctx.g;
  const [k, c] = [Math.sqrt(2 / Math.PI), 0.044715];
  const u2 = g.op('Mul', [u, u]);
  const t = g.op('Tanh', [g.op('Mul', [g.op('Mul', [u, g.op('Add', [g.op('Mul', [u2, ctx.scalar(c)]), ctx.scalar(1)])]), ctx.scalar(k)])]);
  const half = g.op('Mul', [g.op('Add', [t, ctx.scalar(1)]), ctx.scalar(0.5)]);
  const slope = g.op('Mul', [g.op('Sub', [ctx.scalar(1), g.op('Mul', [t, t])]), g.op('Add', [g.op('Mul', [u2, ctx.scalar(3 * c * k)]), ctx.scalar(k)])]);
  return g.op('Add', [half, g.op('Mul', [g.op('Mul', [u, ctx.scalar(0.5)]), slope])]);
}

export const contribRules: Record<string, GradRule> = {
  'com.microsoft.BiasGelu': biasActivation(geluDerivative),
  'com.microsoft.FastGelu': biasActivation(fastGeluDerivative),
};
