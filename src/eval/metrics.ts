/**
 * Classification metrics over row-major probabilities [n, k] and gold label indices. A
 * prediction is the argmax of a row; ties go to the lowest label index (as ONNX ArgMax does).
 */

export interface ClassificationMetrics {
  readonly n: number;
  readonly accuracy: number;
  readonly macroF1: number;
  readonly logLoss: number;
  /** Expected calibration error, 15 equal-width bins on the max probability. */
  readonly ece: number;
}

export interface ReliabilityBin {
  /** The bin holds max probabilities in [lower, upper) (the last bin also holds 1). */
  readonly lower: number;
  readonly upper: number;
  readonly count: number;
  /** Mean max probability of the bin's rows; null for an empty bin. */
  readonly confidence: number | null;
  /** Fraction of the bin's rows predicted right; null for an empty bin. */
  readonly accuracy: number | null;
}

/** Probabilities are clipped to this before the log, so one confident mistake costs ~34.5, not ∞. */
export const LOG_LOSS_EPS = 1e-15;
export const ECE_BINS = 15;

export function classificationMetrics(probs: ArrayLike<number>, labels: ArrayLike<number>, k: number): ClassificationMetrics {
  return {
    n: check(probs, labels, k),
    accuracy: accuracy(probs, labels, k),
    macroF1: macroF1(probs, labels, k),
    logLoss: logLoss(probs, labels, k),
    ece: expectedCalibrationError(probs, labels, k),
  };
}

/** argmax of each row (lowest index on ties). */
export function predictions(probs: ArrayLike<number>, k: number): Int32Array {
  const n = probs.length / k;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let j = 1; j < k; j++) if (probs[i * k + j]! > probs[i * k + best]!) best = j;
    out[i] = best;
  }
  return out;
}

export function accuracy(probs: ArrayLike<number>, labels: ArrayLike<number>, k: number): number {
  const n = check(probs, labels, k);
  const pred = predictions(probs, k);
  let right = 0;
  for (let i = 0; i < n; i++) if (pred[i] === labels[i]) right++;
  return right / n;
}

/** confusion[gold][predicted] counts. */
export function confusionMatrix(probs: ArrayLike<number>, labels: ArrayLike<number>, k: number): number[][] {
  const n = check(probs, labels, k);
  const pred = predictions(probs, k);
  const m = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  for (let i = 0; i < n; i++) m[labels[i]!]![pred[i]!]!++;
  return m;
}

/**
 * Unweighted mean over classes of F1 = 2·TP / (2·TP + FP + FN). A class that is neither in the
 * gold labels nor predicted has no F1 and is left out of the mean (as scikit-learn does when it
 * is not in `labels`).
 */
export function macroF1(probs: ArrayLike<number>, labels: ArrayLike<number>, k: number): number {
  const m = confusionMatrix(probs, labels, k);
  let sum = 0;
  let classes = 0;
  for (let c = 0; c < k; c++) {
    const tp = m[c]![c]!;
    let fp = 0;
    let fn = 0;
    for (let o = 0; o < k; o++) {
      if (o === c) continue;
      fp += m[o]![c]!;
      fn += m[c]![o]!;
    }
    if (2 * tp + fp + fn === 0) continue;
    sum += (2 * tp) / (2 * tp + fp + fn);
    classes++;
  }
  return classes === 0 ? 0 : sum / classes;
}

/** Mean −log p(gold), with p clipped to [eps, 1]. */
export function logLoss(probs: ArrayLike<number>, labels: ArrayLike<number>, k: number, eps = LOG_LOSS_EPS): number {
  const n = check(probs, labels, k);
  let s = 0;
  for (let i = 0; i < n; i++) s -= Math.log(Math.min(1, Math.max(eps, probs[i * k + labels[i]!]!)));
  return s / n;
}

/**
 * Rows grouped by their max probability into equal-width bins [b/B, (b+1)/B) (1 goes in the last
 * bin); per bin the row count, mean confidence and accuracy.
 */
export function reliabilityBins(probs: ArrayLike<number>, labels: ArrayLike<number>, k: number, bins = ECE_BINS): ReliabilityBin[] {
  const n = check(probs, labels, k);
  const count = new Array<number>(bins).fill(0);
  const conf = new Array<number>(bins).fill(0);
  const right = new Array<number>(bins).fill(0);
  const pred = predictions(probs, k);
  for (let i = 0; i < n; i++) {
    const p = probs[i * k + pred[i]!]!;
    const b = Math.min(bins - 1, Math.max(0, Math.floor(p * bins)));
    count[b]!++;
    conf[b]! += p;
    if (pred[i] === labels[i]) right[b]!++;
  }
  return count.map((c, b) => ({
    lower: b / bins,
    upper: (b + 1) / bins,
    count: c,
    confidence: c === 0 ? null : conf[b]! / c,
    accuracy: c === 0 ? null : right[b]! / c,
  }));
}

/** ECE = Σ_bins (count / n) · |accuracy − confidence| (Guo et al. 2017), on the max probability. */
export function expectedCalibrationError(probs: ArrayLike<number>, labels: ArrayLike<number>, k: number, bins = ECE_BINS): number {
  const n = check(probs, labels, k);
  let e = 0;
  for (const b of reliabilityBins(probs, labels, k, bins)) {
    if (b.count > 0) e += (b.count / n) * Math.abs(b.accuracy! - b.confidence!);
  }
  return e;
}

/** Fraction of rows where two members predict the same label (logits or probabilities: same argmax). */
export function agreement(a: ArrayLike<number>, b: ArrayLike<number>, k: number): number {
  if (a.length !== b.length || a.length % k !== 0) throw new Error(`agreement: shapes differ (${a.length} vs ${b.length} values, k = ${k})`);
  const pa = predictions(a, k);
  const pb = predictions(b, k);
  let same = 0;
  for (let i = 0; i < pa.length; i++) if (pa[i] === pb[i]) same++;
  return pa.length === 0 ? 0 : same / pa.length;
}

/** Fraction of rows that at least one member gets right: an upper bound for any selector. */
export function oracleAccuracy(members: readonly ArrayLike<number>[], labels: ArrayLike<number>, k: number): number {
  if (members.length === 0) throw new Error('oracleAccuracy: no members');
  const n = labels.length;
  const any = new Uint8Array(n);
  for (const m of members) {
    check(m, labels, k);
    const pred = predictions(m, k);
    for (let i = 0; i < n; i++) if (pred[i] === labels[i]) any[i] = 1;
  }
  let s = 0;
  for (let i = 0; i < n; i++) s += any[i]!;
  return n === 0 ? 0 : s / n;
}

function check(probs: ArrayLike<number>, labels: ArrayLike<number>, k: number): number {
  if (!Number.isInteger(k) || k < 1 || probs.length !== labels.length * k) {
    throw new Error(`metrics: ${probs.length} values do not make ${labels.length} rows of ${k}`);
  }
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i]!;
    if (!Number.isInteger(y) || y < 0 || y >= k) throw new Error(`metrics: label ${y} at row ${i} is outside 0..${k - 1}`);
  }
  return labels.length;
}
