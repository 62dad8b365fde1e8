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
