import { attr } from '../../../graph/onnx-builder.js';
import { inversePerm, normAxis, range } from '../shapes.js';
import type { GradContext, GradRule, ShapeContext, SymDim, SymShape } from '../types.js';

/** Gradient of a pure re-layout: reshape the incoming gradient back to the input's runtime shape. */
function reshapeBack(ctx: GradContext): (string | null)[] {
  const dy = ctx.gradOut(0);
  const rest = ctx.node.input!.slice(1).map(() => null);
  if (!dy || !ctx.needs(0)) return [null, ...rest];
  return [ctx.g.op('Reshape', [dy, ctx.g.op('Shape', [ctx.node.input![0]!])]), ...rest];
}

function reshapeShape(ctx: ShapeContext): SymShape[] {
  const x = ctx.inputs[0]!;
  const spec = ctx.constInts(1);
  if (!spec) {
    const n = ctx.inputs[1]![0];
    if (typeof n !== 'number') throw new Error('Reshape: the rank of the target shape is unknown');
    return [Array<SymDim>(n).fill(null)];
  }
  return [spec.map((d, i) => (d === 0 ? (x[i] ?? null) : d === -1 ? null : d))];
}

function unsqueezeShape(ctx: ShapeContext): SymShape[] {
  const x = ctx.inputs[0]!;
  const axes = ctx.constInts(1) ?? ctx.attrInts('axes');
  if (!axes) throw new Error('Unsqueeze: axes must be constant');
  const rank = x.length + axes.length;
  const set = new Set(axes.map((a) => normAxis(a, rank)));
  const out: SymDim[] = [];
  let k = 0;
  for (let i = 0; i < rank; i++) out.push(set.has(i) ? 1 : x[k++]!);
  return [out];
}

function squeezeShape(ctx: ShapeContext): SymShape[] {
  const x = ctx.inputs[0]!;
  const axes = ctx.constInts(1) ?? ctx.attrInts('axes');
  if (!axes) return [x.filter((d) => d !== 1)];
  const set = new Set(axes.map((a) => normAxis(a, x.length)));
  return [x.filter((_, i) => !set.has(i))];
}

function gatherShape(ctx: ShapeContext): SymShape[] {
  const [data, idx] = ctx.inputs as [SymShape, SymShape];
  const a = normAxis(ctx.attrInt('axis', 0), data.length);
  return [[...data.slice(0, a), ...idx, ...data.slice(a + 1)]];
}

/**
 * Gather's adjoint is a scatter-add of the gradient rows into zeros shaped like the data (repeated
 * ids accumulate). For axis ≠ 0 the gathered axis is moved to the front and back again.
 *
 * The scatter is ScatterElements over a [ids, row] matrix, not ScatterND: onnxruntime's ScatterND
 * with reduction add splits the ids across threads and loses updates when two threads add into one
 * row (measured at two threads: 19% off for 2,048 rows of 768 into 2 ids), while its ScatterElements
 * adds serially (exact on the same case; test/train/gather-grad-threads.test.ts holds both to it).
 */
function gatherGrad(ctx: GradContext): (string | null)[] {
  const dy = ctx.gradOut(0);
  if (!dy || !ctx.needs(0)) return [null, null];
  const g = ctx.g;
  const [data, indices] = ctx.node.input as [string, string];
  const r = ctx.inputs[0]!.length;
  const q = ctx.inputs[1]!.length;
  const a = normAxis(ctx.attrInt('axis', 0), r);
  if (a === 0) return [scatterAddRows(ctx, g.op('Shape', [data]), indices, dy), null];
  const dataPerm = [a, ...range(0, a), ...range(a + 1, r)];
  const dyPerm = [...range(a, a + q), ...range(0, a), ...range(a + q, r - 1 + q)];
  const movedShape = g.op('Gather', [g.op('Shape', [data]), ctx.ints(dataPerm)], { axis: attr.int(0) });
  const dyMoved = g.op('Transpose', [dy], { perm: attr.ints(dyPerm) });
  const scattered = scatterAddRows(ctx, movedShape, indices, dyMoved);
  return [g.op('Transpose', [scattered], { perm: attr.ints(inversePerm(dataPerm)) }), null];
}

/**
 * zeros(shape) with dy's rows added at `indices` along axis 0 — dy is [indices..., rest...] and
 * shape is [V, rest...]: both are flattened to matrices ([N, M] and [V, M]), each id broadcast
 * along its row, and ScatterElements adds element by element.
 */
function scatterAddRows(ctx: GradContext, shape: string, indices: string, dy: string): string {
  const g = ctx.g;
  const ids = g.op('Reshape', [indices, ctx.ints([-1, 1])]);
  const n = g.op('Slice', [g.op('Shape', [ids]), ctx.ints([0]), ctx.ints([1])]);
  const rows = g.op('Reshape', [dy, g.op('Concat', [n, ctx.ints([-1])], { axis: attr.int(0) })]);
  const rowsShape = g.op('Shape', [rows]);
  const v = g.op('Slice', [shape, ctx.ints([0]), ctx.ints([1])]);
  const m = g.op('Slice', [rowsShape, ctx.ints([1]), ctx.ints([2])]);
  const zeros = g.op('ConstantOfShape', [g.op('Concat', [v, m], { axis: attr.int(0) })]);
  const idsWide = g.op('Expand', [ids, rowsShape]);
  const summed = g.op('ScatterElements', [zeros, idsWide, rows], { axis: attr.int(0), reduction: attr.string('add') });
  return g.op('Reshape', [summed, shape]);
}

/**
 * GatherElements' adjoint: the gradient scattered back to the positions it was read from, adding
 * where several outputs read one element (ScatterElements with reduction add, opset 16+).
 */
