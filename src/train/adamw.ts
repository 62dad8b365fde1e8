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
 * One AdamW step in place, as PyTorch's `torch.optim.AdamW` does it: w ← w − lr·λ·w (for params
 * with `decay`), then m, v updated, bias-corrected, and w ← w − lr · m̂ / (√v̂ + ε). The arithmetic is
 * done in float64 per element and stored in float32, so it does not depend on thread count.
 */
export function adamwStep(
  weights: readonly Float32Array[],
  grads: readonly Float32Array[],
  decay: readonly boolean[],
  state: AdamWState,
  lr: number,
  opts: AdamWOptions = {},
): void {
  const b1 = opts.beta1 ?? 0.9;
  const b2 = opts.beta2 ?? 0.999;
  const eps = opts.eps ?? 1e-8;
  const wd = opts.weightDecay ?? 0.01;
  const scale = opts.gradScale ?? 1;
  state.step++;
  // Hoisted per step: m̂ = m / c1 and √v̂ = √(v / c2) become m · (lr / c1) and √(v · (1 / c2)).
  const a1 = 1 - b1;
  const a2 = 1 - b2;
  const lrOverC1 = lr / (1 - Math.pow(b1, state.step));
  const invC2 = 1 / (1 - Math.pow(b2, state.step));
  for (let k = 0; k < weights.length; k++) {
    const shrink = decay[k] ? 1 - lr * wd : 1;
    updateTensor(weights[k]!, grads[k]!, state.m[k]!, state.v[k]!, scale, b1, a1, b2, a2, lrOverC1, invC2, eps, shrink);
  }
}

/**
 * One pass over one tensor: read g, m, v, w once, write m, v, w once. A module-level function
 * with every scalar an argument, so the optimizing compiler keeps them in registers (a closure
 * reloads captured variables from its context on every iteration).
 */
function updateTensor(
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

/** The global L2 norm of all gradients (accumulated in float64). */
export function globalNorm(grads: readonly Float32Array[]): number {
  let sq = 0;
  for (const g of grads) {
    const n = g.length;
    for (let i = 0; i < n; i++) {
      const x = g[i]!;
      sq += x * x;
    }
  }
  return Math.sqrt(sq);
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
