import type { BertConfig } from '../src/checkpoint/config.js';
import { createSession, type RuntimeOptions, type Session } from '../src/runtime/session.js';
import { syntheticFeeds } from './feeds.js';
import type { Contender } from './interleave.js';
import type { BenchSize } from './models.js';

export interface BenchOptions {
  readonly size: BenchSize;
  /** Fewer sizes and repetitions: a smoke run. */
  readonly quick: boolean;
  /** [batch, seq] pairs for the throughput table. */
  readonly sizes: readonly (readonly [number, number])[];
  readonly warmup: number;
  /** Timed repetitions per measurement (large sizes use fewer, see repsFor). */
  readonly reps: number;
  /** Run the PyTorch peer when python3 can import torch. */
  readonly torch: boolean;
  /** BENCHMARKS.md to write (null: do not write). */
  readonly out: string | null;
  /** Where raw results go as JSON (null: nowhere). */
  readonly json: string | null;
  /** The command line, for the report. */
  readonly command: string;
  readonly python: string;
}

export interface BenchContext {
  readonly opts: BenchOptions;
  readonly tmp: string;
  readonly members: readonly [string, string];
  readonly config: BertConfig;
  /** Progress on stderr; the bench is a script, not the library. */
  readonly log: (msg: string) => void;
}

export interface SectionResult {
  /** `## title` in BENCHMARKS.md. */
  readonly title: string;
  readonly markdown: string;
  readonly data: unknown;
}

/** Fewer repetitions for the long runs, so BERT-base at batch 32 × 128 does not eat the budget. */
export function repsFor(ctx: BenchContext, batch: number, seq: number): number {
  if (ctx.opts.quick) return Math.min(ctx.opts.reps, 2);
  return batch * seq >= 4096 ? Math.max(3, ctx.opts.reps - 2) : ctx.opts.reps;
}

/** A session plus a runnable contender on synthetic [batch, seq] feeds. */
export async function sessionContender(name: string, bytes: Uint8Array, runtime: RuntimeOptions, batch: number, seq: number, vocab: number, suffixes: readonly string[] = ['']): Promise<Contender & { session: Session }> {
  const session = await createSession(bytes, runtime);
  const feeds = syntheticFeeds(batch, seq, vocab, { suffixes });
  return { name, session, run: () => session.run(feeds) };
}

export async function releaseAll(cs: readonly { session: Session }[]): Promise<void> {
  for (const c of cs) await c.session.release();
}

/** Markdown table with aligned pipes. */
export function mdTable(header: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const cells = [header.map(String), ...rows.map((r) => r.map((c) => (typeof c === 'number' ? fmt(c) : c)))];
  const widths = header.map((_, j) => Math.max(...cells.map((r) => (r[j] ?? '').length)));
  const line = (r: readonly string[]): string => `| ${r.map((c, j) => c.padEnd(widths[j]!)).join(' | ')} |`;
  return [line(cells[0]!), `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`, ...cells.slice(1).map(line)].join('\n');
}

/** Three significant digits, no exponent for the sizes we print. */
export function fmt(x: number): string {
  if (!Number.isFinite(x)) return '–';
  const a = Math.abs(x);
  if (a >= 100) return x.toFixed(0);
  if (a >= 10) return x.toFixed(1);
  if (a >= 1) return x.toFixed(2);
  return x.toPrecision(2);
}

export function pct(x: number): string {
  return `${(100 * x).toFixed(0)}%`;
}

export function ratio(x: number): string {
  return `${x.toFixed(2)}x`;
}
