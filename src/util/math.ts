/** Numerically stable softmax of each row of a row-major [n, k] array. */
export function softmaxRows(logits: Float32Array | Float64Array, k: number): Float32Array {
  const out = new Float32Array(logits.length);
  for (let r = 0; r < logits.length; r += k) {
    let m = -Infinity;
    for (let j = 0; j < k; j++) m = Math.max(m, logits[r + j]!);
    let s = 0;
    for (let j = 0; j < k; j++) s += Math.exp(logits[r + j]! - m);
    for (let j = 0; j < k; j++) out[r + j] = Math.exp(logits[r + j]! - m) / s;
  }
  return out;
}

/** log-softmax of each row, in float64 for fitting code. */
export function logSoftmaxRows(logits: ArrayLike<number>, k: number): Float64Array {
  const out = new Float64Array(logits.length);
  for (let r = 0; r < logits.length; r += k) {
    let m = -Infinity;
    for (let j = 0; j < k; j++) m = Math.max(m, logits[r + j]!);
    let s = 0;
    for (let j = 0; j < k; j++) s += Math.exp(logits[r + j]! - m);
    const lse = m + Math.log(s);
    for (let j = 0; j < k; j++) out[r + j] = logits[r + j]! - lse;
  }
  return out;
}

export function argmaxRow(data: ArrayLike<number>, row: number, k: number): number {
  let best = 0;
  for (let j = 1; j < k; j++) if (data[row * k + j]! > data[row * k + best]!) best = j;
  return best;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
