// Where a training step's time goes: onnxruntime's profiler per op type and per node for one run of
// the training graph, the time a run spends outside onnxruntime's own run (wall − model_run of the
// same run: onnxruntime-node 1.31 copies every output into a fresh ArrayBuffer), and the JS-side
// phases (run, clipping + AdamW) of TrainStep.
//   node --import tsx bench/training-profile.ts [--layers 2] [--hidden 768] [--threads 2] [--runs 1]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { loadCheckpoint } from '../src/checkpoint/load.js';
import { BERT_BASE, createRandomCheckpoint } from '../src/checkpoint/random.js';
import { GradientSession } from '../src/train/gradient-session.js';
import { buildTrainingGraph } from '../src/train/training-graph.js';
import { TrainStep } from '../src/train/train-step.js';

const argv = process.argv.slice(2);
const num = (name: string, d: number): number => (argv.includes(name) ? Number(argv[argv.indexOf(name) + 1]) : d);
const layers = num('--layers', 2);
const hidden = num('--hidden', 768);
const threads = num('--threads', 2);
const runs = num('--runs', 1);
const [batch, seq] = [num('--batch', 16), num('--seq', 128)];
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bertfuse-train-profile-'));
try {
  await createRandomCheckpoint(path.join(tmp, 'm'), { ...BERT_BASE, numLayers: layers, hiddenSize: hidden, intermediateSize: 4 * hidden, numHeads: hidden / 64 });
  const ckpt = loadCheckpoint(path.join(tmp, 'm'));
  let t = performance.now();
  const graph = buildTrainingGraph(ckpt, { temperature: 2 });
  console.log(`graph built in ${((performance.now() - t) / 1000).toFixed(1)} s, ${(graph.bytes.length / 2 ** 20).toFixed(0)} MiB`);
  const hard = new Float32Array(batch * 2);
  for (let i = 0; i < batch; i++) hard[i * 2 + (i % 2)] = 1;
  const feeds = { inputIds: BigInt64Array.from({ length: batch * seq }, (_, i) => BigInt(1000 + ((i * 7919) % 20000))), attentionMask: new BigInt64Array(batch * seq).fill(1n), tokenTypeIds: new BigInt64Array(batch * seq), dims: [batch, seq] as const, hardTargets: hard, softTargets: new Float32Array(batch * 2).fill(0.5), kdWeight: new Float32Array(batch) };

  // JS phases through TrainStep.
  const step = await TrainStep.create(graph, { runtime: { threads } });
  for (let r = 0; r < runs + 1; r++) {
    t = performance.now();
    const res = await step.step(feeds, 1e-5);
    console.log(`TrainStep ${r}: total ${(performance.now() - t).toFixed(0)} ms = graph ${res.graphMs.toFixed(0)} + optimizer ${res.optimizerMs.toFixed(0)}`);
  }
  await step.release();

  // onnxruntime's profile of the same graph.
  const prefix = path.join(tmp, 'ort-profile');
  const session = await ort.InferenceSession.create(graph.bytes, { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all', enableProfiling: true, profileFilePrefix: prefix, ...(process.env['SAVE_OPT'] ? { optimizedModelFilePath: process.env['SAVE_OPT'] } : {}) });
  const gs = await GradientSession.create(graph, { threads });
  const f = gs.feeds(feeds, graph.params.map((p) => p.data));
  await gs.release();
  const walls: number[] = [];
  for (let r = 0; r < runs + 1; r++) {
    const t0 = performance.now();
    await session.run(f);
    walls.push(performance.now() - t0);
  }
  session.endProfiling();
  await session.release();
  const file = fs.readdirSync(tmp).find((x) => x.startsWith('ort-profile'))!;
  type Ev = { cat: string; name: string; dur: number; ts: number; args?: { op_name?: string } };
  const events = JSON.parse(fs.readFileSync(path.join(tmp, file), 'utf8')) as Ev[];
  const runsEv = events.filter((e) => e.name === 'model_run');
  const last = runsEv.at(-1)!;
  // The profiled runs are the last runs + 1 model_run events (session creation may add none or one).
  runsEv.slice(-walls.length).forEach((e, r) => console.log(`run ${r}: wall ${walls[r]!.toFixed(0)} ms, model_run ${(e.dur / 1000).toFixed(0)} ms, outside onnxruntime's run ${(walls[r]! - e.dur / 1000).toFixed(0)} ms (outputs copied out)`));
  const mine = events.filter((e) => e.cat === 'Node' && e.name.endsWith('_kernel_time') && e.ts >= last.ts);
  const byOp = new Map<string, [number, number]>();
  for (const e of mine) {
    const k = e.args?.op_name ?? '?';
    const v = byOp.get(k) ?? [0, 0];
    byOp.set(k, [v[0] + e.dur / 1000, v[1] + 1]);
  }
  const total = mine.reduce((s, e) => s + e.dur / 1000, 0);
  console.log(`model_run ${(last.dur / 1000).toFixed(0)} ms, kernels ${total.toFixed(0)} ms, ${mine.length} nodes`);
  for (const [k, [ms, n]] of [...byOp].sort((a, b) => b[1][0] - a[1][0]).slice(0, 25)) console.log(`${k.padEnd(28)} ${ms.toFixed(1).padStart(9)} ms ${String(n).padStart(5)}×  ${((100 * ms) / total).toFixed(1)}%`);
  console.log('--- top nodes');
  for (const e of [...mine].sort((a, b) => b.dur - a.dur).slice(0, Number(process.env['TOP'] ?? 25))) console.log(`${(e.dur / 1000).toFixed(1).padStart(8)} ms ${e.args?.op_name} ${e.name.replace(/_kernel_time$/, '')}`);
  ckpt.close();
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}
