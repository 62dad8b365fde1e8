// `npm run bench`: BERT-base speed on this machine, written to BENCHMARKS.md.
//
//   node --import tsx bench/run.ts [--quick] [--tiny] [--no-torch] [--out FILE | --no-write]
//                                  [--reps N] [--python PATH] [--report-only results.json]
//                                  [--only SECTION,...]
//
// Creates two random-weight BERT-base members in a temp folder (deleted at the end), then times:
// the MatMul ceiling, one member / the combined graph / a merged encoder at every batch × seq,
// kernel variants per optimisation level, threads and execution mode, the PyTorch peer, int8,
// dataset evaluation with and without dynamic padding, and model load.
// `--only families,int8` reruns those sections (and measures what they need, e.g. the ceiling,
// without writing it) and replaces just their `## ` blocks in BENCHMARKS.md.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { loadCheckpoint } from '../src/checkpoint/load.js';
import { replaceFileAtomic, writeFileAtomic } from '../src/util/atomic.js';
import { analysis } from './analysis.js';
import type { BenchContext, BenchOptions, SectionResult } from './context.js';
import { describeMachine } from './machine.js';
import { replaceMarkdownSection } from './markdown-section.js';
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

/** The sections `--only` can name, in report order. */
export const SECTION_NAMES = ['ceiling', 'throughput', 'families', 'torch', 'variants', 'runtime', 'int8', 'dataset', 'load', 'combined', 'merge', 'training'] as const;
export type SectionName = (typeof SECTION_NAMES)[number];

/** What a section needs measured first; a needed section runs but is not written unless named. */
const NEEDS: Readonly<Partial<Record<SectionName, readonly SectionName[]>>> = { throughput: ['ceiling'], torch: ['throughput'] };

/** The named sections plus everything they need. */
export function sectionsToRun(only: readonly SectionName[]): Set<SectionName> {
  const out = new Set<SectionName>();
  const add = (s: SectionName): void => {
    if (out.has(s)) return;
    out.add(s);
    for (const d of NEEDS[s] ?? []) add(d);
  };
  for (const s of only) add(s);
  return out;
}

