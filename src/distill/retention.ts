import { percentileInterval, type BootstrapSamples, type Interval } from '../eval/bootstrap.js';
import { Rng } from '../util/rng.js';

export interface GainRetention {
  readonly student: number;
  readonly teacher: number;
  /** The most accurate member on these rows. */
  readonly bestMember: string;
  readonly best: number;
  /** (student − best) / (teacher − best); null when the teacher does not beat the best member. */
  readonly retention: number | null;
  /** 2.5% and 97.5% quantiles over paired bootstrap resamples of the rows (those where the teacher beats the best member). */
  readonly ci: readonly [number, number] | null;
  readonly rows: number;
}

/**
 * Hinton et al.'s question — how much of the ensemble's gain does one model keep? — as accuracy
 * gain retention, with a paired bootstrap over rows: each resample scores student, teacher and
 * every member on the same rows (the best member is re-chosen per resample).
 * `correct` maps a model to 0/1 per row.
 */
export function gainRetention(
  student: Uint8Array,
  teacher: Uint8Array,
  members: ReadonlyMap<string, Uint8Array>,
  opts: { resamples?: number; seed?: number } = {},
): GainRetention {
  const n = student.length;
  const acc = (c: Uint8Array, idx: ArrayLike<number> | null): number => {
    let s = 0;
    const m = idx ? idx.length : n;
    for (let i = 0; i < m; i++) s += c[idx ? idx[i]! : i]!;
    return s / m;
  };
  const point = (idx: ArrayLike<number> | null): { s: number; t: number; b: number; name: string } => {
    let name = '';
    let b = -1;
    for (const [k, c] of members) {
      const a = acc(c, idx);
      if (a > b) [b, name] = [a, k];
    }
    return { s: acc(student, idx), t: acc(teacher, idx), b, name };
  };
  const p = point(null);
  const retention = p.t > p.b ? (p.s - p.b) / (p.t - p.b) : null;
  let ci: [number, number] | null = null;
  if (retention !== null) {
    const rng = new Rng(opts.seed ?? 0);
    const vals: number[] = [];
    const idx = new Int32Array(n);
    for (let r = 0; r < (opts.resamples ?? 2000); r++) {
      for (let i = 0; i < n; i++) idx[i] = rng.int(n);
      const q = point(idx);
      if (q.t > q.b) vals.push((q.s - q.b) / (q.t - q.b));
    }
    vals.sort((a, b) => a - b);
    if (vals.length > 0) ci = [vals[Math.floor(0.025 * (vals.length - 1))]!, vals[Math.ceil(0.975 * (vals.length - 1))]!];
  }
  return { student: p.s, teacher: p.t, bestMember: p.name, best: p.b, retention, ci, rows: n };
}

/** 1 where the row's argmax is the gold label. */
export function correctness(probs: ArrayLike<number>, gold: ArrayLike<number>, k: number): Uint8Array {
  const out = new Uint8Array(gold.length);
  for (let i = 0; i < gold.length; i++) {
    let best = 0;
    for (let j = 1; j < k; j++) if (probs[i * k + j]! > probs[i * k + best]!) best = j;
    out[i] = best === gold[i] ? 1 : 0;
  }
  return out;
}

/** Gain retention of one score, its paired-bootstrap interval, and whether the teacher's gain is established at all. */
export interface ScoreRetention {
  readonly key: 'accuracy' | 'logLoss';
  readonly student: number;
  readonly teacher: number;
  /** The member with the best score on all rows (the bootstrap re-chooses it in every round). */
  readonly bestMember: string;
  readonly best: number;
  /** (student − best member) / (teacher − best member), gains taken so that larger is better (log-loss: best − model); null when the teacher does not beat the best member. */
  readonly retention: number | null;
  /** Percentile interval of the ratio over the rounds (null when retention is). */
  readonly ci: Interval | null;
  /** Percentile interval of the teacher's gain over the best member (the ratio's denominator). */
  readonly teacherGainCi: Interval;
  /** False when the denominator's interval reaches 0: the ratio is then undetermined, whatever its interval says. */
  readonly determined: boolean;
  readonly rows: number;
}

/**
 * Gain retention for accuracy or log-loss from a paired bootstrap (`src/eval/bootstrap.ts`) that
 * scored student, teacher and members on the same resampled rows: in each round the ratio is
 * recomputed (best member re-chosen), and its 2.5/97.5% percentiles are the interval. `scores`
 * holds each model's score on all rows (the point estimate).
 */
export function scoreRetention(
  samples: BootstrapSamples,
  scores: ReadonlyMap<string, { readonly accuracy: number; readonly logLoss: number }>,
  names: { readonly student: string; readonly teacher: string; readonly members: readonly string[] },
  key: 'accuracy' | 'logLoss',
): ScoreRetention {
  // Larger gain is better: accuracy as it is, log-loss negated.
  const sign = key === 'logLoss' ? -1 : 1;
  const score = (m: string): number => {
    const s = scores.get(m);
    if (!s) throw new Error(`retention: no score for ${m}`);
    return s[key];
  };
  let bestMember = names.members[0]!;
  for (const m of names.members) if (sign * score(m) > sign * score(bestMember)) bestMember = m;
  const [s, t, b] = [score(names.student), score(names.teacher), score(bestMember)];
  const denom = sign * (t - b);
  const retention = denom > 0 ? (sign * s - sign * b) / denom : null;
  const series = (m: string): Float64Array => {
    const x = samples.samples.get(m)?.[key];
    if (!x) throw new Error(`retention: no bootstrap samples for ${m}`);
    return x;
  };
  const [ss, ts, ms] = [series(names.student), series(names.teacher), names.members.map(series)];
  const ratios: number[] = [];
  const gains = new Float64Array(samples.resamples);
  for (let r = 0; r < samples.resamples; r++) {
    let bestR = -Infinity;
    for (const m of ms) bestR = Math.max(bestR, sign * m[r]!);
    gains[r] = sign * ts[r]! - bestR;
    if (gains[r]! !== 0) ratios.push((sign * ss[r]! - bestR) / gains[r]!);
  }
  const teacherGainCi = percentileInterval(gains, samples.level);
  const ci = retention !== null && ratios.length > 0 ? percentileInterval(Float64Array.from(ratios), samples.level) : null;
  return { key, student: s, teacher: t, bestMember, best: b, retention, ci, teacherGainCi, determined: retention !== null && teacherGainCi.low > 0, rows: samples.n };
}
