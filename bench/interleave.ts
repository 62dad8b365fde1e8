import { median } from './timing.js';

export interface Contender {
  readonly name: string;
  readonly run: () => Promise<unknown>;
}

/**
 * Times several contenders round-robin (A B C A B C …) rather than one after another, so load
 * from other processes on a shared machine falls on all of them alike. Returns median seconds.
 */
export async function interleaved(contenders: readonly Contender[], opts: { warmup: number; reps: number }): Promise<Map<string, number[]>> {
  for (let w = 0; w < opts.warmup; w++) for (const c of contenders) await c.run();
  const times = new Map<string, number[]>(contenders.map((c) => [c.name, []]));
  for (let r = 0; r < opts.reps; r++) {
    for (const c of contenders) {
      const t0 = performance.now();
      await c.run();
      times.get(c.name)!.push((performance.now() - t0) / 1000);
    }
  }
  return times;
}

export function medians(times: Map<string, number[]>): Map<string, number> {
  return new Map([...times].map(([k, v]) => [k, median(v)]));
}
