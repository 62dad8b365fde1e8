import assert from 'node:assert/strict';
import { test } from 'node:test';
import ort from 'onnxruntime-node';
import { attr, encodeModel, GraphBuilder } from '../../src/graph/onnx-builder.js';
import { differentiate, GradientError } from '../../src/train/autodiff/differentiate.js';
import { GRAD_RULES, differentiableOps } from '../../src/train/autodiff/registry.js';
import type { GradRule } from '../../src/train/autodiff/types.js';
import { checkOp, uniform, type CheckInput } from './grad-check.js';

// Each rule against central finite differences of a tiny random graph (float32, onnxruntime's
// own kernels for the forward pass): loss = Σ op(x)·R with a fixed random R.
const f = (dims: number[], seed: number, lo = -1, hi = 1, extra: Partial<CheckInput> = {}): CheckInput => ({
  dims,
  data: uniform(dims.reduce((a, b) => a * b, 1), seed, lo, hi),
  ...extra,
});
const ints = (values: number[], dims = [values.length]): CheckInput => ({ dims, ints: values });
/** Values in ±[0.2, 1): away from Relu's kink. */
const awayFromZero = (dims: number[], seed: number): CheckInput => {
  const c = f(dims, seed, 0.2, 1);
  const signs = uniform(c.data!.length, seed + 1);
  return { ...c, data: c.data!.map((v, i) => (signs[i]! < 0 ? -v : v)) };
};