function gatherElementsGrad(ctx: GradContext): (string | null)[] {
  const dy = ctx.gradOut(0);
  if (!dy || !ctx.needs(0)) return [null, null];
  const g = ctx.g;
  const [data, indices] = ctx.node.input as [string, string];
  const zeros = g.op('ConstantOfShape', [g.op('Shape', [data])]);
  return [g.op('ScatterElements', [zeros, indices, dy], { axis: attr.int(ctx.attrInt('axis', 0)), reduction: attr.string('add') }), null];
}

/** Split (opset 13: sizes from the optional `split` input, else equal parts). */
function splitShape(ctx: ShapeContext): SymShape[] {
  const x = ctx.inputs[0]!;
  const a = normAxis(ctx.attrInt('axis', 0), x.length);
  const n = ctx.node.output?.length ?? 1;
  const given = (ctx.node.input?.length ?? 0) > 1 && ctx.node.input![1] ? ctx.constInts(1) : null;
  if ((ctx.node.input?.length ?? 0) > 1 && ctx.node.input![1] && !given) throw new Error('Split: sizes must be constant');
  const d = x[a];
  const sizes: readonly SymDim[] = given ?? Array<SymDim>(n).fill(typeof d === 'number' ? d / n : null);
  return sizes.map((size) => x.map((v, i) => (i === a ? size : v)));
}

/** Split's adjoint: the outputs' gradients concatenated back, zeros for outputs the loss ignores. */
function splitGrad(ctx: GradContext): (string | null)[] {
  const rest = ctx.node.input!.slice(1).map(() => null);
  const outs = ctx.node.output ?? [];
  const grads = outs.map((_, i) => ctx.gradOut(i));
  if (!ctx.needs(0) || grads.every((gr) => !gr)) return [null, ...rest];
  const g = ctx.g;
  const parts = grads.map((gr, i) => gr ?? g.op('ConstantOfShape', [g.op('Shape', [outs[i]!])]));
  return [g.op('Concat', parts, { axis: attr.int(normAxis(ctx.attrInt('axis', 0), ctx.inputs[0]!.length)) }), ...rest];
}

export const shapeRules: Record<string, GradRule> = {
  Reshape: { shape: reshapeShape, grad: reshapeBack },
  Unsqueeze: { shape: unsqueezeShape, grad: reshapeBack },
  Squeeze: { shape: squeezeShape, grad: reshapeBack },
  Flatten: {
    shape: (ctx) => {
      const x = ctx.inputs[0]!;
      const a = normAxis(ctx.attrInt('axis', 1), x.length + 1);
      const prod = (ds: SymShape): SymDim => (ds.every((d) => typeof d === 'number') ? (ds as number[]).reduce((p, d) => p * d, 1) : null);
      return [[prod(x.slice(0, a)), prod(x.slice(a))]];
    },
    grad: reshapeBack,
  },
  Transpose: {
    shape: (ctx) => {
      const x = ctx.inputs[0]!;
      const perm = ctx.attrInts('perm') ?? range(0, x.length).reverse();
      return [perm.map((p) => x[p]!)];
    },
    grad: (ctx) => {
      const dy = ctx.gradOut(0);
      if (!dy || !ctx.needs(0)) return [null];
      const perm = ctx.attrInts('perm') ?? range(0, ctx.inputs[0]!.length).reverse();
      return [ctx.g.op('Transpose', [dy], { perm: attr.ints(inversePerm(perm)) })];
    },
  },
  Gather: { shape: gatherShape, grad: gatherGrad },
  GatherElements: { shape: (ctx) => [ctx.inputs[1]!], grad: gatherElementsGrad },
  Split: { shape: splitShape, grad: splitGrad },
  Expand: {
    shape: (ctx) => {
      const spec = ctx.constInts(1);
      const n = ctx.inputs[1]![0];
      const x = ctx.inputs[0]!;
      const rank = spec ? spec.length : typeof n === 'number' ? n : x.length;
      return [Array.from({ length: Math.max(rank, x.length) }, (_, i) => {
        const xi = x[i - (Math.max(rank, x.length) - x.length)];
        const si = spec ? spec[i - (Math.max(rank, x.length) - spec.length)] : undefined;
        return si !== undefined && si !== 1 ? si : xi ?? null;
      })];
    },
    grad: (ctx) => {
      const dy = ctx.gradOut(0);
      if (!dy || !ctx.needs(0)) return [null, null];
      return [ctx.reduceTo(dy, ctx.outputs[0]!, 0), null];
    },
  },
  Concat: {
    shape: (ctx) => {
      const first = ctx.inputs[0]!;
      const a = normAxis(ctx.attrInt('axis', 0), first.length);
      const sizes = ctx.inputs.map((s) => s[a]);
      const total = sizes.every((d) => typeof d === 'number') ? (sizes as number[]).reduce((p, d) => p + d, 0) : null;
      return [first.map((d, i) => (i === a ? total : d))];
    },
    grad: (ctx) => {
      const dy = ctx.gradOut(0);
      const ins = ctx.node.input!;
      if (!dy) return ins.map(() => null);
      const g = ctx.g;
      const a = normAxis(ctx.attrInt('axis', 0), ctx.inputs[0]!.length);
      // Each input's slice [start, start + size) along the axis, with sizes read at run time.
      let start = ctx.ints([0]);
      return ins.map((x, i) => {
        const size = g.op('Gather', [g.op('Shape', [x]), ctx.ints([a])], { axis: attr.int(0) });
        const end = g.op('Add', [start, size]);
        const out = ctx.needs(i) ? g.op('Slice', [dy, start, end, ctx.ints([a])]) : null;
        start = end;
        return out;
      });
    },
  },
};
