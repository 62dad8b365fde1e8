// `npm run bench`: BERT-base speed on this machine, written to BENCHMARKS.md.
//
//   node --import tsx bench/run.ts [--quick] [--tiny] [--no-torch] [--out FILE | --no-write]
//                                  [--reps N] [--python PATH] [--report-only results.json]
//
// Creates two random-weight BERT-base members in a temp folder (deleted at the end), then times:
// the MatMul ceiling, one member / the combined graph / a merged encoder at every batch × seq,
// kernel variants per optimisation level, threads and execution mode, the PyTorch peer, int8,
// dataset evaluation with and without dynamic padding, and model load.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { loadCheckpoint } from '../src/checkpoint/load.js';
import { replaceFileAtomic, writeFileAtomic } from '../src/util/atomic.js';
import { analysis } from './analysis.js';
import type { BenchContext, BenchOptions, SectionResult } from './context.js';
import { describeMachine } from './machine.js';
import { createMembers, mergedCheckpoint } from './models.js';
import { foreignSections, renderReport, type BenchResults } from './report.js';
import { ceiling } from './sections/ceiling.js';
import { dataset, load } from './sections/dataset.js';
import { int8 } from './sections/int8.js';
import { runtimeChoices } from './sections/runtime.js';
import { throughput } from './sections/throughput.js';
import { torchPeer } from './sections/torch.js';
import { variants } from './sections/variants.js';
import { combinedSection } from './sections/combined.js';
import { familiesSection } from './sections/families.js';

/** `--json` replaces only an earlier results file of ours (a JSON object with the bench's sections). */
function isBenchJson(file: string): boolean {
  try {
    const v = JSON.parse(fs.readFileSync(file, 'utf8')) as unknown;
    return typeof v === 'object' && v !== null && Array.isArray((v as { sections?: unknown }).sections);
  } catch {
    return false;
  }
}

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..');

export function parseArgs(argv: readonly string[]): BenchOptions & { reportOnly: string | null } {
  const has = (f: string): boolean => argv.includes(f);
  const value = (f: string): string | null => {
    const i = argv.indexOf(f);
    if (i < 0) return null;
    const v = argv[i + 1];
    if (v === undefined || v.startsWith('--')) throw new Error(`${f} needs a value`);
    return v;
  };
  const known = ['--quick', '--tiny', '--no-torch', '--out', '--no-write', '--reps', '--python', '--report-only', '--json'];
  for (const a of argv) if (a.startsWith('--') && !known.includes(a)) throw new Error(`unknown flag ${a} (known: ${known.join(' ')})`);
  const quick = has('--quick');
  const size = has('--tiny') ? 'tiny' : 'base';
  const sizes: [number, number][] = quick ? [[1, 32], [8, 128]] : [[1, 32], [8, 32], [32, 32], [1, 128], [8, 128], [32, 128]];
  const reps = Number(value('--reps') ?? (quick ? 2 : 5));
  if (!Number.isInteger(reps) || reps < 1) throw new Error('--reps must be a positive integer');
  return {
    size,
    quick,
    sizes,
    warmup: 1,
    reps,
    torch: !has('--no-torch'),
    out: has('--no-write') ? null : path.resolve(value('--out') ?? path.join(ROOT, 'BENCHMARKS.md')),
    json: value('--json') ?? (has('--no-write') ? null : path.join(ROOT, 'bench', 'out', 'results.json')),
    command: ['npm run bench', ...(argv.length ? ['--', ...argv] : [])].join(' '),
    python: value('--python') ?? '/usr/bin/python3',
    reportOnly: value('--report-only'),
  };
}

/**
 * The merge helper's bench/merge.ts (its own random checkpoints, child processes for peak RSS):
 * `runMergeBench` measures, `mergeSection` renders the `## Merge` section. BERT-base only.
 */
