/** AdamW hyper-parameters (Loshchilov & Hutter 2019; PyTorch's defaults except the learning rate). */
export interface AdamWOptions {
  readonly beta1?: number;
  readonly beta2?: number;
  readonly eps?: number;
  /** Decoupled weight decay (multiplies lr·w, not the gradient). */
  readonly weightDecay?: number;
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
  state.step++;
  const c1 = 1 - Math.pow(b1, state.step);
  const c2 = 1 - Math.pow(b2, state.step);
  for (let k = 0; k < weights.length; k++) {
    const w = weights[k]!;
    const g = grads[k]!;
    const m = state.m[k]!;
    const v = state.v[k]!;
    const shrink = decay[k] ? 1 - lr * wd : 1;
    for (let i = 0; i < w.length; i++) {
      const gi = g[i]!;
      const mi = (m[i] = b1 * m[i]! + (1 - b1) * gi);
      const vi = (v[i] = b2 * v[i]! + (1 - b2) * gi * gi);
      w[i] = w[i]! * shrink - (lr * (mi / c1)) / (Math.sqrt(vi / c2) + eps);
    }
  }
}

/** Scales gradients in place so their global L2 norm is at most `maxNorm`; returns the norm before. */
export function clipGlobalNorm(grads: readonly Float32Array[], maxNorm: number): number {
  let sq = 0;
  for (const g of grads) for (let i = 0; i < g.length; i++) sq += g[i]! * g[i]!;
  const norm = Math.sqrt(sq);
  if (Number.isFinite(norm) && norm > maxNorm && maxNorm > 0) {
    const s = maxNorm / (norm + 1e-6);
    for (const g of grads) for (let i = 0; i < g.length; i++) g[i] = g[i]! * s;
  }
  return norm;
}

/** Linear warm-up to `peak` over `warmup` steps, then linear decay to 0 at `total` (BERT's schedule). */
export function learningRate(step: number, peak: number, warmup: number, total: number): number {
  if (step < warmup) return (peak * (step + 1)) / warmup;
  return peak * Math.max(0, (total - step) / Math.max(1, total - warmup));
}
