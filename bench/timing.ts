/** Warm-up then repeated timing; medians because a shared 2-core machine has outliers. */
export interface Timing {
  /** Median seconds per call. */
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly reps: number;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export async function timeIt(fn: () => Promise<unknown> | unknown, opts: { warmup: number; reps: number }): Promise<Timing> {
  for (let i = 0; i < opts.warmup; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < opts.reps; i++) {
    const t0 = performance.now();
    await fn();
    times.push((performance.now() - t0) / 1000);
  }
  return { median: median(times), min: Math.min(...times), max: Math.max(...times), reps: times.length };
}
