import type { RuntimeOptions } from '../../src/runtime/session.js';
import { mdTable, ratio, releaseAll, repsFor, sessionContender, type BenchContext, type SectionResult } from '../context.js';
import { interleaved, medians } from '../interleave.js';
import { combinedGraph, memberGraph } from '../models.js';

export interface RuntimeData {
  readonly threads: Record<string, number>;
  readonly execution: Record<string, number>;
}

const THREADS: Record<string, RuntimeOptions> = {
  '1 thread': { threads: 1 },
  '2 threads (1 per core, default)': { threads: 2 },
  '4 threads (2 per core)': { threads: 4 },
  '2 threads, no spin-wait': { threads: 2, spinning: false },
};

const EXECUTION: Record<string, RuntimeOptions> = {
  'sequential, 2 intra-op threads (default)': { executionMode: 'sequential', threads: 2 },
  'parallel, 2 inter-op × 1 intra-op': { executionMode: 'parallel', interOpThreads: 2, threads: 1 },
  'parallel, 2 inter-op × 2 intra-op': { executionMode: 'parallel', interOpThreads: 2, threads: 2 },
};

/** Threads per core for one member, and sequential vs parallel execution of the combined graph's two members. */
export async function runtimeChoices(ctx: BenchContext): Promise<SectionResult & { data: RuntimeData }> {
  const [B, S] = [8, 128];
  const reps = repsFor(ctx, B, S);
  const member = memberGraph(ctx.members[0]);
  ctx.log('threads per core');
  let cs = [];
  for (const [name, rt] of Object.entries(THREADS)) cs.push(await sessionContender(name, member, rt, B, S, ctx.config.vocabSize));
  const threads = Object.fromEntries(medians(await interleaved(cs, { warmup: ctx.opts.warmup, reps })));
  await releaseAll(cs);

  ctx.log('combined graph: sequential vs parallel');
  const combined = combinedGraph(ctx.members);
  cs = [];
  for (const [name, rt] of Object.entries(EXECUTION)) cs.push(await sessionContender(name, combined, rt, B, S, ctx.config.vocabSize));
  const execution = Object.fromEntries(medians(await interleaved(cs, { warmup: ctx.opts.warmup, reps })));
  await releaseAll(cs);

  const table = (times: Record<string, number>, baseline: string): string =>
    mdTable(['setting', 'seconds per batch', 'seq/s', 'vs default'], Object.entries(times).map(([k, t]) => [k, t, B / t, ratio(times[baseline]! / t)]));
  const markdown = [
    `Batch ${B} × seq ${S}, fp32, default kernels, ${reps} round-robin reps. This machine has ${ctx.opts.size === 'base' ? 'two' : 'the same'} cores and one hardware thread per core.`,
    '',
    '**Intra-op threads** (one member):',
    '',
    table(threads, '2 threads (1 per core, default)'),
    '',
    '**Sequential vs parallel execution** of the combined two-member graph (in `parallel` mode onnxruntime runs the two encoders\' independent nodes on the inter-op pool at once):',
    '',
    table(execution, 'sequential, 2 intra-op threads (default)'),
  ].join('\n');
  return { title: 'Threads and execution mode', markdown, data: { threads, execution } };
}
