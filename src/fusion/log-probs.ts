/**
 * Float64 row operations on row-major [n, k] arrays, the in-process twin of the ONNX nodes in
 * `onnx-ops.ts`: every fusion's `apply` is written with these so it reads like its `emit`.
 */

/** log softmax(z / T) per row. */
export function logSoftmax(z: ArrayLike<number>, k: number, temperature = 1): Float64Array {
  const out = new Float64Array(z.length);
  for (let r = 0; r < z.length; r += k) {
    let m = -Infinity;
    for (let j = 0; j < k; j++) m = Math.max(m, z[r + j]! / temperature);
    let s = 0;
    for (let j = 0; j < k; j++) s += Math.exp(z[r + j]! / temperature - m);
    const lse = m + Math.log(s);
    for (let j = 0; j < k; j++) out[r + j] = z[r + j]! / temperature - lse;
  }
  return out;
}

/** log Σ_m w_m·exp(logp_m), per entry: the log of a weighted mixture of distributions. */
export function logMixture(logps: readonly Float64Array[], weights: readonly number[]): Float64Array {
  const len = logps[0]!.length;
  const logw = weights.map((w) => Math.log(w));
  const out = new Float64Array(len);
  for (let i = 0; i < len; i++) {
    let m = -Infinity;
    for (let j = 0; j < logps.length; j++) m = Math.max(m, logw[j]! + logps[j]![i]!);
    let s = 0;
    for (let j = 0; j < logps.length; j++) s += Math.exp(logw[j]! + logps[j]![i]! - m);
    out[i] = m + Math.log(s);
  }
  return out;
}

/** Σ_m w_m·x_m, entrywise. */
export function weightedSum(xs: readonly Float64Array[], weights: readonly number[]): Float64Array {
  const out = new Float64Array(xs[0]!.length);
  xs.forEach((x, m) => {
    for (let i = 0; i < out.length; i++) out[i] += weights[m]! * x[i]!;
  });
  return out;
}

export function exp(x: Float64Array): Float64Array {
  return x.map(Math.exp);
}

/** Row maxima. */
export function rowMax(x: Float64Array, k: number): Float64Array {
  const out = new Float64Array(x.length / k);
  for (let i = 0; i < out.length; i++) {
    let m = -Infinity;
    for (let j = 0; j < k; j++) m = Math.max(m, x[i * k + j]!);
    out[i] = m;
  }
  return out;
}

/** The label index of each row's largest value (lowest index on ties, like ONNX ArgMax). */
export function rowArgmax(x: ArrayLike<number>, k: number): Int32Array {
  const out = new Int32Array(x.length / k);
  for (let i = 0; i < out.length; i++) {
    let best = 0;
    for (let j = 1; j < k; j++) if (x[i * k + j]! > x[i * k + best]!) best = j;
    out[i] = best;
  }
  return out;
}

/** Mean −log p(gold) of log-probabilities. */
export function meanNll(logp: ArrayLike<number>, labels: ArrayLike<number>, k: number): number {
  let s = 0;
  for (let i = 0; i < labels.length; i++) s -= logp[i * k + labels[i]!]!;
  return s / labels.length;
}
