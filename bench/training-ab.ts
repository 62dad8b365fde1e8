// A/B timing of two training graphs on a shared machine: the graph another copy of the source
// builds (A, e.g. `git archive <commit> src | tar -x -C out/ab-base`) against this tree's (B), or
// one graph under two sets of session options. Both sessions run the same batch on the same random
// weights, alternately (A B A B …), so load from other processes falls on both alike; it prints
// the median of each, the median of the per-round ratios, and how far B's loss and gradients are
// from A's (the two graphs must compute the same thing). Wall time and process CPU time (user +
// sys) are both reported: on a loaded machine, CPU time at --threads 1 (no pool threads spinning)
// is the steadier measure of the work a graph does.
//   node --import tsx bench/training-ab.ts --base out/ab-base [--layers 12] [--reps 5] [--threads 2]
//   node --import tsx bench/training-ab.ts --runtime-b '{"spinning":false}'   # same graph, options B
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadCheckpoint } from '../src/checkpoint/load.js';
import { BERT_BASE, createRandomCheckpoint } from '../src/checkpoint/random.js';
import type { RuntimeOptions } from '../src/runtime/session.js';
import { GradientSession } from '../src/train/gradient-session.js';
import { buildTrainingGraph } from '../src/train/training-graph.js';

const argv = process.argv.slice(2);
const arg = (name: string): string | undefined => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);
const num = (name: string, d: number): number => Number(arg(name) ?? d);
const layers = num('--layers', 12);
const reps = num('--reps', 5);
const threads = num('--threads', 2);
const [batch, seq] = [num('--batch', 16), num('--seq', 128)];
const base = arg('--base');
const runtimeA = { threads, ...(JSON.parse(arg('--runtime-a') ?? '{}') as RuntimeOptions) };
const runtimeB = { threads, ...(JSON.parse(arg('--runtime-b') ?? '{}') as RuntimeOptions) };

/** CPU milliseconds every process has used so far (the non-idle jiffies of /proc/stat). */
function busyMs(): number {
  const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, , , irq, softirq, steal] = f as [number, number, number, number, number, number, number, number];
  return ((user + nice + system + irq + softirq + steal) * 1000) / 100;
}

type Build = typeof buildTrainingGraph;
type Session = typeof GradientSession;
const other = base
  ? {
      build: ((await import(path.resolve(base, 'src/train/training-graph.ts'))) as { buildTrainingGraph: Build }).buildTrainingGraph,
      Session: ((await import(path.resolve(base, 'src/train/gradient-session.ts'))) as { GradientSession: Session }).GradientSession,
    }
  : { build: buildTrainingGraph, Session: GradientSession };

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bertfuse-train-ab-'));
try {
  await createRandomCheckpoint(path.join(tmp, 'm'), { ...BERT_BASE, numLayers: layers });
  const ckpt = loadCheckpoint(path.join(tmp, 'm'));
  const graphA = other.build(ckpt, { temperature: 2 });
  const graphB = buildTrainingGraph(ckpt, { temperature: 2 });
  const a = await other.Session.create(graphA, runtimeA);
  const b = await GradientSession.create(graphB, runtimeB);
  const hard = new Float32Array(batch * 2);
  for (let i = 0; i < batch; i++) hard[i * 2 + (i % 2)] = 1;
  const feeds = {
    inputIds: BigInt64Array.from({ length: batch * seq }, (_, i) => BigInt(1000 + ((i * 7919) % 20000))),
    attentionMask: new BigInt64Array(batch * seq).fill(1n),
    tokenTypeIds: new BigInt64Array(batch * seq),
    dims: [batch, seq] as const,
    hardTargets: hard,
    softTargets: new Float32Array(batch * 2).fill(0.5),
    kdWeight: new Float32Array(batch).fill(1),
  };
  const run = async (s: GradientSession, g: typeof graphA): Promise<{ ms: number; cpu: number; others: number; loss: number; grads: Map<string, Float32Array> }> => {
    const b0 = busyMs();
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const r = await s.compute(feeds, g.params.map((p) => p.data));
    const ms = performance.now() - t0;
    const c = process.cpuUsage(c0);
    const cpu = (c.user + c.system) / 1000;
    return { ms, cpu, others: Math.max(0, busyMs() - b0 - cpu), loss: r.loss, grads: new Map(g.params.map((p, i) => [p.input, r.grads[i]!])) };
  };
  const first = [await run(a, graphA), await run(b, graphB)];
  // Largest |gB − gA| over every entry, against the largest |gA| of all tensors (a tensor whose
  // true gradient is zero, such as the key bias's, holds only rounding noise of either graph).
  let scale = 0;
  let worst = 0;
  let worstName = '';
  for (const [name, ga] of first[0]!.grads) {
    const gb = first[1]!.grads.get(name);
    if (!gb) throw new Error(`B has no gradient for ${name}`);
    for (let i = 0; i < ga.length; i++) {
      scale = Math.max(scale, Math.abs(ga[i]!));
      const d = Math.abs(ga[i]! - gb[i]!);
      if (d > worst) [worst, worstName] = [d, name];
    }
  }
  console.log(`loss A ${first[0]!.loss} B ${first[1]!.loss}; largest gradient difference ${worst.toExponential(2)} (${worstName}), largest |g| ${scale.toExponential(2)}`);
  const wall: [number[], number[]] = [[], []];
  const cpu: [number[], number[]] = [[], []];
  const quiet: boolean[] = [];
  for (let r = 0; r < reps; r++) {
    // Alternate which goes first, so neither always runs right after the other.
    let others = 0;
    for (const k of r % 2 === 0 ? [0, 1] : [1, 0]) {
      const t = k === 0 ? await run(a, graphA) : await run(b, graphB);
      wall[k]!.push(t.ms);
      cpu[k]!.push(t.cpu);
      others = Math.max(others, t.others / t.ms);
    }
    // A round is quiet when other processes used under 5% of one core during both runs.
    quiet.push(others < 0.05);
    const at = (xs: number[][], k: number): number => xs[k]!.at(-1)!;
    console.log(`round ${r}: wall A ${at(wall, 0).toFixed(0)} B ${at(wall, 1).toFixed(0)} ms (B/A ${(at(wall, 1) / at(wall, 0)).toFixed(3)}), cpu A ${at(cpu, 0).toFixed(0)} B ${at(cpu, 1).toFixed(0)} ms (B/A ${(at(cpu, 1) / at(cpu, 0)).toFixed(3)}), others ${(100 * others).toFixed(0)}% of a core`);
  }
  const median = (xs: readonly number[]): number => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
  for (const [what, xs] of [['wall', wall], ['cpu', cpu]] as const) {
    const ratios = xs[0].map((t, i) => xs[1][i]! / t);
    const calm = ratios.filter((_, i) => quiet[i]);
    console.log(`${what}: median A ${median(xs[0]).toFixed(0)} ms, B ${median(xs[1]).toFixed(0)} ms; median B/A ${median(ratios).toFixed(3)} (rounds ${ratios.map((x) => x.toFixed(3)).join(' ')})${calm.length ? `; quiet rounds (${calm.length}) median B/A ${median(calm).toFixed(3)}` : ''}`);
  }
  await a.release();
  await b.release();
  ckpt.close();
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}