const cases: Array<{ name: string; op: string; inputs: CheckInput[]; attrs?: Parameters<typeof checkOp>[2]; opts?: Parameters<typeof checkOp>[3] }> = [
  { name: 'Add, bias broadcast', op: 'Add', inputs: [f([2, 3, 4], 1), f([4], 2)] },
  { name: 'Add, both sides broadcast', op: 'Add', inputs: [f([2, 1, 4], 3), f([2, 3, 1], 4)] },
  { name: 'Add, dynamic axes summed at run time', op: 'Add', inputs: [f([2, 1, 4], 5, -1, 1, { declared: ['b', null, 4] }), f([2, 3, 4], 6, -1, 1, { declared: ['b', 's', 4] })] },
  { name: 'Sub', op: 'Sub', inputs: [f([3, 4], 7), f([1, 4], 8)] },
  { name: 'Mul', op: 'Mul', inputs: [f([2, 3, 4], 9), f([3, 1], 10)] },
  { name: 'Div', op: 'Div', inputs: [f([2, 3], 11), f([3], 12, 0.5, 2)] },
  { name: 'Neg', op: 'Neg', inputs: [f([5], 13)] },
  { name: 'Tanh', op: 'Tanh', inputs: [f([2, 5], 14, -2, 2)] },
  { name: 'Erf', op: 'Erf', inputs: [f([2, 5], 15, -2, 2)] },
  { name: 'Exp', op: 'Exp', inputs: [f([6], 16)] },
  { name: 'Log', op: 'Log', inputs: [f([6], 17, 0.5, 2)] },
  { name: 'Sqrt', op: 'Sqrt', inputs: [f([6], 18, 0.5, 2)] },
  { name: 'Relu', op: 'Relu', inputs: [awayFromZero([2, 6], 19)] },
  { name: 'Identity', op: 'Identity', inputs: [f([4], 20)] },
  { name: 'Cast float→float', op: 'Cast', inputs: [f([4], 21)], attrs: { to: attr.int(1) } },
  { name: 'MatMul, batched activation · 2-D weight', op: 'MatMul', inputs: [f([2, 3, 4], 22), f([4, 5], 23)] },
  { name: 'MatMul, 4-D · 4-D (attention)', op: 'MatMul', inputs: [f([2, 2, 3, 4], 24), f([2, 2, 4, 3], 25)] },
  { name: 'MatMul, broadcast batch', op: 'MatMul', inputs: [f([1, 3, 4], 26), f([2, 4, 2], 27)] },
  { name: 'MatMul, 2-D', op: 'MatMul', inputs: [f([3, 4], 28), f([4, 2], 29)] },
  { name: 'Gather axis 0, repeated ids (embedding)', op: 'Gather', inputs: [f([5, 3], 30), ints([1, 3, 1, 0, 4, 1], [2, 3])], attrs: { axis: attr.int(0) } },
  { name: 'Gather axis 1, scalar index ([CLS])', op: 'Gather', inputs: [f([2, 4, 3], 31), ints([0], [])], attrs: { axis: attr.int(1) } },
  { name: 'Gather axis 1, index vector', op: 'Gather', inputs: [f([2, 4, 3], 32), ints([3, 1, 3])], attrs: { axis: attr.int(1) } },
  { name: 'Reshape (0 copies a dim)', op: 'Reshape', inputs: [f([2, 3, 4], 33), ints([0, 0, 2, 2])] },
  { name: 'Transpose', op: 'Transpose', inputs: [f([2, 3, 4], 34)], attrs: { perm: attr.ints([2, 0, 1]) } },
  { name: 'Unsqueeze', op: 'Unsqueeze', inputs: [f([2, 3], 35), ints([1, 3])] },
  { name: 'Squeeze', op: 'Squeeze', inputs: [f([2, 1, 3], 36), ints([1])] },
  { name: 'Flatten', op: 'Flatten', inputs: [f([2, 3, 2], 37)], attrs: { axis: attr.int(1) } },
  { name: 'Expand', op: 'Expand', inputs: [f([3, 1], 38), ints([2, 3, 4])] },
  { name: 'Concat', op: 'Concat', inputs: [f([2, 3], 39), f([2, 2], 40)], attrs: { axis: attr.int(1) } },
  { name: 'Softmax', op: 'Softmax', inputs: [f([2, 3, 5], 41, -2, 2)], attrs: { axis: attr.int(-1) } },
  { name: 'LogSoftmax', op: 'LogSoftmax', inputs: [f([3, 4], 42, -2, 2)], attrs: { axis: attr.int(1) } },
  {
    name: 'LayerNormalization (x, γ, β)',
    op: 'LayerNormalization',
    inputs: [f([2, 3, 6], 43, -2, 2), f([6], 44, 0.5, 1.5), f([6], 45)],
    attrs: { axis: attr.int(-1), epsilon: attr.float(1e-5) },
  },
  { name: 'ReduceSum, keepdims 0', op: 'ReduceSum', inputs: [f([2, 3, 4], 46), ints([1])], attrs: { keepdims: attr.int(0) } },
  { name: 'ReduceSum, keepdims 1', op: 'ReduceSum', inputs: [f([2, 3, 4], 47), ints([0, 2])], attrs: { keepdims: attr.int(1) } },
  { name: 'ReduceMean, all axes', op: 'ReduceMean', inputs: [f([2, 3], 48)], attrs: { keepdims: attr.int(0) } },
  { name: 'Abs', op: 'Abs', inputs: [awayFromZero([2, 5], 51)] },
  { name: 'Sin', op: 'Sin', inputs: [f([2, 5], 52, -3, 3)] },
  { name: 'Cos', op: 'Cos', inputs: [f([2, 5], 53, -3, 3)] },
  { name: 'Where, both branches broadcast', op: 'Where', inputs: [{ dims: [2, 3], bools: [1, 0, 1, 0, 0, 1] }, f([2, 3], 54), f([3], 55)] },
  // x in ±[0.2, 1) against bounds ±0.5 given as constants: away from the kinks at the bounds.
  { name: 'Clip', op: 'Clip', inputs: [awayFromZero([3, 4], 56), { dims: [], data: Float32Array.of(-0.5), grad: false }, { dims: [], data: Float32Array.of(0.5), grad: false }] },
  { name: 'CumSum', op: 'CumSum', inputs: [f([2, 4], 57), ints([1], [])] },
  { name: 'CumSum, exclusive and reversed', op: 'CumSum', inputs: [f([3, 2], 58), ints([0], [])], attrs: { exclusive: attr.int(1), reverse: attr.int(1) } },
  {
    name: 'GatherElements, repeated indices (DeBERTa c2p)',
    op: 'GatherElements',
    inputs: [f([2, 3, 4], 59), ints([0, 3, 3, 1, 2, 2, 0, 1, 1, 1, 3, 0, 2, 0, 3, 2, 1, 1, 0, 0, 3, 3, 2, 1, 0, 1, 2, 3, 3, 3], [2, 3, 5])],
    attrs: { axis: attr.int(2) },
  },
  { name: 'Split, equal parts, loss on one output (GeGLU)', op: 'Split', inputs: [f([2, 6], 60)], attrs: { axis: attr.int(-1) }, opts: { outputs: 2, outputIndex: 1 } },
  { name: 'Split, given sizes', op: 'Split', inputs: [f([5, 2], 61), ints([2, 3])], attrs: { axis: attr.int(0) }, opts: { outputs: 2, outputIndex: 0 } },
  { name: 'BiasGelu (com.microsoft), bias broadcast', op: 'com.microsoft.BiasGelu', inputs: [f([2, 3, 4], 62, -3, 3), f([4], 63)] },
  { name: 'FastGelu (com.microsoft), bias broadcast', op: 'com.microsoft.FastGelu', inputs: [f([2, 3, 4], 64, -3, 3), f([4], 65)] },
  { name: 'ReduceMean, last axis', op: 'ReduceMean', inputs: [f([2, 3, 4], 49)], attrs: { axes: attr.ints([-1]), keepdims: attr.int(1) } },
];

