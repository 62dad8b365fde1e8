import { attr } from '../../../graph/onnx-builder.js';
import { normAxis, range } from '../shapes.js';
import type { GradContext, GradRule, ShapeContext, SymShape } from '../types.js';

const same = (ctx: ShapeContext): SymShape[] => [ctx.inputs[0]!];

/** ReduceSum over `axes`, keeping them (opset 13+: axes are an input). */
function sumKeep(ctx: GradContext, x: string, axes: readonly number[]): string {
  return ctx.g.op('ReduceSum', [x, ctx.ints(axes)], { keepdims: attr.int(1) });
}
/** ReduceMean over `axes`, keeping them (opset ≤ 17: axes are an attribute). */
function meanKeep(ctx: GradContext, x: string, axes: readonly number[]): string {
  return ctx.g.op('ReduceMean', [x], { axes: attr.ints(axes), keepdims: attr.int(1) });
}

/** Softmax: dx = y · (dy − Σ dy·y) along the axis. */
function softmaxGrad(ctx: GradContext): (string | null)[] {
  const dy = ctx.gradOut(0);
  if (!dy || !ctx.needs(0)) return [null];
  const y = ctx.node.output![0]!;
  const axis = normAxis(ctx.attrInt('axis', -1), ctx.inputs[0]!.length);
  const g = ctx.g;
  return [g.op('Mul', [y, g.op('Sub', [dy, sumKeep(ctx, g.op('Mul', [dy, y]), [axis])])])];
}

/** LogSoftmax: dx = dy − softmax · Σ dy along the axis (softmax = exp(y)). */
function logSoftmaxGrad(ctx: GradContext): (string | null)[] {
  const dy = ctx.gradOut(0);
  if (!dy || !ctx.needs(0)) return [null];
  const y = ctx.node.output![0]!;
  const axis = normAxis(ctx.attrInt('axis', -1), ctx.inputs[0]!.length);
  const g = ctx.g;
  return [g.op('Sub', [dy, g.op('Mul', [g.op('Exp', [y]), sumKeep(ctx, dy, [axis])])])];
}

/**
 * LayerNormalization over axes [axis, rank): x̂ = (x − μ)·r with r = 1/√(σ² + ε), y = γ·x̂ + β.
 * dx = r · (g − mean(g) − x̂ · mean(g·x̂)) with g = dy·γ; dγ = Σ dy·x̂, dβ = Σ dy over the leading
 * axes. μ and r are recomputed from x rather than taken from the forward node, which keeps the
 * forward graph unchanged.
 */
function layerNormGrad(ctx: GradContext): (string | null)[] {
  const dy = ctx.gradOut(0);
  if (!dy) return [null, null, null];
  const g = ctx.g;
  const [x, gamma] = ctx.node.input as [string, string, string?];
  const rank = ctx.inputs[0]!.length;
  const axes = range(normAxis(ctx.attrInt('axis', -1), rank), rank);
  const eps = ctx.node.attribute?.find((a) => a.name === 'epsilon')?.f ?? 1e-5;
  const y = ctx.outputs[0]!;
  const mu = meanKeep(ctx, x, axes);
  const xc = g.op('Sub', [x, mu]);
  const variance = meanKeep(ctx, g.op('Mul', [xc, xc]), axes);
  const r = g.op('Reciprocal', [g.op('Sqrt', [g.op('Add', [variance, ctx.scalar(eps)])])]);
  const xhat = g.op('Mul', [xc, r]);
  let dx: string | null = null;
  if (ctx.needs(0)) {
    const gx = g.op('Mul', [dy, gamma]);
    const inner = g.op('Sub', [g.op('Sub', [gx, meanKeep(ctx, gx, axes)]), g.op('Mul', [xhat, meanKeep(ctx, g.op('Mul', [gx, xhat]), axes)])]);
    dx = g.op('Mul', [r, inner]);
  }
  const dgamma = ctx.needs(1) ? ctx.reduceTo(g.op('Mul', [dy, xhat]), y, 1) : null;
  const dbeta = ctx.node.input!.length > 2 && ctx.needs(2) ? ctx.reduceTo(dy, y, 2) : null;
  return [dx, dgamma, dbeta];
}

export const normalizationRules: Record<string, GradRule> = {
  Softmax: { shape: same, grad: softmaxGrad },
  LogSoftmax: { shape: same, grad: logSoftmaxGrad },
  LayerNormalization: { shape: (ctx) => [ctx.inputs[0]!, [], []], grad: layerNormGrad },
};