export function parseArgs(argv: readonly string[]): BenchOptions & { reportOnly: string | null; only: readonly SectionName[] | null } {
  const has = (f: string): boolean => argv.includes(f);
  const value = (f: string): string | null => {
    const i = argv.indexOf(f);
    if (i < 0) return null;
    const v = argv[i + 1];
    if (v === undefined || v.startsWith('--')) throw new Error(`${f} needs a value`);
    return v;
  };
  const known = ['--quick', '--tiny', '--no-torch', '--out', '--no-write', '--reps', '--python', '--report-only', '--json', '--only'];
  const sectionList = `sections for --only: ${SECTION_NAMES.join(',')}`;
  for (const a of argv) if (a.startsWith('--') && !known.includes(a)) throw new Error(`unknown flag ${a} (known: ${known.join(' ')}; ${sectionList})`);
  const onlyArg = value('--only');
  const only = onlyArg === null ? null : onlyArg.split(',').map((x) => x.trim()).filter((x) => x.length > 0);
  if (only !== null) {
    const bad = only.filter((x) => !(SECTION_NAMES as readonly string[]).includes(x));
    if (bad.length || only.length === 0) throw new Error(`--only: unknown section ${bad.length ? bad.join(', ') : '(none given)'} (${sectionList})`);
    if (has('--report-only')) throw new Error('--only and --report-only do not go together');
  }
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
    // A partial run's results would not serve --report-only: no default results file for --only.
    json: value('--json') ?? (has('--no-write') || only ? null : path.join(ROOT, 'bench', 'out', 'results.json')),
    command: ['npm run bench', ...(argv.length ? ['--', ...argv] : [])].join(' '),
    python: value('--python') ?? '/usr/bin/python3',
    reportOnly: value('--report-only'),
    only: only as SectionName[] | null,
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

/** bench/training.ts: tokens/s of a BERT-base training step vs a PyTorch eager step (`## Training`); a small BERT under --tiny. */
async function trainingHook(opts: BenchOptions, log: (msg: string) => void): Promise<SectionResult | null> {
  const file = path.join(HERE, 'training.ts');
  if (!fs.existsSync(file)) return null;
  const mod = (await import(pathToFileURL(file).href)) as typeof import('./training.js');
  log('bench/training.ts (training step vs PyTorch eager)');
  const r = await mod.runTrainingBench({ tiny: opts.size === 'tiny', python: opts.python, log: (s: string) => log(`training: ${s}`), ...(opts.torch ? {} : { python: '/nonexistent/python3' }) });
  return { title: 'Training', markdown: mod.trainingSection(r).replace(/^## Training[^\n]*\n+/, '').trimEnd(), data: r };
}

interface SectionRun {
  readonly machine: ReturnType<typeof describeMachine>;
  readonly minutes: number;
  /** Every section that ran, by name. */
  readonly results: Map<SectionName, SectionResult>;
}

/** Runs the given sections (their needs must be included: see sectionsToRun) in the bench's order. */
async function runSections(opts: BenchOptions, run: ReadonlySet<SectionName>, log: (msg: string) => void): Promise<SectionRun> {
  const started = performance.now();
  const machine = describeMachine();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bertfuse-bench-'));
  const results = new Map<SectionName, SectionResult>();
  try {
    // First, while this process is small: a child's peak RSS (the merge bench's measure) starts
    // from its parent's RSS at fork time on Linux, and later this process holds sessions of GBs.
    if (run.has('merge')) {
      const mg = await mergeHook(opts, log);
      if (mg) results.set('merge', mg);
      else log('merge: bench/merge.ts runs at base size only; skipped');
    }
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
    const needsMembers = [...run].some((s) => s !== 'merge' && s !== 'training');
    if (needsMembers) {
      log(`creating two random ${opts.size === 'base' ? 'BERT-base' : 'tiny'} members in ${tmp}`);
      const members = await createMembers(tmp, opts.size);
      const ckpt = loadCheckpoint(members[0]);
      const config = ckpt.config;
      ckpt.close();
      const ctx: BenchContext = { opts, tmp, members, config, log };
      const step = async <T extends SectionResult>(name: SectionName, f: () => Promise<T>): Promise<T | null> => {
        if (!run.has(name)) return null;
        const r = await again(name, f);
        results.set(name, r);
        return r;
      };
      let merged: { dir: string | null; note: string } = { dir: null, note: 'not built' };
      if (run.has('throughput')) {
        log('merging the members (src/merge, linear)');
        merged = await mergedCheckpoint(members, path.join(tmp, 'merged'));
      }
      const ceil = await step('ceiling', () => ceiling(ctx));
      const tp = await step('throughput', () => throughput(ctx, merged, ceil!.data.gflops));
      await step('families', () => familiesSection(ctx, ceil?.data.gflops ?? null));
      await step('variants', () => variants(ctx));
      await step('runtime', () => runtimeChoices(ctx));
      const th = await step('torch', () => torchPeer(ctx, tp!.data));
      await step('int8', () => int8(ctx, th?.data.bestPair ?? null));
      await step('dataset', () => dataset(ctx));
      await step('load', () => load(ctx));
      if (run.has('training')) {
        const tr = await again('training', () => trainingHook(opts, log));
        if (tr) results.set('training', tr);
      }
      await step('combined', () => combinedSection(ctx));
    } else if (run.has('training')) {
      const tr = await again('training', () => trainingHook(opts, log));
      if (tr) results.set('training', tr);
    }
    return { machine, minutes: (performance.now() - started) / 60000, results };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** Sections in report order (merge and training after the rest, as BENCHMARKS.md has them). */
const REPORT_ORDER: readonly SectionName[] = ['ceiling', 'throughput', 'families', 'torch', 'variants', 'runtime', 'int8', 'dataset', 'load', 'combined', 'merge', 'training'];

export async function runBench(opts: BenchOptions, log: (msg: string) => void = (m) => process.stderr.write(`[bench] ${m}\n`)): Promise<BenchResults> {
  const { machine, minutes, results } = await runSections(opts, new Set(SECTION_NAMES), log);
  const get = <T>(name: SectionName): T => results.get(name)!.data as T;
  return {
    machine,
    command: opts.command,
    size: opts.size,
    quick: opts.quick,
    minutes,
    loadAtEnd: os.loadavg()[0]!,
    ceiling: get('ceiling'),
    throughput: get('throughput'),
    variants: get('variants'),
    runtime: get('runtime'),
    torch: get('torch'),
    int8: get('int8'),
    dataset: get('dataset'),
    load: get('load'),
    families: get('families'),
    sections: REPORT_ORDER.flatMap((n) => (results.has(n) ? [results.get(n)!] : [])).map(({ title, markdown, data }) => ({ title, markdown, data })),
  };
}

export interface OnlyResults {
  readonly command: string;
  readonly minutes: number;
  readonly loadAtStart: number;
  readonly loadAtEnd: number;
  /** The named sections only (not what was measured for them). */
  readonly sections: readonly SectionResult[];
}

/** `--only`: the named sections, measured with what they need. */
export async function runOnly(opts: BenchOptions, only: readonly SectionName[], log: (msg: string) => void = (m) => process.stderr.write(`[bench] ${m}\n`)): Promise<OnlyResults> {
  const { machine, minutes, results } = await runSections(opts, sectionsToRun(only), log);
  const sections = REPORT_ORDER.filter((n) => only.includes(n) && results.has(n)).map((n) => results.get(n)!);
  return { command: opts.command, minutes, loadAtStart: machine.loadAtStart, loadAtEnd: os.loadavg()[0]!, sections };
}

/**
 * Writes `--only` sections into an existing BENCHMARKS.md: each replaces its own `## ` block (or
 * is appended), every other block stays as it is, and each says it was rerun alone.
 */
export function writeOnly(results: OnlyResults, out: string): void {
  const note = `_Rerun alone by \`${results.command}\` (${results.minutes.toFixed(1)} min; load average ${results.loadAtStart.toFixed(2)} at start, ${results.loadAtEnd.toFixed(2)} at end); the rest of this file is from the run named at the top._`;
  for (const s of results.sections) replaceMarkdownSection(out, s.title, `## ${s.title}\n\n${s.markdown.trimEnd()}\n\n${note}\n`);
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
  if (opts.only) {
    const r = await runOnly(opts, opts.only);
    if (opts.json) replaceFileAtomic(opts.json, JSON.stringify(r, null, 2) + '\n', isBenchJson);
    if (opts.out) writeOnly(r, opts.out);
    else for (const s of r.sections) process.stdout.write(`## ${s.title}\n\n${s.markdown.trimEnd()}\n\n`);
    process.stderr.write(`[bench] ${r.sections.map((s) => s.title).join(', ') || 'no section'} done in ${r.minutes.toFixed(1)} min${opts.out ? `; wrote ${path.relative(process.cwd(), opts.out)}` : ''}\n`);
    return;
  }
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