for (const c of cases) {
  test(`gradient rule: ${c.name} matches central differences`, async () => {
    const r = await checkOp(c.op, c.inputs, c.attrs ?? {}, c.opts ?? {});
    assert.ok(r.checked > 0);
    if (process.env.GRAD_VERBOSE) console.log(c.name, r);
    assert.ok(r.worst <= 1, `${c.name}: max |analytic − fd| = ${r.maxAbs.toExponential(2)} (worst ratio to tolerance ${r.worst.toFixed(2)})`);
  });
}

test('every differentiable op in the rule table has a finite-difference case', () => {
  const covered = new Set(cases.map((c) => c.op));
  const missing = differentiableOps().filter((op) => !covered.has(op));
  assert.deepEqual(missing, []);
});

test('discrete ops stop the gradient cleanly; an op without a rule on the path is refused by name', async () => {
  // y = x · (x != 0) through Not(Equal): the mask is discrete, so dy/dx is the mask itself.
  const g = new GraphBuilder('discrete');
  const x = g.initializer('x', Float32Array.of(0, 1.5, -2, 0), [4]);
  const mask = g.op('Cast', [g.op('Not', [g.op('Equal', [x, g.scalarFloat(0)])])], { to: attr.int(1) });
  const loss = g.op('ReduceSum', [g.op('Mul', [x, mask])], { keepdims: attr.int(0) });
  const grads = differentiate(g, { loss, params: [x], inputShapes: {} });
  g.output(grads.get(x)!, 'dx', 'float', [4]);
  const s = await ort.InferenceSession.create(encodeModel(g.toModel()));
  assert.deepEqual(Array.from((await s.run({}))['dx']!.data as Float32Array), [0, 1, 1, 0]);

  const h = new GraphBuilder('no-rule');
  const w = h.initializer('w', Float32Array.of(1, 2), [2]);
  const m = h.op('Max', [w, h.scalarFloat(1.5)], {}, { name: 'clamp_low' });
  const l = h.op('ReduceSum', [m], { keepdims: attr.int(0) });
  assert.throws(() => differentiate(h, { loss: l, params: [w], inputShapes: {} }), (e: unknown) => e instanceof GradientError && /Max \(n_clamp_low\) has no gradient rule/.test(e.message));
});

test('the check catches a wrong rule (Tanh differentiated as Erf)', async () => {
  const rules = GRAD_RULES as Map<string, GradRule>;
  const tanh = rules.get('Tanh')!;
  rules.set('Tanh', rules.get('Erf')!);
  try {
    const r = await checkOp('Tanh', [f([4], 50, -2, 2)]);
    assert.ok(r.worst > 1, `a wrong rule passed (worst ${r.worst})`);
  } finally {
    rules.set('Tanh', tanh);
  }
});
