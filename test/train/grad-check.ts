import ort from 'onnxruntime-node';
import { GraphBuilder, encodeModel, type Attr } from '../../src/graph/onnx-builder.js';
import { differentiate } from '../../src/train/autodiff/differentiate.js';
import type { SymShape } from '../../src/train/autodiff/types.js';
import { Rng } from '../../src/util/rng.js';

export interface CheckInput {
  readonly dims: readonly number[];
  /** Float values, or int64 constants (indices, shapes, axes) when `ints` is given. */
  readonly data?: Float32Array;
  readonly ints?: readonly number[];
  /** A boolean constant (Where's condition), given as 0/1. */
  readonly bools?: readonly number[];
  /** Differentiate with respect to this input (float only; default true for floats). */
  readonly grad?: boolean;
  /** Shape the differentiator is told (symbols for dynamic axes); default the real dims. */
  readonly declared?: SymShape;
}

export interface CheckResult {
  /** Largest |analytic − finite difference| over every checked element. */
  readonly maxAbs: number;
  /** Largest of |analytic − fd| / (tolerance) — ≤ 1 passes. */
  readonly worst: number;
  readonly checked: number;
}

const session = (bytes: Uint8Array): Promise<ort.InferenceSession> =>
  ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, graphOptimizationLevel: 'disabled', logSeverityLevel: 3 });

/**
 * Builds `op(inputs)`, a scalar loss Σ y·R with a fixed random R, differentiates it with the
 * rule table, and compares each gradient element with a central difference of the loss computed
 * by onnxruntime (float32, step `eps`). Tolerance per element: abs + rel·|fd|.
 */
export async function checkOp(
  op: string,
  inputs: readonly CheckInput[],
  attrs: Record<string, Attr> = {},
  opts: { outputIndex?: number; outputs?: number; eps?: number; abs?: number; rel?: number; seed?: number } = {},
): Promise<CheckResult> {
  const rng = new Rng(opts.seed ?? 7);
  const build = (R: Float32Array | null, dims: readonly number[]): { bytes: Uint8Array; params: string[] } => {
    const g = new GraphBuilder('check');
    const names: string[] = [];
    const params: string[] = [];
    const shapes: Record<string, SymShape> = {};
    inputs.forEach((inp, i) => {
      if (inp.ints) {
        names.push(g.constInt64([...inp.ints], [...inp.dims], `c${i}`));
      } else if (inp.bools) {
        names.push(g.op('Cast', [g.constInt64([...inp.bools], [...inp.dims], `b${i}`)], { to: { kind: 'int', value: 9 } }));
      } else {
        const name = g.initializer(`x${i}`, inp.data!, inp.dims);
        names.push(name);
        if (inp.grad !== false) params.push(name);
        if (inp.declared) shapes[name] = inp.declared;
      }
    });
    // `domain.Op` names a contrib op (com.microsoft.BiasGelu).
    const dot = op.lastIndexOf('.');
    const outs = g.node(op.slice(dot + 1), names, attrs, { outputs: opts.outputs ?? 1, ...(dot > 0 ? { domain: op.slice(0, dot) } : {}) });
    const y = outs[opts.outputIndex ?? 0]!;
    if (!R) {
      g.output(y, 'y', 'float', dims);
    } else {
      const loss = g.op('ReduceSum', [g.op('Mul', [y, g.constFloat(R, dims, 'R')])], { keepdims: { kind: 'int', value: 0 } });
      const grads = differentiate(g, { loss, params, inputShapes: shapes });
      g.output(loss, 'loss', 'float', []);
      params.forEach((p, k) => {
        const gr = grads.get(p);
        if (!gr) throw new Error(`no gradient for input ${k}`);
        g.output(gr, `grad${k}`, 'float', g.initializerData(p)!.dims);
      });
    }
    for (const p of params) g.promoteToInput(p);
    return { bytes: encodeModel(g.toModel()), params };
  };

  const floats = inputs.filter((i) => !i.ints && !i.bools);
  const feedsFor = (params: string[], values: Float32Array[]): Record<string, ort.Tensor> =>
    Object.fromEntries(params.map((p, k) => [p, new ort.Tensor('float32', values[k]!, [...floats.filter((f) => f.grad !== false)[k]!.dims])]));

  // 1. forward once for the output's shape
  const probe = build(null, []);
  const probeSession = await session(probe.bytes);
  const trainable = floats.filter((f) => f.grad !== false);
  const y = (await probeSession.run(feedsFor(probe.params, trainable.map((f) => f.data!))))['y']!;
  const R = Float32Array.from({ length: y.data.length }, () => rng.normal());

  // 2. the gradient graph
  const { bytes, params } = build(R, y.dims);
  const s = await session(bytes);
  const values = trainable.map((f) => Float32Array.from(f.data!));
  const res = await s.run(feedsFor(params, values));
  const eps = opts.eps ?? 1e-2;
  const abs = opts.abs ?? 2e-3;
  const rel = opts.rel ?? 2e-3;
  let maxAbs = 0;
  let worst = 0;
  let checked = 0;
  const lossAt = async (): Promise<number> => Number((await s.run(feedsFor(params, values), ['loss']))['loss']!.data[0]);
  for (let k = 0; k < params.length; k++) {
    const grad = res[`grad${k}`]!.data as Float32Array;
    const v = values[k]!;
    if (grad.length !== v.length) throw new Error(`gradient ${k} has ${grad.length} values for ${v.length} inputs`);
    for (let j = 0; j < v.length; j++) {
      const x0 = v[j]!;
      v[j] = x0 + eps;
      const up = await lossAt();
      v[j] = x0 - eps;
      const down = await lossAt();
      v[j] = x0;
      // The step actually taken in float32, not the nominal eps.
      const h = Math.fround(x0 + eps) - Math.fround(x0 - eps);
      const fd = (up - down) / h;
      const err = Math.abs(grad[j]! - fd);
      maxAbs = Math.max(maxAbs, err);
      worst = Math.max(worst, err / (abs + rel * Math.abs(fd)));
      checked++;
    }
  }
  return { maxAbs, worst, checked };
}

/** Deterministic float data in [lo, hi). */
export function uniform(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const r = new Rng(seed);
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * r.next());
}
