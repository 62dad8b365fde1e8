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
 * axes. μ and r are the forward node's own optional outputs Mean and InvStdDev (added to it when
 * absent), so the backward pass does not recompute two reductions, a square root and four
 * elementwise passes per norm.
 */
function layerNormGrad(ctx: GradContext): (string | null)[] {
  const dy = ctx.gradOut(0);
  if (!dy) return [null, null, null];
  const g = ctx.g;
  const [x, gamma] = ctx.node.input as [string, string, string?];
  const rank = ctx.inputs[0]!.length;
  const axes = range(normAxis(ctx.attrInt('axis', -1), rank), rank);
  const y = ctx.outputs[0]!;
  const [mu, r] = savedStatistics(ctx);
  const xhat = g.op('Mul', [g.op('Sub', [x, mu]), r]);
  let dx: string | null = null;
  if (ctx.needs(0)) {
    const gx = g.op('Mul', [dy, gamma]);
    const inner = g.op('Sub', [g.op('Sub', [gx, meanKeep(ctx, gx, axes)]), g.op('Mul', [xhat, meanKeep(ctx, g.op('Mul', [gx, xhat]), axes)])]);
    dx = g.op('Mul', [inner, r]);
  }
  const dgamma = ctx.needs(1) ? ctx.reduceTo(g.op('Mul', [dy, xhat]), y, 1) : null;
  const dbeta = ctx.node.input!.length > 2 && ctx.needs(2) ? ctx.reduceTo(dy, y, 2) : null;
  return [dx, dgamma, dbeta];
}

/** The forward LayerNormalization's Mean and InvStdDev outputs (float32, reduced axes kept as 1), named on the node if it had none. */
function savedStatistics(ctx: GradContext): [string, string] {
  const node = ctx.node;
  const outs = node.output ?? [];
  const hint = node.name ?? 'layernorm';
  const mean = outs[1] || ctx.g.fresh(`${hint}_mean`);
  const invStd = outs[2] || ctx.g.fresh(`${hint}_inv_std`);
  node.output = [outs[0]!, mean, invStd];
  return [mean, invStd];
}

export const normalizationRules: Record<string, GradRule> = {
  Softmax: { shape: same, grad: softmaxGrad },
  LogSoftmax: { shape: same, grad: logSoftmaxGrad },
  LayerNormalization: {
    shape: (ctx) => {
      const x = ctx.inputs[0]!;
      const a = normAxis(ctx.attrInt('axis', -1), x.length);
      const stats = x.map((d, i) => (i < a ? d : 1));
      return [x, stats, stats];
    },
    grad: layerNormGrad,
  },
};
