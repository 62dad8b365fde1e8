import { minimizeScalar } from '../optim/scalar.js';
import type { FitContext, MemberOutputs } from './types.js';

/** Temperatures are searched in this range: wide enough for any sane model, and bounded so a
 * perfectly separated fit set cannot drive T to 0. */
export const TEMPERATURE_RANGE = [0.05, 20] as const;

/**
 * Temperature scaling (Guo et al. 2017): the T > 0 minimising the mean negative log-likelihood of
 * softmax(z / T). The NLL is convex in 1/T, hence unimodal in log T, so Brent's method on
 * log T over the range finds the optimum. Works on logits or on log-probabilities (a fused
 * distribution's logs are its logits up to a per-row constant).
 */
export function fitTemperature(z: ArrayLike<number>, labels: ArrayLike<number>, k: number): number {
  const n = labels.length;
  const nll = (logT: number): number => {
    const inv = Math.exp(-logT);
    let s = 0;
    for (let i = 0; i < n; i++) {
      let m = -Infinity;
      for (let j = 0; j < k; j++) m = Math.max(m, z[i * k + j]! * inv);
      let e = 0;
      for (let j = 0; j < k; j++) e += Math.exp(z[i * k + j]! * inv - m);
      s += m + Math.log(e) - z[i * k + labels[i]!]! * inv;
    }
    return s / n;
  };
  const [lo, hi] = TEMPERATURE_RANGE;
  return Math.exp(minimizeScalar(nll, Math.log(lo), Math.log(hi)).x);
}

/** One temperature per member, or all 1 when calibration is off. */
export function memberTemperatures(outputs: MemberOutputs, ctx: FitContext, calibrate: boolean): number[] {
  return outputs.members.map((m) => (calibrate ? fitTemperature(m.logits, ctx.labels, outputs.k) : 1));
}
