/**
 * Uncertainty for the eval table: a seeded, PAIRED bootstrap over the scored rows. Every model of
 * the table is scored on the same resampled rows in each round, so the difference of two models in
 * one round is a draw from the sampling distribution of their difference: intervals of
 * differences are far narrower than the difference of two intervals when the models agree on most
 * rows (they usually do).
 *
 * One round draws n row indices with replacement and recomputes the four scores of every model
 * from per-row facts (right or wrong, −log p(gold), the predicted label and its confidence), so a
 * round costs O(n · models), not O(n · k · models).
 */
import { ECE_BINS, LOG_LOSS_EPS, predictions } from './metrics.js';
import { Rng } from '../util/rng.js';

export interface BootstrapOptions {
  /** Resampling rounds (default 1000). */
  readonly resamples?: number;
  /** Two-sided coverage of the intervals (default 0.95). */
  readonly level?: number;
  readonly seed: number;
}

export const DEFAULT_RESAMPLES = 1000;
export const DEFAULT_LEVEL = 0.95;

/** A percentile interval [low, high]. */
export interface Interval {
  readonly low: number;
  readonly high: number;
}

export const SCORE_KEYS = ['accuracy', 'macroF1', 'logLoss', 'ece'] as const;
export type ScoreKey = (typeof SCORE_KEYS)[number];
export type ScoreIntervals = { readonly [K in ScoreKey]: Interval };

/** Per-row facts of one model, from its probabilities [n, k]. */
interface RowFacts {
  readonly pred: Int32Array;
  readonly right: Uint8Array;
  readonly loss: Float64Array;
  readonly conf: Float64Array;
}

function facts(probs: ArrayLike<number>, gold: ArrayLike<number>, k: number): RowFacts {
  const n = gold.length;
  const pred = predictions(probs, k);
  const right = new Uint8Array(n);
  const loss = new Float64Array(n);
  const conf = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    right[i] = pred[i] === gold[i] ? 1 : 0;
    loss[i] = -Math.log(Math.min(1, Math.max(LOG_LOSS_EPS, probs[i * k + gold[i]!]!)));
    conf[i] = probs[i * k + pred[i]!]!;
  }
  return { pred, right, loss, conf };
}

/** The four scores of one model on the rows `idx` (a resample), computed as src/eval/metrics.ts defines them. */
function scoresOn(f: RowFacts, gold: ArrayLike<number>, k: number, idx: Uint32Array, scratch: Float64Array): [number, number, number, number] {
  const n = idx.length;
  // scratch: k·k confusion counts, then 3 × ECE_BINS bin sums.
  scratch.fill(0);
  const bins = k * k;
  let right = 0;
  let loss = 0;
  for (let t = 0; t < n; t++) {
    const i = idx[t]!;
    right += f.right[i]!;
    loss += f.loss[i]!;
    scratch[gold[i]! * k + f.pred[i]!]! += 1;
    const c = f.conf[i]!;
    const b = Math.min(ECE_BINS - 1, Math.max(0, Math.floor(c * ECE_BINS)));
    scratch[bins + b]! += 1;
    scratch[bins + ECE_BINS + b]! += c;
    scratch[bins + 2 * ECE_BINS + b]! += f.right[i]!;
  }
  let f1 = 0;
  let classes = 0;
  for (let c = 0; c < k; c++) {
    const tp = scratch[c * k + c]!;
    let fp = 0;
    let fn = 0;
    for (let o = 0; o < k; o++) {
      if (o === c) continue;
      fp += scratch[o * k + c]!;
      fn += scratch[c * k + o]!;
    }
    if (2 * tp + fp + fn === 0) continue;
    f1 += (2 * tp) / (2 * tp + fp + fn);
    classes++;
  }
  let ece = 0;
  for (let b = 0; b < ECE_BINS; b++) {
    const count = scratch[bins + b]!;
    if (count > 0) ece += (count / n) * Math.abs(scratch[bins + 2 * ECE_BINS + b]! / count - scratch[bins + ECE_BINS + b]! / count);
  }
  return [right / n, classes === 0 ? 0 : f1 / classes, loss / n, ece];
}

/** Every model's four scores in every round: `samples[model][score][round]`. */
export interface BootstrapSamples {
  readonly resamples: number;
  readonly level: number;
  readonly seed: number;
  readonly n: number;
  /** Model name → score → one value per round (same rows for every model in a round). */
  readonly samples: ReadonlyMap<string, { readonly [K in ScoreKey]: Float64Array }>;
  /** Per-row facts, for exact tests (McNemar) that need no resampling. */
  readonly right: ReadonlyMap<string, Uint8Array>;
}

