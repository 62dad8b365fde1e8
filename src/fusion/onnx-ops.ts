import { attr, type GraphBuilder } from '../graph/onnx-builder.js';

/**
 * ONNX (opset 17) building blocks for fusion heads, each the graph twin of a function in
 * `log-probs.ts`. Values are [batch, k] unless said otherwise.
 */

/** LogSoftmax(z / T) over labels. */
export function emitLogSoftmax(g: GraphBuilder, z: string, temperature = 1, hint = 'fusion_logp'): string {
  const x = temperature === 1 ? z : g.op('Div', [z, g.scalarFloat(temperature, `${hint}_temperature`)], {}, { name: `${hint}_scaled` });
  return g.op('LogSoftmax', [x], { axis: attr.int(-1) }, { name: hint });
}

/** log Σ_m w_m·exp(logp_m): the members stacked to [M, batch, k], shifted by log w, ReduceLogSumExp over M. */
export function emitLogMixture(g: GraphBuilder, logps: readonly string[], weights: readonly number[], hint = 'fusion_mixture'): string {
  const axis0 = g.constInt64([0], [1], `${hint}_axis0`);
  const stacked = g.op('Concat', logps.map((l, m) => g.op('Unsqueeze', [l, axis0], {}, { name: `${hint}_member${m}` })), { axis: attr.int(0) }, { name: `${hint}_stacked` });
  const logw = g.constFloat(weights.map((w) => Math.log(w)), [weights.length, 1, 1], `${hint}_log_weights`);
  const shifted = g.op('Add', [stacked, logw], {}, { name: `${hint}_shifted` });
  return g.op('ReduceLogSumExp', [shifted], { axes: attr.ints([0]), keepdims: attr.int(0) }, { name: hint });
}

/** Σ_m w_m·x_m. */
export function emitWeightedSum(g: GraphBuilder, xs: readonly string[], weights: readonly number[], hint = 'fusion_sum'): string {
  const terms = xs.map((x, m) => g.op('Mul', [x, g.scalarFloat(weights[m]!, `${hint}_w${m}`)], {}, { name: `${hint}_term${m}` }));
  return terms.length === 1 ? terms[0]! : g.op('Sum', terms, {}, { name: hint });
}

/** y = x·Wᵀ + b for a row-major [k, d] weight matrix (stored transposed, [d, k], for MatMul). */
export function emitLinear(g: GraphBuilder, x: string, weights: Float64Array, bias: readonly number[] | Float64Array, k: number, d: number, hint: string): string {
  const wt = new Float32Array(d * k);
  for (let j = 0; j < k; j++) for (let t = 0; t < d; t++) wt[t * k + j] = weights[j * d + t]!;
  const mm = g.op('MatMul', [x, g.initializer(`${hint}_weight_t`, wt, [d, k])], {}, { name: `${hint}_mm` });
  return g.op('Add', [mm, g.constFloat(Float32Array.from(bias), [k], `${hint}_bias`)], {}, { name: hint });
}

/** Concatenation along the feature axis. */
export function emitConcatFeatures(g: GraphBuilder, xs: readonly string[], hint: string): string {
  return xs.length === 1 ? xs[0]! : g.op('Concat', xs, { axis: attr.int(1) }, { name: hint });
}
