import { Rng } from '../util/rng.js';

/**
 * The building blocks shared by the task-vector methods (task arithmetic, TIES, DARE): a task
 * vector τ = θ_member − θ_base, sparsified one way or another, then combined and added back.
 * Vectors are float32 (a BERT-base embedding table is 23 M entries: float64 copies would double
 * the merge's memory); every sum is accumulated in float64 per entry.
 */

export function taskVector(member: Float32Array, base: Float32Array): Float32Array {
  const out = new Float32Array(member.length);
  for (let i = 0; i < out.length; i++) out[i] = member[i]! - base[i]!;
  return out;
}

/**
 * TIES "trim": keep the `density` fraction of entries with the largest magnitude, zero the rest
 * (in place). k = round(density · n); among equal magnitudes at the threshold the lower index
 * wins, so exactly k entries survive.
 */
export function keepTopMagnitude(tau: Float32Array, density: number): Float32Array {
  const n = tau.length;
  const k = Math.round(density * n);
  if (k >= n) return tau;
  if (k <= 0) return tau.fill(0);
  const sorted = new Float32Array(n);
  for (let i = 0; i < n; i++) sorted[i] = Math.abs(tau[i]!);
  sorted.sort();
  const threshold = sorted[n - k]!;
  let above = 0;
  for (let i = n - k; i < n; i++) if (sorted[i]! > threshold) above++;
  let atThreshold = k - above;
  for (let i = 0; i < n; i++) {
    const m = Math.abs(tau[i]!);
    if (m > threshold) continue;
    if (m === threshold && atThreshold > 0) atThreshold--;
    else tau[i] = 0;
  }
  return tau;
}

/**
 * DARE "drop and rescale" (in place): drop each entry with probability p = 1 − density and divide
 * the kept ones by (1 − p), so every entry keeps its expectation.
 */
export function dropAndRescale(tau: Float32Array, density: number, seed: number, rescale: boolean): Float32Array {
  if (density <= 0) return tau.fill(0);
  const rng = new Rng(seed);
  const scale = rescale ? 1 / density : 1;
  for (let i = 0; i < tau.length; i++) tau[i] = rng.next() < density ? tau[i]! * scale : 0;
  return tau;
}

/** Σ w_i v_i, optionally divided by Σ w_i. */
export function weightedSum(vs: readonly Float32Array[], weights: readonly number[], normalize: boolean): Float32Array {
  const n = vs[0]!.length;
  const out = new Float32Array(n);
  const total = weights.reduce((a, b) => a + b, 0);
  const scale = normalize && total !== 0 ? 1 / total : 1;
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let m = 0; m < vs.length; m++) s += weights[m]! * vs[m]![i]!;
    out[i] = s * scale;
  }
  return out;
}

/**
 * TIES "elect" and "disjoint merge": per entry, the elected sign is the sign of Σ w_i τ_i (the side
 * with more weighted mass); only members whose entry is non-zero and has that sign contribute. With
 * `normalize` their weighted sum is divided by their total weight (the disjoint mean), otherwise it
 * stays a sum.
 */
export function electAndMerge(taus: readonly Float32Array[], weights: readonly number[], normalize: boolean): Float32Array {
  const n = taus[0]!.length;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let mass = 0;
    for (let m = 0; m < taus.length; m++) mass += weights[m]! * taus[m]![i]!;
    const sign = Math.sign(mass);
    if (sign === 0) continue;
    let sum = 0;
    let wsum = 0;
    for (let m = 0; m < taus.length; m++) {
      const t = taus[m]![i]!;
      if (t !== 0 && Math.sign(t) === sign) {
        sum += weights[m]! * t;
        wsum += weights[m]!;
      }
    }
    out[i] = normalize && wsum !== 0 ? sum / wsum : sum;
  }
  return out;
}

/** θ = base + λ·τ. */
export function addToBase(base: Float32Array, tau: Float32Array, lambda: number): Float32Array {
  const out = new Float32Array(base.length);
  for (let i = 0; i < out.length; i++) out[i] = base[i]! + lambda * tau[i]!;
  return out;
}