/** Runs the paired bootstrap for every model (name → probabilities [n, k] in one label order). */
export function bootstrap(models: ReadonlyMap<string, ArrayLike<number>>, gold: ArrayLike<number>, k: number, opts: BootstrapOptions): BootstrapSamples {
  const resamples = opts.resamples ?? DEFAULT_RESAMPLES;
  const level = opts.level ?? DEFAULT_LEVEL;
  if (!Number.isSafeInteger(resamples) || resamples < 1) throw new Error(`bootstrap: resamples must be a positive integer, got ${resamples}`);
  if (!(level > 0 && level < 1)) throw new Error(`bootstrap: level must be in (0, 1), got ${level}`);
  const n = gold.length;
  const all = [...models].map(([name, p]) => ({ name, f: facts(p, gold, k) }));
  const samples = new Map(all.map(({ name }) => [name, { accuracy: new Float64Array(resamples), macroF1: new Float64Array(resamples), logLoss: new Float64Array(resamples), ece: new Float64Array(resamples) }]));
  const rng = new Rng(opts.seed ^ 0x5eed5eed);
  const idx = new Uint32Array(n);
  const scratch = new Float64Array(k * k + 3 * ECE_BINS);
  for (let r = 0; r < resamples; r++) {
    for (let t = 0; t < n; t++) idx[t] = rng.int(n);
    for (const { name, f } of all) {
      const s = scoresOn(f, gold, k, idx, scratch);
      const out = samples.get(name)!;
      out.accuracy[r] = s[0];
      out.macroF1[r] = s[1];
      out.logLoss[r] = s[2];
      out.ece[r] = s[3];
    }
  }
  return { resamples, level, seed: opts.seed, n, samples, right: new Map(all.map(({ name, f }) => [name, f.right])) };
}

/** The (1−level)/2 and (1+level)/2 quantiles (linear interpolation between order statistics). */
export function percentileInterval(values: Float64Array, level: number): Interval {
  const sorted = Float64Array.from(values).sort();
  const q = (p: number): number => {
    if (sorted.length === 1) return sorted[0]!;
    const h = (sorted.length - 1) * p;
    const lo = Math.floor(h);
    const hi = Math.min(sorted.length - 1, lo + 1);
    return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
  };
  return { low: q((1 - level) / 2), high: q((1 + level) / 2) };
}

export function scoreIntervals(b: BootstrapSamples, model: string): ScoreIntervals {
  const s = b.samples.get(model);
  if (!s) throw new Error(`bootstrap: no samples for ${model}`);
  return {
    accuracy: percentileInterval(s.accuracy, b.level),
    macroF1: percentileInterval(s.macroF1, b.level),
    logLoss: percentileInterval(s.logLoss, b.level),
    ece: percentileInterval(s.ece, b.level),
  };
}

/** Paired difference `a − b` of one score: its interval over the rounds and the share of rounds with a ≥ b. */
export interface PairedDifference {
  readonly interval: Interval;
  /** Fraction of rounds in which a − b > 0, and ≥ 0 (ties count in the second). */
  readonly above: number;
  readonly atLeast: number;
}

export function pairedDifference(b: BootstrapSamples, a: string, c: string, key: ScoreKey): PairedDifference {
  const sa = b.samples.get(a)?.[key];
  const sc = b.samples.get(c)?.[key];
  if (!sa || !sc) throw new Error(`bootstrap: no samples for ${sa ? c : a}`);
  const d = new Float64Array(sa.length);
  let above = 0;
  let atLeast = 0;
  for (let r = 0; r < d.length; r++) {
    d[r] = sa[r]! - sc[r]!;
    if (d[r]! > 0) above++;
    if (d[r]! >= 0) atLeast++;
  }
  return { interval: percentileInterval(d, b.level), above: above / d.length, atLeast: atLeast / d.length };
}

/**
 * One-sided bootstrap p-value that model `a` has LOWER log-loss than `c`: the share of rounds in
 * which it does not, with the usual +1 so a p-value is never 0 from finitely many rounds.
 */
export function logLossPValue(b: BootstrapSamples, a: string, c: string): number {
  const d = pairedDifference(b, a, c, 'logLoss');
  return (1 + d.atLeast * b.resamples) / (1 + b.resamples);
}

/** P[Binomial(n, p) ≤ x], summed in log space (exact enough for p-values; n is a row count). */
export function binomialCdf(x: number, n: number, p: number): number {
  let logC = 0;
  let sum = 0;
  for (let i = 0; i <= x; i++) {
    if (i > 0) logC += Math.log(n - i + 1) - Math.log(i);
    sum += Math.exp(logC + i * Math.log(p) + (n - i) * Math.log1p(-p));
  }
  return Math.min(1, sum);
}

/**
 * Exact McNemar test on paired right/wrong outcomes: among the discordant rows (one model right,
 * the other wrong: b rows for a, c rows for the other), under H0 each is a fair coin, so the
 * two-sided p-value is min(1, 2 · P[Binomial(b + c, ½) ≤ min(b, c)]).
 */
export function mcnemarExact(b: number, c: number): number {
  if (!Number.isSafeInteger(b) || !Number.isSafeInteger(c) || b < 0 || c < 0) throw new Error(`mcnemar: counts must be whole numbers ≥ 0, got ${b}, ${c}`);
  const m = b + c;
  if (m === 0) return 1;
  return Math.min(1, 2 * binomialCdf(Math.min(b, c), m, 0.5));
}

/** Discordant counts of two models' per-row outcomes: rows only `a` gets right, rows only `c` does. */
export function discordant(b: BootstrapSamples, a: string, c: string): { readonly onlyA: number; readonly onlyB: number } {
  const ra = b.right.get(a);
  const rc = b.right.get(c);
  if (!ra || !rc) throw new Error(`bootstrap: no outcomes for ${ra ? c : a}`);
  let onlyA = 0;
  let onlyB = 0;
  for (let i = 0; i < ra.length; i++) {
    if (ra[i] && !rc[i]) onlyA++;
    else if (!ra[i] && rc[i]) onlyB++;
  }
  return { onlyA, onlyB };
}
