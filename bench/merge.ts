// Merge benchmark: merge two random BERT-base-sized checkpoints and compare wall time and peak RSS
// with simply reading the same bytes and writing one checkpoint's worth. Every measurement runs in
// its own child process (peak RSS from process.resourceUsage().maxRSS), so nothing earlier in the
// run inflates it. Writes the `## Merge` section of BENCHMARKS.md and nothing else in it.
//
//   node --import tsx bench/merge.ts            # measure and write the section
//   node --import tsx bench/merge.ts --no-write # measure and print only
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BERT_BASE, createRandomCheckpoint } from '../src/checkpoint/random.js';
import { merge } from '../src/merge/merge.js';
import { parseMergeRecipe } from '../src/recipe/merge.js';
import { describeMachine } from './machine.js';
import { replaceMarkdownSection } from './markdown-section.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SELF = fileURLToPath(import.meta.url);

export interface Measurement {
  readonly task: string;
  readonly what: string;
  readonly seconds: number;
  readonly peakRssMiB: number;
}

export interface MergeBenchResult {
  readonly checkpointMiB: number;
  readonly parameters: number;
  readonly measurements: readonly Measurement[];
  readonly machine: ReturnType<typeof describeMachine>;
}

interface ChildTask {
  readonly task: 'idle' | 'copy' | 'linear' | 'linear+onnx' | 'ties';
  readonly a: string;
  readonly b: string;
  readonly base: string;
  readonly out: string;
}

const WHAT: Record<ChildTask['task'], string> = {
  idle: 'node + bertfuse modules loaded, nothing done (baseline RSS)',
  copy: 'read both checkpoints, write one checkpoint of bytes (raw fs, 16 MiB chunks)',
  linear: 'merge linear → sharded safetensors (streaming, no ONNX)',
  'linear+onnx': 'merge linear → safetensors + model.onnx (weights as external data)',
  ties: 'merge ties (base = a third checkpoint, density 0.5) → safetensors',
};

/** Inside the child: do one task, print {seconds, maxRssKiB}. */
async function child(t: ChildTask): Promise<void> {
  const started = process.hrtime.bigint();
  switch (t.task) {
    case 'idle':
      break;
    case 'copy': {
      const buf = Buffer.alloc(16 * 1024 * 1024);
      const fa = fs.openSync(path.join(t.a, 'model.safetensors'), 'r');
      const fb = fs.openSync(path.join(t.b, 'model.safetensors'), 'r');
      const fo = fs.openSync(t.out, 'w');
      let n: number;
      while ((n = fs.readSync(fa, buf, 0, buf.length, null)) > 0) {
        fs.writeSync(fo, buf, 0, n);
        fs.readSync(fb, buf, 0, buf.length, null);
      }
      fs.fsyncSync(fo);
      [fa, fb, fo].forEach((fd) => fs.closeSync(fd));
      break;
    }
    case 'linear':
    case 'linear+onnx':
      await merge(parseMergeRecipe({ merge_method: 'linear', models: [{ model: t.a }, { model: t.b }], onnx: t.task === 'linear+onnx' }), { out: t.out });
      break;
    case 'ties':
      await merge(parseMergeRecipe({ merge_method: 'ties', base_model: t.base, models: [{ model: t.a }, { model: t.b }], parameters: { density: 0.5 }, onnx: false }), { out: t.out });
      break;
    default: {
      const never: never = t.task;
      throw new Error(`unknown task ${String(never)}`);
    }
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  process.stdout.write(JSON.stringify({ seconds, maxRssKiB: process.resourceUsage().maxRSS }) + '\n');
}

function measure(t: ChildTask): Measurement {
  const r = spawnSync(process.execPath, ['--import', 'tsx', SELF, '--child', JSON.stringify(t)], { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`bench child "${t.task}" failed: ${r.stderr}`);
  const line = r.stdout.trim().split('\n').pop()!;
  const { seconds, maxRssKiB } = JSON.parse(line) as { seconds: number; maxRssKiB: number };
  fs.rmSync(t.out, { recursive: true, force: true });
  return { task: t.task, what: WHAT[t.task], seconds, peakRssMiB: maxRssKiB / 1024 };
}

/** Make three random BERT-base checkpoints in a temp folder (never in the repo), measure, clean up. */
export async function runMergeBench(opts: { log?: (s: string) => void } = {}): Promise<MergeBenchResult> {
  const log = opts.log ?? (() => {});
  const machine = describeMachine();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bertfuse-merge-bench-'));
  try {
    const [a, b, base] = ['a', 'b', 'base'].map((n) => path.join(dir, n)) as [string, string, string];
    for (const [i, d] of [a, b, base].entries()) {
      log(`creating random BERT-base checkpoint ${i + 1}/3 …`);
      await createRandomCheckpoint(d, { ...BERT_BASE, seed: i + 1 });
    }
    const bytes = fs.statSync(path.join(a, 'model.safetensors')).size;
    const measurements: Measurement[] = [];
    for (const task of ['idle', 'copy', 'linear', 'linear+onnx', 'ties'] as const) {
      log(`measuring ${task} …`);
      measurements.push(measure({ task, a, b, base, out: path.join(dir, `out-${task.replace('+', '-')}`) }));
    }
    return { checkpointMiB: bytes / 1024 ** 2, parameters: Math.round((bytes - 8) / 4), measurements, machine };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export function mergeSection(r: MergeBenchResult): string {
  const m = r.machine;
  const lines = [
    '## Merge',
    '',
    `Two random BERT-base-sized classifiers (\`createRandomCheckpoint(tmp, BERT_BASE)\`: 12 layers, hidden 768, vocabulary 30,522; ` +
      `${r.checkpointMiB.toFixed(0)} MiB of float32 safetensors each) merged into one. Each row is a fresh child process; ` +
      `peak RSS is \`process.resourceUsage().maxRSS\`. Target: merge peak RSS under 1.5× one checkpoint = ${(1.5 * r.checkpointMiB).toFixed(0)} MiB.`,
    '',
    `Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, Node ${m.node}, onnxruntime ${m.onnxruntime}; load average ${m.loadAtStart.toFixed(1)} at start (the CPU is shared).`,
    '',
    '| run | wall time (s) | peak RSS (MiB) | × one checkpoint |',
    '|---|---:|---:|---:|',
    ...r.measurements.map((x) => `| ${x.what} | ${x.seconds.toFixed(2)} | ${x.peakRssMiB.toFixed(0)} | ${(x.peakRssMiB / r.checkpointMiB).toFixed(2)} |`),
    '',
    'Reproduce: `node --import tsx bench/merge.ts` (or the merge part of `npm run bench`).',
    '',
  ];
  return lines.join('\n');
}

/** Replaces (or appends) the `## Merge` section, leaving every other section as it is. */
export function writeMergeSection(file: string, section: string): void {
  replaceMarkdownSection(file, 'Merge', section);
}

if (process.argv[1] && path.resolve(process.argv[1]) === SELF) {
  const args = process.argv.slice(2);
  if (args[0] === '--child') {
    await child(JSON.parse(args[1]!) as ChildTask);
  } else {
    const result = await runMergeBench({ log: (s) => process.stderr.write(s + '\n') });
    const section = mergeSection(result);
    process.stdout.write(section + '\n');
    if (!args.includes('--no-write')) writeMergeSection(path.join(ROOT, 'BENCHMARKS.md'), section);
  }
}
