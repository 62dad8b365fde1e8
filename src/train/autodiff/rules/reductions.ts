import { attr } from '../../../graph/onnx-builder.js';
import { normAxis, range } from '../shapes.js';
import type { GradContext, GradRule, ShapeContext, SymShape } from '../types.js';

/** The reduced axes: ReduceSum takes them as an input (opset 13+), the others as an attribute (≤ 17). */
function reducedAxes(ctx: ShapeContext): number[] | 'none' {
  const rank = ctx.inputs[0]!.length;
  const given = ctx.node.opType === 'ReduceSum' && (ctx.node.input?.length ?? 0) > 1 ? ctx.constInts(1) : ctx.attrInts('axes');
  if (ctx.node.opType === 'ReduceSum' && (ctx.node.input?.length ?? 0) > 1 && !given) throw new Error('ReduceSum: axes must be constant');
  if (!given || given.length === 0) return ctx.attrInt('noop_with_empty_axes', 0) ? 'none' : range(0, rank);
  return given.map((a) => normAxis(a, rank));
}

function reduceShape(ctx: ShapeContext): SymShape[] {
  const x = ctx.inputs[0]!;
  const axes = reducedAxes(ctx);
  if (axes === 'none') return [x];
  const keep = ctx.attrInt('keepdims', 1) === 1;
  return [keep ? x.map((d, i) => (axes.includes(i) ? 1 : d)) : x.filter((_, i) => !axes.includes(i))];
}

/** Broadcast the gradient back over the reduced axes (and scale by 1/n for a mean). */
function reduceGrad(mean: boolean) {
  return (ctx: GradContext): (string | null)[] => {
    const dy = ctx.gradOut(0);
    const rest = ctx.node.input!.slice(1).map(() => null);
    if (!dy || !ctx.needs(0)) return [null, ...rest];
    const g = ctx.g;
    const x = ctx.node.input![0]!;
    const axes = reducedAxes(ctx);
    if (axes === 'none') return [dy, ...rest];
    const kept = ctx.attrInt('keepdims', 1) === 1 || axes.length === 0 ? dy : g.op('Unsqueeze', [dy, ctx.ints(axes)]);
    let dx = g.op('Expand', [kept, g.op('Shape', [x])]);
    if (mean) {
      const size = (v: string): string => g.op('Cast', [g.op('Size', [v])], { to: attr.int(1) });
      dx = g.op('Mul', [dx, g.op('Div', [size(ctx.node.output![0]!), size(x)])]);
    }
    return [dx, ...rest];
  };
}

/**
 * CumSum's adjoint is the running sum in the other direction: y_i = Σ_{j≤i} x_j gives
 * dx_j = Σ_{i≥j} dy_i (exclusive sums stay exclusive).
 */
function cumSumGrad(ctx: GradContext): (string | null)[] {
  const dy = ctx.gradOut(0);
  if (!dy || !ctx.needs(0)) return [null, null];
  const reverse = ctx.attrInt('reverse', 0) ? 0 : 1;
  return [ctx.g.op('CumSum', [dy, ctx.node.input![1]!], { exclusive: attr.int(ctx.attrInt('exclusive', 0)), reverse: attr.int(reverse) }), null];
}

export const reductionRules: Record<string, GradRule> = {
  CumSum: { shape: (ctx) => [ctx.inputs[0]!], grad: cumSumGrad },
  ReduceSum: { shape: reduceShape, grad: reduceGrad(false) },
  ReduceMean: { shape: reduceShape, grad: reduceGrad(true) },
};
