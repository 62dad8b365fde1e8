import { Rng } from '../util/rng.js';

/**
 * The building blocks shared by the task-vector methods (task arithmetic, TIES, DARE, DELLA,
 * Breadcrumbs — mergekit's "generalized task arithmetic"): a task
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

/** Makes a fresh cursor over the same sparsified τ (an L1 rescale reads it twice). */
type TauFactory = () => TauCursor;

/**
 * The entries whose rank in (|τ| descending, index ascending) order lies in [lo, hi): a top-k set
 * is a prefix of that order, so the window is "in the top hi and not in the top lo". The radix
 * selects run once; each factory call replays the tie budgets from the start.
 */
function rankWindow(member: ArrayLike<number>, base: ArrayLike<number>, lo: number, hi: number): TauFactory {
  const n = member.length;
  const at = (i: number): number => tauAt(member, base, i);
  const top = (k: number): (() => (m: number) => boolean) => {
    if (k >= n) return () => () => true;
    if (k <= 0) return () => () => false;
    const { threshold, above } = kthLargestMagnitude(n, at, k);
    return () => {
      let budget = k - above;
      return (m) => m > threshold || (m === threshold && budget-- > 0);
    };
  };
  const inHi = top(hi);
  const inLo = top(lo);
  return () => {
    const h = inHi();
    const l = inLo();
    return (i) => {
      const t = at(i);
      const m = Math.fround(Math.abs(t));
      const kept = h(m);
      return l(m) || !kept ? 0 : t;
    };
  };
}

/**
 * TIES "trim" (mergekit's `magnitude`): keep the k = floor(density · n) entries with the largest
 * |τ|; among equal magnitudes at the threshold the lower index wins, so exactly k survive.
 */
function magnitudeTau(member: ArrayLike<number>, base: ArrayLike<number>, density: number): TauFactory {
  return rankWindow(member, base, 0, Math.floor(density * member.length));
}

/**
 * Model Breadcrumbs (mergekit's `magnitude_outliers`): drop the floor(γ·n) largest |τ| as
 * outliers, then the smallest, keeping floor(density · n) entries (fewer outliers are dropped when
 * both do not fit).
 */
function outliersTau(member: ArrayLike<number>, base: ArrayLike<number>, density: number, gamma: number): TauFactory {
  const n = member.length;
  const target = Math.floor(density * n);
  const nTop = Math.min(Math.floor(gamma * n), n - target);
  return rankWindow(member, base, nTop, nTop + target);
}

/** DARE (mergekit's `random`): keep each entry with probability density, from a seeded generator in index order. */
function randomTau(member: ArrayLike<number>, base: ArrayLike<number>, density: number, seed: number): TauFactory {
  return () => {
    const rng = new Rng(seed);
    return (i) => (rng.next() < density ? tauAt(member, base, i) : 0);
  };
}

/**
 * DELLA's MagPrune (mergekit's `della_magprune`): within each row (the last axis; a vector is
 * one row), rank entries by |τ| ascending; the entry of normalised rank r ∈ [0, 1] is kept with
 * probability density − ε + 2ε·r, so large entries survive more often.
 */
function dellaTau(member: ArrayLike<number>, base: ArrayLike<number>, density: number, epsilon: number, seed: number, rowLength: number): TauFactory {
  const probs = new Float64Array(rowLength);
  const order = new Int32Array(rowLength);
  const mags = new Float64Array(rowLength);
  const rowProbs = (row: number): void => {
    const off = row * rowLength;
    for (let j = 0; j < rowLength; j++) {
      mags[j] = Math.abs(tauAt(member, base, off + j));
      order[j] = j;
    }
    order.sort((x, y) => mags[x]! - mags[y]! || x - y);
    for (let r = 0; r < rowLength; r++) probs[order[r]!] = density - epsilon + (rowLength > 1 ? r / (rowLength - 1) : 0) * 2 * epsilon;
  };
  return () => {
    const rng = new Rng(seed);
    let row = -1;
    return (i) => {
      const r = Math.floor(i / rowLength);
      if (r !== row) rowProbs((row = r));
      return rng.next() < probs[i - r * rowLength]! ? tauAt(member, base, i) : 0;
    };
  };
}

export type RescaleMode = 'none' | 'l1' | 'density';

/** The `rescale` parameter as a mode: true is mergekit's L1 rescale. */
export function rescaleMode(v: boolean | number | string): RescaleMode {
  if (v === true || v === 'l1') return 'l1';
  if (v === 'density') return 'density';
  return 'none';
}

