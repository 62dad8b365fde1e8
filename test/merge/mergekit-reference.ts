/**
 * mergekit's formulas written out again for the tests, in float64 over plain arrays, from
 * mergekit's sources read as a specification (merge_methods/*.py, sparsify.py): no bertfuse code.
 */

export type Vec = Float64Array;

/** Indices sorted by |v| descending, ties by index ascending. */
function byMagnitudeDesc(v: Vec): number[] {
  return Array.from(v.keys()).sort((i, j) => Math.abs(v[j]!) - Math.abs(v[i]!) || i - j);
}

/** Keep the entries whose descending-|v| rank is in [lo, hi). */
function keepRanks(v: Vec, lo: number, hi: number): Vec {
  const out = new Float64Array(v.length);
  byMagnitudeDesc(v).forEach((i, rank) => {
    if (rank >= lo && rank < hi) out[i] = v[i]!;
  });
  return out;
}

/** sparsify.magnitude: top int(density·n) entries. */
export function magnitude(v: Vec, density: number): Vec {
  if (density >= 1) return v;
  return keepRanks(v, 0, Math.trunc(density * v.length));
}

/** sparsify.magnitude_outliers: drop int(γ·n) largest, then the smallest, keeping int(density·n). */
export function magnitudeOutliers(v: Vec, density: number, gamma: number): Vec {
  if (density >= 1) return v;
  const n = v.length;
  const target = Math.trunc(density * n);
  let nTop = Math.trunc(gamma * n);
  const nBot = n - target - nTop;
  if (nBot < 0) nTop += nBot;
  return keepRanks(v, nTop, nTop + target);
}

export interface Member {
  readonly tau: Vec;
  readonly weight: number;
}

/**
 * GeneralizedTaskArithmeticMerge.execute after sparsification: weighted deltas, optional `sum`
 * consensus (majority sign of Σ w·τ, + when ≥ 0), normalize by Σ w (or Σ w over the mask), λ.
 */
export function gta(base: Vec, members: readonly Member[], o: { consensus: boolean; normalize: boolean; lambda?: number }): Vec {
  const out = new Float64Array(base.length);
  for (let i = 0; i < base.length; i++) {
    const wd = members.map((m) => m.weight * m.tau[i]!);
    let mixed: number;
    let divisor: number;
    if (o.consensus) {
      const majority = wd.reduce((a, b) => a + b, 0) >= 0 ? 1 : -1;
      const mask = wd.map((x) => Math.sign(x) === majority);
      mixed = wd.reduce((a, x, m) => a + (mask[m] ? x : 0), 0);
      divisor = members.reduce((a, m, k) => a + (mask[k] ? m.weight : 0), 0);
      if (divisor === 0) divisor = 1;
    } else {
      mixed = wd.reduce((a, b) => a + b, 0);
      divisor = members.reduce((a, m) => a + m.weight, 0);
      if (Math.abs(divisor) < 1e-8) divisor = 1;
    }
    if (o.normalize) mixed /= divisor;
    out[i] = base[i]! + mixed * (o.lambda ?? 1);
  }
  return out;
}

export function sub(a: Vec, b: Vec): Vec {
  return a.map((x, i) => x - b[i]!);
}

function norm(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!;
  return Math.sqrt(s);
}

/** merge_methods/slerp.py: normalise (unless norm ≤ 1e-8), lerp above |dot| 0.9995. */
export function slerp(t: number, v0: Vec, v1: Vec): Vec {
  const n0 = norm(v0);
  const n1 = norm(v1);
  const u0 = n0 > 1e-8 ? v0.map((x) => x / n0) : v0;
  const u1 = n1 > 1e-8 ? v1.map((x) => x / n1) : v1;
  const dot = u0.reduce((a, x, i) => a + x * u1[i]!, 0);
  if (Math.abs(dot) > 0.9995) return v0.map((x, i) => (1 - t) * x + t * v1[i]!);
  const theta0 = Math.acos(dot);
  const s0 = Math.sin(theta0 - theta0 * t) / Math.sin(theta0);
  const s1 = Math.sin(theta0 * t) / Math.sin(theta0);
  return v0.map((x, i) => s0 * x + s1 * v1[i]!);
}

/** merge_methods/nuslerp.py's nuslerp() over a list of vectors (flatten: one vector). */
export function nuslerpVectors(t: number, v0: readonly Vec[], v1: readonly Vec[]): Vec[] {
  return v0.map((a, k) => {
    const b = v1[k]!;
    const na = Math.max(norm(a), 1e-7);
    const nb = Math.max(norm(b), 1e-7);
    const cos = a.reduce((s, x, i) => s + (x / na) * (b[i]! / nb), 0);
    const theta = Math.acos(Math.min(1, Math.max(-1, cos)));
    const sin = Math.sin(theta);
    if (Math.abs(sin) < 1e-8) return a.map((x, i) => (1 - t) * x + t * b[i]!);
    return a.map((x, i) => (Math.sin((1 - t) * theta) * x + Math.sin(t * theta) * b[i]!) / sin);
  });
}

/** merge_methods/model_stock.py over one vector (the flattened tensor or one row). */
export function modelStock(w0: Vec, ws: readonly Vec[]): Vec {
  const offsets = ws.map((w) => sub(w, w0));
  const cos: number[] = [];
  for (let i = 0; i < offsets.length; i++) {
    for (let j = i + 1; j < offsets.length; j++) {
      const dot = offsets[i]!.reduce((s, x, k) => s + x * offsets[j]![k]!, 0);
      cos.push(Math.min(1, Math.max(-1, dot / Math.max(norm(offsets[i]!) * norm(offsets[j]!), 1e-6))));
    }
  }
  const c = cos.reduce((a, b) => a + b, 0) / cos.length;
  const N = ws.length;
  const t = (N * c) / (1 + (N - 1) * c);
  return w0.map((x, i) => t * (ws.reduce((s, w) => s + w[i]!, 0) / N) + (1 - t) * x);
}

/** Rows of a row-major [rows, cols] array. */
export function rows(v: Vec, cols: number): Vec[] {
  return Array.from({ length: v.length / cols }, (_, r) => v.slice(r * cols, (r + 1) * cols));
}

/** Round to bfloat16 (nearest even) through the float32 bit pattern. */
export function bf16(x: number): number {
  const f = new Float32Array([x]);
  const u = new Uint32Array(f.buffer);
  const lsb = (u[0]! >>> 16) & 1;
  u[0] = ((u[0]! + 0x7fff + lsb) >>> 16) << 16;
  return f[0]!;
}
