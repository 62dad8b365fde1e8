// Real member outputs for fusion tests: fixture members run on data/sst2_dev.tsv through our own
// graph and runtime, label-aligned by name. Computed once per test file (module cache).
import ort from 'onnxruntime-node';
import { loadCheckpoint } from '../../src/checkpoint/load.js';
import { readLabelled, type LabelledData } from '../../src/data/labelled.js';
import type { EmitInputs, FusionMethod, FusionParams, MemberOutputs, MemberRows } from '../../src/fusion/types.js';
import { buildBertModel } from '../../src/graph/bert-model.js';
import { GraphBuilder, encodeModel } from '../../src/graph/onnx-builder.js';
import { GraphRunner } from '../../src/runtime/runner.js';
import { createSession } from '../../src/runtime/session.js';
import { Rng } from '../../src/util/rng.js';

export const LABELS = ['negative', 'positive'];

export interface RealMembers {
  readonly data: LabelledData;
  readonly outputs: MemberOutputs;
}

let cached: Promise<RealMembers> | null = null;

export function realMembers(): Promise<RealMembers> {
  cached ??= (async () => {
    const data = readLabelled('data/sst2_dev.tsv', { labels: LABELS });
    const members: MemberRows[] = [];
    for (const dir of ['fixtures/sst2-sibling-a', 'fixtures/sst2-stranger-a']) members.push(await runMember(dir, data));
    return { data, outputs: { n: data.inputs.length, k: LABELS.length, members } };
  })();
  return cached;
}

async function runMember(dir: string, data: LabelledData): Promise<MemberRows> {
  const ckpt = loadCheckpoint(dir);
  const runner = await GraphRunner.create(encodeModel(buildBertModel(ckpt, { embeddings: true })), [{ suffix: '', tokenizer: ckpt.tokenizer }], { threads: 1 });
  try {
    const out = await runner.run(data.inputs, { batchSize: 64 });
    const own = ckpt.config.labels!;
    // Column j of the aligned logits is LABELS[j], wherever the member keeps it.
    const src = LABELS.map((name) => {
      const i = own.indexOf(name);
      if (i < 0) throw new Error(`${dir} has no label ${name}`);
      return i;
    });
    const raw = out['logits']!;
    const n = data.inputs.length;
    const logits = new Float64Array(n * LABELS.length);
    for (let r = 0; r < n; r++) src.forEach((s, j) => (logits[r * LABELS.length + j] = raw.data[r * raw.width + s]!));
    return { name: dir.split('/').pop()!, logits, pooled: out['pooled']!.data, cls: out['cls_hidden']!.data, hiddenSize: ckpt.config.hiddenSize, cost: 1 };
  } finally {
    await runner.close();
    ckpt.close();
  }
}

/** Synthetic outputs: M members, k labels, correlated with random gold labels (for shapes the fixtures lack). */
export function syntheticMembers(n: number, k: number, M: number, hidden: number, seed: number): { outputs: MemberOutputs; labels: Int32Array } {
  const rng = new Rng(seed);
  const labels = Int32Array.from({ length: n }, () => rng.int(k));
  const members: MemberRows[] = Array.from({ length: M }, (_, m) => {
    const logits = new Float64Array(n * k);
    const pooled = new Float32Array(n * hidden);
    const cls = new Float32Array(n * hidden);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < k; j++) logits[i * k + j] = Math.fround(2 * rng.normal() + (j === labels[i] ? 1.5 + m * 0.5 : 0));
      for (let t = 0; t < hidden; t++) {
        pooled[i * hidden + t] = Math.tanh(rng.normal() + (t % k === labels[i] ? 0.8 : 0));
        cls[i * hidden + t] = 3 * rng.normal() + (t % k === labels[i] ? 2 : 0);
      }
    }
    return { name: `m${m}`, logits, pooled, cls, hiddenSize: hidden, cost: 1 + m };
  });
  return { outputs: { n, k, members }, labels };
}

/**
 * Builds a graph whose inputs are the members' logits and embeddings (float), adds the method's
 * nodes, runs it in onnxruntime and returns exp(output): the fused probabilities the artifact
 * would give.
 */
export async function runEmitted(method: FusionMethod, params: FusionParams, outputs: MemberOutputs): Promise<Float32Array> {
  const g = new GraphBuilder('fusion_test');
  const { n, k } = outputs;
  const inputs: EmitInputs = {
    k,
    logits: outputs.members.map((_, m) => g.input(`logits_${m}`, 'float', ['batch', k])),
    pooled: outputs.members.map((mem, m) => (mem.pooled ? g.input(`pooled_${m}`, 'float', ['batch', mem.hiddenSize]) : null)),
    cls: outputs.members.map((mem, m) => (mem.cls ? g.input(`cls_${m}`, 'float', ['batch', mem.hiddenSize]) : null)),
  };
  g.output(method.emit(g, inputs, params), 'logits', 'float', ['batch', k]);
  const session = await createSession(encodeModel(g.toModel()), { threads: 1 });
  try {
    const feeds: Record<string, ort.Tensor> = {};
    outputs.members.forEach((mem, m) => {
      feeds[`logits_${m}`] = new ort.Tensor('float32', Float32Array.from(mem.logits), [n, k]);
      if (mem.pooled) feeds[`pooled_${m}`] = new ort.Tensor('float32', mem.pooled, [n, mem.hiddenSize]);
      if (mem.cls) feeds[`cls_${m}`] = new ort.Tensor('float32', mem.cls, [n, mem.hiddenSize]);
    });
    const res = await session.run(feeds);
    return (res['logits']!.data as Float32Array).map(Math.exp);
  } finally {
    await session.release();
  }
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}
