import { attr } from '../../../graph/onnx-builder.js';
import { broadcastShapes, range } from '../shapes.js';
import type { GradContext, GradRule, ShapeContext, SymShape } from '../types.js';

function matmulShape(ctx: ShapeContext): SymShape[] {
  const [a, b] = ctx.inputs as [SymShape, SymShape];
  if (a.length < 2 || b.length < 2) throw new Error('MatMul: 1-D operands are not supported by the differentiator');
  const batch = broadcastShapes(a.slice(0, -2), b.slice(0, -2));
  return [[...batch, a[a.length - 2]!, b[b.length - 1]!]];
}

/** Swaps the last two axes. */
function transposeLast2(ctx: GradContext, x: string, rank: number): string {
  return ctx.g.op('Transpose', [x], { perm: attr.ints([...range(0, rank - 2), rank - 1, rank - 2]) });
}

/**
 * Y = A·B. dA = dY·Bᵀ, dB = Aᵀ·dY, each summed over broadcast batch axes. The common case of a
 * 2-D weight under a batched activation ([b, s, k]·[k, n]) folds the batch into rows so dB is one
 * GEMM ([k, b·s]·[b·s, n]) instead of a batched product and a reduction.
 */
function matmulGrad(ctx: GradContext): (string | null)[] {
  const dy = ctx.gradOut(0);
  if (!dy) return [null, null];
  const g = ctx.g;
  const [a, b] = ctx.node.input as [string, string];
  const [sa, sb] = ctx.inputs as [SymShape, SymShape];
  const y = ctx.outputs[0]!;
  let da: string | null = null;
  let db: string | null = null;
  if (ctx.needs(0)) da = ctx.reduceTo(g.op('MatMul', [dy, transposeLast2(ctx, b, sb.length)]), y, 0);
  if (ctx.needs(1)) {
    const [k, n] = sb.slice(-2);
    if (sb.length === 2 && sa.length > 2 && typeof k === 'number' && typeof n === 'number') {
      const a2 = g.op('Reshape', [a, ctx.ints([-1, k])]);
      const dy2 = g.op('Reshape', [dy, ctx.ints([-1, n])]);
      db = g.op('Gemm', [a2, dy2], { transA: attr.int(1) });
    } else {
      db = ctx.reduceTo(g.op('MatMul', [transposeLast2(ctx, a, sa.length), dy]), y, 1);
    }
  }
  return [da, db];
}

export const linearAlgebraRules: Record<string, GradRule> = {
  MatMul: { shape: matmulShape, grad: matmulGrad },
};
