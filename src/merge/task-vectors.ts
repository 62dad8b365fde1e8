import { Rng } from '../util/rng.js';

/**
 * The building blocks shared by the task-vector methods (task arithmetic, TIES, DARE): a task
 * vector τ = θ_member − θ_base, sparsified one way or another, then combined and added back.
 *
 * A BERT-base embedding table has 23 M entries, so task vectors are never materialised: each
 * member's (sparsified) τ is a cursor that yields τ[i] for i = 0, 1, 2, … from the member and
 * base tensors, and the combination is one fused pass writing the output. TIES's top-k threshold
 * comes from a two-pass radix select over the float32 bit patterns of |τ| (no sorted copy), and
 * DARE's mask from a seeded generator advanced in index order. Memory: the inputs and the output.
 */

/** Yields τ[i] for i = 0, 1, … n−1, each exactly once and in order. */
export type TauCursor = (i: number) => number;

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** τ[i] = θ[i] − base[i], rounded to float32 as a stored task vector would be. */
function tauAt(member: ArrayLike<number>, base: ArrayLike<number>, i: number): number {
  return Math.fround(member[i]! - base[i]!);
}

/** Bit pattern of |x| as float32: for non-negative floats, integer order is numeric order. */
function magnitudeBits(x: number): number {
  f32[0] = Math.abs(x);
  return u32[0]!;
}

/**
 * The k-th largest |τ| (k ≥ 1) and how many entries are strictly larger, by a radix select on
 * the high then the low 16 bits of the magnitudes' float32 representation.
 */
export function kthLargestMagnitude(n: number, at: (i: number) => number, k: number): { threshold: number; above: number } {
  const high = new Float64Array(65536);
  for (let i = 0; i < n; i++) high[magnitudeBits(at(i)) >>> 16]++;
  let above = 0;
  let hb = 65535;
  while (above + high[hb]! < k) above += high[hb--]!;
  const low = new Float64Array(65536);
  for (let i = 0; i < n; i++) {
    const bits = magnitudeBits(at(i));
    if (bits >>> 16 === hb) low[bits & 0xffff]++;
  }
  let lb = 65535;
  while (above + low[lb]! < k) above += low[lb--]!;
  u32[0] = ((hb << 16) | lb) >>> 0;
  return { threshold: f32[0]!, above };
}

/** The plain task vector. */
export function fullTau(member: ArrayLike<number>, base: ArrayLike<number>): TauCursor {
  return (i) => tauAt(member, base, i);
}

/**
 * TIES "trim": keep the `density` fraction of entries with the largest magnitude, zero the rest.
 * k = round(density · n); among equal magnitudes at the threshold the lower index wins, so exactly
 * k entries survive.
 */
export function trimmedTau(member: ArrayLike<number>, base: ArrayLike<number>, density: number): TauCursor {
  const n = member.length;
  const k = Math.round(density * n);
  if (k >= n) return fullTau(member, base);
  if (k <= 0) return () => 0;
  const { threshold, above } = kthLargestMagnitude(n, (i) => tauAt(member, base, i), k);
  let atThreshold = k - above;
  return (i) => {
    const t = tauAt(member, base, i);
    const m = Math.fround(Math.abs(t));
    if (m > threshold) return t;
    if (m === threshold && atThreshold > 0) {
      atThreshold--;
      return t;
    }
    return 0;
  };
}

/**
 * DARE "drop and rescale": drop each entry with probability p = 1 − density and divide the kept
 * ones by (1 − p), so every entry keeps its expectation. The mask depends only on the seed.
 */
export function droppedTau(member: ArrayLike<number>, base: ArrayLike<number>, density: number, seed: number, rescale: boolean): TauCursor {
  if (density <= 0) return () => 0;
  const rng = new Rng(seed);
  const scale = rescale ? 1 / density : 1;
  return (i) => {
    const keep = rng.next() < density;
    return keep ? tauAt(member, base, i) * scale : 0;
  };
}

/** Array forms of the two sparsifiers (for tests and small inputs): base 0, τ given. */
export function keepTopMagnitude(tau: Float32Array, density: number): Float32Array {
  const at = trimmedTau(tau, new Float32Array(tau.length), density);
  return Float32Array.from(tau, (_, i) => at(i));
}
export function dropAndRescale(tau: Float32Array, density: number, seed: number, rescale: boolean): Float32Array {
  const at = droppedTau(tau, new Float32Array(tau.length), density, seed, rescale);
  return Float32Array.from(tau, (_, i) => at(i));
}

/** Σ w_i v_i, optionally divided by Σ w_i (the linear merge). */
export function weightedSum(vs: readonly Float32Array[], weights: readonly number[], normalize: boolean): Float32Array {
  const n = vs[0]!.length;
  const out = new Float32Array(n);
  const total = weights.reduce((a, b) => a + b, 0);
  const scale = normalize && total !== 0 ? 1 / total : 1;
  if (vs.length === 2) {
    // The common case, unrolled: about twice as fast on a BERT-base merge.
    const [a, b] = vs as [Float32Array, Float32Array];
    const wa = weights[0]! * scale;
    const wb = weights[1]! * scale;
    for (let i = 0; i < n; i++) out[i] = wa * a[i]! + wb * b[i]!;
    return out;
  }
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let m = 0; m < vs.length; m++) s += weights[m]! * vs[m]![i]!;
    out[i] = s * scale;
  }
  return out;
}

/** θ = base + λ·Σ w_i τ_i (/ Σ w_i with `normalize`). */
export function addWeightedSum(base: Float32Array, taus: readonly TauCursor[], weights: readonly number[], lambda: number, normalize: boolean): Float32Array {
  const total = weights.reduce((a, b) => a + b, 0);
  const scale = lambda * (normalize && total !== 0 ? 1 / total : 1);
  const out = new Float32Array(base.length);
  for (let i = 0; i < out.length; i++) {
    let s = 0;
    for (let m = 0; m < taus.length; m++) s += weights[m]! * taus[m]!(i);
    out[i] = base[i]! + scale * s;
  }
  return out;
}

/**
 * TIES "elect" and "disjoint merge", then θ = base + λ·τ: per entry, the elected sign is the sign
 * of Σ w_i τ_i (the side with more weighted mass); only members whose entry is non-zero and has
 * that sign contribute. With `normalize` their weighted sum is divided by their total weight (the
 * disjoint mean), otherwise it stays a sum.
 */
export function addElectedMerge(base: Float32Array, taus: readonly TauCursor[], weights: readonly number[], lambda: number, normalize: boolean): Float32Array {
  const out = new Float32Array(base.length);
  const vals = new Float64Array(taus.length);
  for (let i = 0; i < out.length; i++) {
    let mass = 0;
    for (let m = 0; m < taus.length; m++) {
      vals[m] = taus[m]!(i);
      mass += weights[m]! * vals[m]!;
    }
    const sign = Math.sign(mass);
    let sum = 0;
    let wsum = 0;
    if (sign !== 0) {
      for (let m = 0; m < taus.length; m++) {
        const t = vals[m]!;
        if (t !== 0 && Math.sign(t) === sign) {
          sum += weights[m]! * t;
          wsum += weights[m]!;
        }
      }
    }
    out[i] = base[i]! + lambda * (normalize && wsum !== 0 ? sum / wsum : sum);
  }
  return out;
}
