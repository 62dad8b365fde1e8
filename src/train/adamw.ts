import { createSimdUpdate } from './adamw-simd.js';

/** AdamW hyper-parameters (Loshchilov & Hutter 2019; PyTorch's defaults except the learning rate). */
export interface AdamWOptions {
  readonly beta1?: number;
  readonly beta2?: number;
  readonly eps?: number;
  /** Decoupled weight decay (multiplies lr·w, not the gradient). */
  readonly weightDecay?: number;
  /**
   * Multiplies every gradient entry as it is read (default 1): gradient clipping folded into the
   * update, so the gradients are not rewritten in a pass of their own.
   */
  readonly gradScale?: number;
}

/** First and second moments of every parameter, plus the step count: what a checkpoint must keep. */
export interface AdamWState {
  step: number;
  readonly m: Float32Array[];
  readonly v: Float32Array[];
}

export function initAdamWState(sizes: readonly number[]): AdamWState {
  return { step: 0, m: sizes.map((n) => new Float32Array(n)), v: sizes.map((n) => new Float32Array(n)) };
}

/**
 * The per-step scalars of AdamW, computed once per step in one place, so every thread that updates a
 * share of the parameters uses exactly the same numbers. m̂ = m / c1 and √v̂ = √(v / c2) become
 * m · (lr / c1) and √(v · (1 / c2)).
 */
export interface AdamWScalars {
  readonly b1: number;
  readonly a1: number;
  readonly b2: number;
  readonly a2: number;
  readonly lrOverC1: number;
  readonly invC2: number;
  readonly eps: number;
  /** 1 − lr·λ: the decoupled weight decay of a parameter with `decay`. */
  readonly shrink: number;
  /** The gradient scale (clipping). */
  readonly scale: number;
}

/** The scalars of step `step` (1-based, after the increment). */
export function adamwScalars(step: number, lr: number, opts: AdamWOptions = {}): AdamWScalars {
  const b1 = opts.beta1 ?? 0.9;
  const b2 = opts.beta2 ?? 0.999;
  return {
    b1,
    a1: 1 - b1,
    b2,
    a2: 1 - b2,
    lrOverC1: lr / (1 - Math.pow(b1, step)),
    invC2: 1 / (1 - Math.pow(b2, step)),
    eps: opts.eps ?? 1e-8,
    shrink: 1 - lr * (opts.weightDecay ?? 0.01),
    scale: opts.gradScale ?? 1,
  };
}

/**
 * One AdamW step in place, as PyTorch's `torch.optim.AdamW` does it: w ← w − lr·λ·w (for params
 * with `decay`), then m, v updated, bias-corrected, and w ← w − lr · m̂ / (√v̂ + ε). The arithmetic is
 * done in float64 per element and stored in float32, so it does not depend on thread count
 * (OptimizerPool runs the same `updateTensor` on shares of the tensors).
 */
export function adamwStep(
  weights: readonly Float32Array[],
  grads: readonly Float32Array[],
  decay: readonly boolean[],
  state: AdamWState,
  lr: number,
  opts: AdamWOptions = {},
): void {
  state.step++;
  const s = adamwScalars(state.step, lr, opts);
  for (let k = 0; k < weights.length; k++) updateTensor(weights[k]!, grads[k]!, state.m[k]!, state.v[k]!, s, decay[k]!);
}

/** This thread's WebAssembly SIMD kernel (each worker thread loads its own). */
const simdUpdate = createSimdUpdate();

/** One tensor's AdamW update with this step's scalars (`decay`: apply the weight decay). */
export function updateTensor(w: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, s: AdamWScalars, decay: boolean): void {
  checkLengths(w, g, m, v);
  const shrink = decay ? s.shrink : 1;
  const done = simdUpdate ? simdUpdate(w, g, m, v, [s.scale, s.b1, s.a1, s.b2, s.a2, s.lrOverC1, s.invC2, s.eps, shrink]) : 0;
  if (done < w.length) updateLoop(w.subarray(done), g.subarray(done), m.subarray(done), v.subarray(done), s.scale, s.b1, s.a1, s.b2, s.a2, s.lrOverC1, s.invC2, s.eps, shrink);
}

/** The same update by the plain JavaScript loop: the reference the SIMD kernel equals bit for bit. */
export function updateTensorScalar(w: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, s: AdamWScalars, decay: boolean): void {
  checkLengths(w, g, m, v);
  updateLoop(w, g, m, v, s.scale, s.b1, s.a1, s.b2, s.a2, s.lrOverC1, s.invC2, s.eps, decay ? s.shrink : 1);
}

function checkLengths(w: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array): void {
  if (g.length !== w.length || m.length !== w.length || v.length !== w.length) throw new Error(`AdamW: a tensor of ${w.length} weights got ${g.length} gradients, ${m.length}/${v.length} moments`);
}