/**
 * Rescale the kept entries: `density` divides by the density (each entry keeps its expectation);
 * `l1` multiplies by ‖τ‖₁ / ‖kept‖₁ over the tensor, unless either is below 1e-7 (mergekit's
 * `rescaled_masked_tensor`).
 */
function rescaled(member: ArrayLike<number>, base: ArrayLike<number>, make: TauFactory, mode: RescaleMode, density: number): TauCursor {
  if (mode === 'none') return make();
  if (mode === 'density') {
    if (density <= 0) return () => 0;
    const c = make();
    return (i) => c(i) / density;
  }
  const c = make();
  let before = 0;
  let after = 0;
  for (let i = 0; i < member.length; i++) {
    before += Math.abs(tauAt(member, base, i));
    after += Math.abs(c(i));
  }
  if (before < 1e-7 || after < 1e-7) return make();
  const scale = before / after;
  const again = make();
  return (i) => again(i) * scale;
}

export type Sparsification = 'magnitude' | 'random' | 'magnitude_outliers' | 'della';

export interface SparsifyOptions {
  readonly density: number;
  readonly rescale: RescaleMode;
  /** Seed of the random methods' masks. */
  readonly seed: number;
  /** Breadcrumbs: fraction of the largest entries dropped as outliers. */
  readonly gamma: number;
  /** DELLA: spread of the keep probabilities around density. */
  readonly epsilon: number;
  /** DELLA ranks within rows of this length (the tensor's last axis). */
  readonly rowLength: number;
}

/**
 * A member's task vector sparsified the way mergekit's `sparsify` does. density ≥ 1 leaves it
 * whole (and unscaled), as mergekit does.
 */
export function sparseTau(how: Sparsification | null, member: ArrayLike<number>, base: ArrayLike<number>, o: SparsifyOptions): TauCursor {
  if (how === null || o.density >= 1) return fullTau(member, base);
  if (how === 'della' && o.density <= 0) return () => 0;
  const make =
    how === 'magnitude'
      ? magnitudeTau(member, base, o.density)
      : how === 'magnitude_outliers'
        ? outliersTau(member, base, o.density, o.gamma)
        : how === 'random'
          ? randomTau(member, base, o.density, o.seed)
          : dellaTau(member, base, o.density, o.epsilon, o.seed, o.rowLength);
  return rescaled(member, base, make, o.rescale, o.density);
}

/** Array form (for tests and small inputs): base 0, τ given. */
export function sparsifyArray(how: Sparsification, tau: Float32Array, o: Partial<SparsifyOptions> & { density: number }): Float32Array {
  const at = sparseTau(how, tau, new Float32Array(tau.length), { rescale: 'none', seed: 0, gamma: 0.01, epsilon: 0.15, rowLength: tau.length, ...o });
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

/**
 * θ = base + λ·Σ w_i τ_i, with `normalize` divided by Σ w_i (left alone when |Σ w_i| < 1e-8, as
 * mergekit does).
 */
export function addWeightedSum(base: Float32Array, taus: readonly TauCursor[], weights: readonly number[], lambda: number, normalize: boolean): Float32Array {
  const total = weights.reduce((a, b) => a + b, 0);
  const scale = lambda * (normalize && Math.abs(total) >= 1e-8 ? 1 / total : 1);
  const out = new Float32Array(base.length);
  for (let i = 0; i < out.length; i++) {
    let s = 0;
    for (let m = 0; m < taus.length; m++) s += weights[m]! * taus[m]!(i);
    out[i] = base[i]! + scale * s;
  }
  return out;
}

/**
 * TIES "elect" and "disjoint merge" (mergekit's `sum` consensus), then θ = base + λ·τ: per entry
 * the elected sign is that of Σ w_i τ_i (+ when it is 0); the weighted entries w_i τ_i with that
 * sign are summed, and with `normalize` divided by the sum of their weights (by 1 when none).
 */
export function addElectedMerge(base: Float32Array, taus: readonly TauCursor[], weights: readonly number[], lambda: number, normalize: boolean): Float32Array {
  const out = new Float32Array(base.length);
  const vals = new Float64Array(taus.length);
  for (let i = 0; i < out.length; i++) {
    let mass = 0;
    for (let m = 0; m < taus.length; m++) {
      vals[m] = weights[m]! * taus[m]!(i);
      mass += vals[m]!;
    }
    const sign = mass >= 0 ? 1 : -1;
    let sum = 0;
    let wsum = 0;
    for (let m = 0; m < taus.length; m++) {
      if (Math.sign(vals[m]!) === sign) {
        sum += vals[m]!;
        wsum += weights[m]!;
      }
    }
    out[i] = base[i]! + lambda * (normalize && wsum !== 0 ? sum / wsum : sum);
  }
  return out;
}