async function mergeHook(opts: BenchOptions, log: (msg: string) => void): Promise<SectionResult | null> {
  const file = path.join(HERE, 'merge.ts');
  if (opts.size !== 'base' || !fs.existsSync(file)) return null;
  const mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  const run = mod['runMergeBench'];
  const render = mod['mergeSection'];
  if (typeof run !== 'function' || typeof render !== 'function') {
    log('bench/merge.ts has no runMergeBench/mergeSection: its section is kept as it is');
    return null;
  }
  log('bench/merge.ts (merge wall time and peak RSS)');
  const md: unknown = render(await run({ log: (s: string) => log(`merge: ${s}`) }));
  if (typeof md !== 'string' || !md.trim()) return null;
  return { title: 'Merge', markdown: md.replace(/^## Merge[^\n]*\n+/, '').trimEnd(), data: null };
}

/** bench/training.ts: tokens/s of a BERT-base training step vs a PyTorch eager step (`## Training`). BERT-base only. */
async function trainingHook(opts: BenchOptions, log: (msg: string) => void): Promise<SectionResult | null> {
  const file = path.join(HERE, 'training.ts');
  if (opts.size !== 'base' || !fs.existsSync(file)) return null;
  const mod = (await import(pathToFileURL(file).href)) as typeof import('./training.js');
  log('bench/training.ts (training step vs PyTorch eager)');
  const r = await mod.runTrainingBench({ python: opts.python, log: (s: string) => log(`training: ${s}`), ...(opts.torch ? {} : { python: '/nonexistent/python3' }) });
  return { title: 'Training', markdown: mod.trainingSection(r).replace(/^## Training[^\n]*\n+/, '').trimEnd(), data: r };
}

export async function runBench(opts: BenchOptions, log: (msg: string) => void = (m) => process.stderr.write(`[bench] ${m}\n`)): Promise<BenchResults> {
  const started = performance.now();
  const machine = describeMachine();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bertfuse-bench-'));
  try {
    // First, while this process is small: a child's peak RSS (the merge bench's measure) starts
    // from its parent's RSS at fork time on Linux, and later this process holds sessions of GBs.
    const mg = await mergeHook(opts, log);
    log(`creating two random ${opts.size === 'base' ? 'BERT-base' : 'tiny'} members in ${tmp}`);
    const members = await createMembers(tmp, opts.size);
    const ckpt = loadCheckpoint(members[0]);
    const config = ckpt.config;
    ckpt.close();
    const ctx: BenchContext = { opts, tmp, members, config, log };
    log('merging the members (src/merge, linear)');
    const merged = await mergedCheckpoint(members, path.join(tmp, 'merged'));

    // A section that fails is retried once (a 20-minute run should not die of one transient
    // error); a second failure ends the run.
    const again = async <T>(name: string, f: () => Promise<T>): Promise<T> => {
      try {
        return await f();
      } catch (e) {
        log(`${name} failed (${(e as Error).message.split('\n')[0]}); retrying once`);
        return f();
      }
    };
    const ceil = await again('ceiling', () => ceiling(ctx));
    const tp = await again('throughput', () => throughput(ctx, merged, ceil.data.gflops));
    const fm = await again('families', () => familiesSection(ctx, ceil.data.gflops));
    const vr = await again('variants', () => variants(ctx));
    const rt = await again('runtime', () => runtimeChoices(ctx));
    const th = await again('torch', () => torchPeer(ctx, tp.data));
    const i8 = await again('int8', () => int8(ctx, th.data.bestPair ?? null));
    const ds = await again('dataset', () => dataset(ctx));
    const ld = await again('load', () => load(ctx));
    const tr = await again('training', () => trainingHook(opts, log));
    const cb = await again('combined', () => combinedSection(ctx));
    const sections = [ceil, tp, fm, th, vr, rt, i8, ds, ld, cb, ...(mg ? [mg] : []), ...(tr ? [tr] : [])].map(({ title, markdown, data }) => ({ title, markdown, data }));
    return {
      machine,
      command: opts.command,
      size: opts.size,
      quick: opts.quick,
      minutes: (performance.now() - started) / 60000,
      loadAtEnd: os.loadavg()[0]!,
      ceiling: ceil.data,
      throughput: tp.data,
      variants: vr.data,
      runtime: rt.data,
      torch: th.data,
      int8: i8.data,
      dataset: ds.data,
      load: ld.data,
      sections,
    };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** BENCHMARKS.md: our sections, then the ones other helpers own, kept verbatim (unless this run produced them). */
export function writeReport(results: BenchResults, out: string): void {
  const existing = fs.existsSync(out) ? fs.readFileSync(out, 'utf8') : '';
  const ours = new Set(results.sections.map((s) => s.title));
  const kept = foreignSections(existing).filter((b) => !ours.has(b.split('\n')[0]!.slice(3).trim()));
  writeFileAtomic(out, [renderReport(results, analysis(results)).trimEnd(), ...kept].join('\n\n') + '\n');
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  let results: BenchResults;
  if (opts.reportOnly) {
    results = JSON.parse(fs.readFileSync(opts.reportOnly, 'utf8')) as BenchResults;
  } else {
    results = await runBench(opts);
    if (opts.json) replaceFileAtomic(opts.json, JSON.stringify(results, null, 2) + '\n', isBenchJson);
  }
  if (opts.out) writeReport(results, opts.out);
  process.stderr.write(`[bench] done in ${results.minutes.toFixed(1)} min${opts.out ? `; wrote ${path.relative(process.cwd(), opts.out)}` : ''}\n`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e: unknown) => {
    process.stderr.write(`bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  });
}