/**
 * One pass over one tensor: read g, m, v, w once, write m, v, w once. A module-level function
 * with every scalar an argument, so the optimizing compiler keeps them in registers (a closure
 * reloads captured variables from its context on every iteration). Its time is the float64 square
 * root and division per element (measured: splitting the loop or unrolling it changes nothing), which
 * is why the SIMD kernel (adamw-simd.ts), two entries per instruction, does the bulk.
 */
function updateLoop(
  w: Float32Array,
  g: Float32Array,
  m: Float32Array,
  v: Float32Array,
  scale: number,
  b1: number,
  a1: number,
  b2: number,
  a2: number,
  lrOverC1: number,
  invC2: number,
  eps: number,
  shrink: number,
): void {
  const n = w.length;
  for (let i = 0; i < n; i++) {
    const gi = g[i]! * scale;
    const mi = b1 * m[i]! + a1 * gi;
    const vi = b2 * v[i]! + a2 * gi * gi;
    m[i] = mi;
    v[i] = vi;
    w[i] = w[i]! * shrink - (lrOverC1 * mi) / (Math.sqrt(vi * invC2) + eps);
  }
}

/**
 * The squared norm is summed in fixed chunks of this many entries per tensor, each chunk's partial
 * sum stored in its own slot and the slots added in order: the norm is the same number whichever
 * thread summed which tensor.
 */
export const NORM_CHUNK = 1 << 16;

/** How many partial sums a tensor of `n` entries has. */
export function normChunks(n: number): number {
  return Math.ceil(n / NORM_CHUNK);
}

/** Writes the partial sums of squares of `g`'s chunks to `partials[at …]`. */
export function sumSquaresInto(g: Float32Array, partials: Float64Array, at: number): void {
  const n = g.length;
  for (let c = 0, a = 0; a < n; c++, a += NORM_CHUNK) partials[at + c] = sumSquares(g, a, Math.min(n, a + NORM_CHUNK));
}

/**
 * Σ g[i]² over [a, b) in float64, as four interleaved quarter streams with their own accumulators
 * (then the tail into the first): three times faster than one accumulator, whose add latency is the
 * whole cost, and a fixed order, so the sum is exactly reproducible. Same-length subarrays with one
 * index let the compiler drop the bounds checks.
 */
function sumSquares(g: Float32Array, a: number, b: number): number {
  const q = (b - a) >> 2;
  const g0 = g.subarray(a, a + q);
  const g1 = g.subarray(a + q, a + 2 * q);
  const g2 = g.subarray(a + 2 * q, a + 3 * q);
  const g3 = g.subarray(a + 3 * q, a + 4 * q);
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  for (let i = 0; i < q; i++) {
    const x0 = g0[i]!;
    const x1 = g1[i]!;
    const x2 = g2[i]!;
    const x3 = g3[i]!;
    s0 += x0 * x0;
    s1 += x1 * x1;
    s2 += x2 * x2;
    s3 += x3 * x3;
  }
  for (let i = a + 4 * q; i < b; i++) {
    const x = g[i]!;
    s0 += x * x;
  }
  return s0 + s1 + (s2 + s3);
}

/** √ of the partial sums added in order. */
export function normOfPartials(partials: Float64Array): number {
  let sq = 0;
  for (let i = 0; i < partials.length; i++) sq += partials[i]!;
  return Math.sqrt(sq);
}

/** The global L2 norm of all gradients (float64 partial sums per fixed chunk, added in order). */
export function globalNorm(grads: readonly Float32Array[]): number {
  const partials = new Float64Array(grads.reduce((s, g) => s + normChunks(g.length), 0));
  let at = 0;
  for (const g of grads) {
    sumSquaresInto(g, partials, at);
    at += normChunks(g.length);
  }
  return normOfPartials(partials);
}

/** PyTorch's clip_grad_norm_ factor: maxNorm / (norm + 1e-6) when the norm exceeds maxNorm, else 1. */
export function clipScale(norm: number, maxNorm: number): number {
  return Number.isFinite(norm) && norm > maxNorm && maxNorm > 0 ? maxNorm / (norm + 1e-6) : 1;
}

/** Scales gradients in place so their global L2 norm is at most `maxNorm`; returns the norm before. */
export function clipGlobalNorm(grads: readonly Float32Array[], maxNorm: number): number {
  const norm = globalNorm(grads);
  const s = clipScale(norm, maxNorm);
  if (s !== 1) for (const g of grads) for (let i = 0; i < g.length; i++) g[i] = g[i]! * s;
  return norm;
}

/** Linear warm-up to `peak` over `warmup` steps, then linear decay to 0 at `total` (BERT's schedule). */
export function learningRate(step: number, peak: number, warmup: number, total: number): number {
  if (step < warmup) return (peak * (step + 1)) / warmup;
  return peak * Math.max(0, (total - step) / Math.max(1, total - warmup));
}
