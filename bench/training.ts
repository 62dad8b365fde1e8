// Training benchmark: tokens/s of one training step (forward + loss + every gradient through
// onnxruntime, then clipping and AdamW in TypeScript) on a random BERT-base at batch 16 × 128,
// against a PyTorch eager training step on the same weights (bench/torch_train_peer.py), same run.
// Writes the `## Training` section of BENCHMARKS.md and nothing else in it.
//
//   node --import tsx bench/training.ts              # BERT-base, write the section
//   node --import tsx bench/training.ts --tiny --no-write   # a small model, print only (smoke test)
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCheckpoint } from '../src/checkpoint/load.js';
import { BERT_BASE, createRandomCheckpoint, type RandomCheckpointOptions } from '../src/checkpoint/random.js';
import { adamwStep, clipGlobalNorm, initAdamWState } from '../src/train/adamw.js';
import { GradientSession } from '../src/train/gradient-session.js';
import { buildTrainingGraph } from '../src/train/training-graph.js';
import { Rng } from '../src/util/rng.js';
import { describeMachine } from './machine.js';
import { replaceMarkdownSection } from './markdown-section.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const PEER = path.join(ROOT, 'bench', 'torch_train_peer.py');
const TINY: RandomCheckpointOptions = { hiddenSize: 128, numLayers: 2, numHeads: 4, intermediateSize: 512, vocabSize: 8192, maxPositions: 512 };

export interface TrainingBenchResult {
  readonly model: string;
  readonly batch: number;
  readonly seq: number;
  readonly threads: number;
  /** Median seconds per step, each phase. */
  readonly graphSeconds: number;
  readonly optimizerSeconds: number;
  readonly stepSeconds: number;
  readonly tokensPerSecond: number;
  readonly torch: { readonly available: boolean; readonly reason?: string; readonly version?: string; readonly median?: number; readonly tokensPerSecond?: number };
  readonly machine: ReturnType<typeof describeMachine>;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function runTrainingBench(opts: { tiny?: boolean; reps?: number; threads?: number; python?: string; log?: (s: string) => void } = {}): Promise<TrainingBenchResult> {
  const log = opts.log ?? ((s: string) => process.stderr.write(`[training] ${s}\n`));
  const threads = opts.threads ?? os.availableParallelism();
  const [batch, seq] = [16, 128];
  const reps = opts.reps ?? 3;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bertfuse-train-bench-'));
  try {
    const dir = path.join(tmp, 'model');
    log(`random ${opts.tiny ? 'tiny BERT' : 'BERT-base'} in ${dir}`);
    await createRandomCheckpoint(dir, opts.tiny ? TINY : BERT_BASE);
    const ckpt = loadCheckpoint(dir);
    const graph = buildTrainingGraph(ckpt, { temperature: 2 });
    const session = await GradientSession.create(graph, { threads });
    const rng = new Rng(7);
    const ids = BigInt64Array.from({ length: batch * seq }, () => BigInt(1000 + rng.int(ckpt.config.vocabSize - 1000)));
    const hard = new Float32Array(batch * 2);
    for (let i = 0; i < batch; i++) hard[i * 2 + rng.int(2)] = 1;
    const feeds = { inputIds: ids, attentionMask: new BigInt64Array(batch * seq).fill(1n), tokenTypeIds: new BigInt64Array(batch * seq), dims: [batch, seq] as const, hardTargets: hard, softTargets: new Float32Array(batch * 2).fill(0.5), kdWeight: new Float32Array(batch) };
    const weights = graph.params.map((p) => Float32Array.from(p.data));
    const state = initAdamWState(weights.map((w) => w.length));
    const decay = graph.params.map(() => true);
    const g: number[] = [];
    const o: number[] = [];
    for (let r = 0; r < reps + 1; r++) {
      const t0 = performance.now();
      const res = await session.compute(feeds, weights);
      const t1 = performance.now();
      clipGlobalNorm(res.grads, 1);
      adamwStep(weights, res.grads, decay, state, 1e-5);
      const t2 = performance.now();
      if (r > 0) {
        g.push((t1 - t0) / 1000);
        o.push((t2 - t1) / 1000);
      }
      log(`step ${r}: graph ${((t1 - t0) / 1000).toFixed(2)} s, optimizer ${((t2 - t1) / 1000).toFixed(2)} s${r === 0 ? ' (warm-up)' : ''}`);
    }
    await session.release();
    ckpt.close();
    const step = median(g.map((x, i) => x + o[i]!));
    const torch = torchPeer(opts.python ?? '/usr/bin/python3', dir, batch, seq, reps, threads, log);
    return {
      model: opts.tiny ? 'tiny BERT (128 hidden, 2 layers)' : 'BERT-base (random weights)',
      batch,
      seq,
      threads,
      graphSeconds: median(g),
      optimizerSeconds: median(o),
      stepSeconds: step,
      tokensPerSecond: (batch * seq) / step,
      torch,
      machine: describeMachine(),
    };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

function torchPeer(python: string, dir: string, batch: number, seq: number, reps: number, threads: number, log: (s: string) => void): TrainingBenchResult['torch'] {
  const probe = spawnSync(python, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
  if (probe.status !== 0) return { available: false, reason: `${python} cannot import torch (apt-get install python3-torch)` };
  log(`PyTorch ${probe.stdout.trim()} eager training step`);
  const r = spawnSync(python, [PEER], { input: JSON.stringify({ model: dir, batch, seq, warmup: 1, reps, threads }), encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
  if (r.status !== 0) return { available: false, reason: `torch peer failed: ${r.stderr.trim().split('\n').slice(-1)[0]}` };
  const a = JSON.parse(r.stdout) as { torch: string; median: number };
  return { available: true, version: a.torch, median: a.median, tokensPerSecond: (batch * seq) / a.median };
}

export function trainingSection(r: TrainingBenchResult): string {
  const lines = [
    '## Training',
    '',
    `One training step of ${r.model} at batch ${r.batch} × ${r.seq} (${r.batch * r.seq} tokens), ${r.threads} threads, ${r.machine.cpu}:`,
    'forward + loss + every gradient in one onnxruntime run of the training graph (bertfuse\'s own reverse-mode',
    'differentiation, plain ONNX ops), then global-norm clipping and AdamW in TypeScript.',
    '',
    '| contender | s / step | tokens / s |',
    '|---|---|---|',
    `| bertfuse (graph ${r.graphSeconds.toFixed(2)} s + optimizer ${r.optimizerSeconds.toFixed(2)} s) | ${r.stepSeconds.toFixed(2)} | ${r.tokensPerSecond.toFixed(0)} |`,
    r.torch.available
      ? `| PyTorch ${r.torch.version} eager (forward, backward, clip, AdamW) | ${r.torch.median!.toFixed(2)} | ${r.torch.tokensPerSecond!.toFixed(0)} |`
      : `| PyTorch eager | – | – (${r.torch.reason}) |`,
    '',
    r.torch.available ? `bertfuse / PyTorch: ${(r.tokensPerSecond / r.torch.tokensPerSecond!).toFixed(2)}× (goal ≥ 1.0×).` : 'No PyTorch on this machine: no ratio.',
    '',
  ];
  return lines.join('\n');
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const argv = process.argv.slice(2);
  const r = await runTrainingBench({ tiny: argv.includes('--tiny') });
  const md = trainingSection(r);
  if (argv.includes('--no-write')) process.stdout.write(md);
  else replaceMarkdownSection(path.join(ROOT, 'BENCHMARKS.md'), 'Training', md);
}
