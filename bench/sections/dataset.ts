import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCheckpoint } from '../../src/checkpoint/load.js';
import { readLabelled } from '../../src/data/labelled.js';
import { buildBertModel } from '../../src/graph/bert-model.js';
import { encodeModel } from '../../src/graph/onnx-builder.js';
import { quantizeGraph } from '../../src/graph/quantize.js';
import { buildBertGraph } from '../../src/graph/bert-model.js';
import { GraphRunner, type RunOptions } from '../../src/runtime/runner.js';
import { createSession } from '../../src/runtime/session.js';
import { median } from '../timing.js';
import { mdTable, ratio, type BenchContext, type SectionResult } from '../context.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface DatasetData {
  readonly rows: number;
  readonly meanTokens: number;
  readonly seconds: Record<string, number>;
  /** padded-to-128 seconds / dynamic (bucketed) seconds */
  readonly speedup: number;
}

/**
 * sst2_dev through one BERT-base member (bert-base-uncased vocabulary, so real tokenisation),
 * batch 32: length-bucketed dynamic padding, dynamic padding in file order, every batch padded to
 * 128. One timed pass each after a warm-up batch (the padded pass alone takes minutes).
 */
export async function dataset(ctx: BenchContext): Promise<SectionResult & { data: DatasetData }> {
  const data = readLabelled(path.join(ROOT, 'data/sst2_dev.tsv'), { labels: ['negative', 'positive'] });
  // The padded-to-128 pass over all 872 rows alone takes 2–6 minutes here; the first 320 rows
  // (10 batches) have the same length profile and keep the whole bench well under half an hour.
  const inputs = data.inputs.slice(0, ctx.opts.quick ? 128 : 320);
  const ckpt = loadCheckpoint(ctx.members[0]);
  const runner = await GraphRunner.create(encodeModel(buildBertModel(ckpt)), [{ suffix: '', tokenizer: ckpt.tokenizer }]);
  const lengths = inputs.map((x) => ckpt.tokenizer.encode(x).inputIds.length);
  const modes: Record<string, RunOptions> = {
    'dynamic padding, length-bucketed (default)': { bucket: true },
    'dynamic padding, file order': { bucket: false },
    'every batch padded to 128': { bucket: false, padTo: 128 },
  };
  const seconds: Record<string, number> = {};
  try {
    await runner.run(inputs.slice(0, 32), { batchSize: 32 });
    for (const [name, o] of Object.entries(modes)) {
      ctx.log(`sst2_dev: ${name}`);
      const t0 = performance.now();
      // Tokenisation is inside the timing: it is part of evaluating a dataset.
      await runner.run(inputs, { ...o, batchSize: 32, outputs: ['logits'] });
      seconds[name] = (performance.now() - t0) / 1000;
    }
  } finally {
    await runner.close();
    ckpt.close();
  }
  const dynamic = seconds['dynamic padding, length-bucketed (default)']!;
  const padded = seconds['every batch padded to 128']!;
  const meanTokens = lengths.reduce((a, b) => a + b, 0) / lengths.length;
  const markdown = [
    `The first ${inputs.length} of ${data.inputs.length} sentences of data/sst2_dev.tsv (mean ${meanTokens.toFixed(1)} wordpieces, max ${Math.max(...lengths)}), one ${ctx.opts.size === 'base' ? 'BERT-base' : 'tiny'} member (bert-base-uncased vocabulary), batch 32, fp32, one timed pass per mode (tokenisation included).`,
    '',
    mdTable(['mode', 'seconds', 'sentences/s', 'vs padded to 128'], Object.entries(seconds).map(([k, t]) => [k, t, inputs.length / t, ratio(padded / t)])),
  ].join('\n');
  return { title: 'Dataset evaluation: dynamic padding and length bucketing', markdown, data: { rows: inputs.length, meanTokens, seconds, speedup: padded / dynamic } };
}

export interface LoadData {
  /** Seconds: reading weights + building + encoding the graph, and creating the session from bytes. */
  readonly fp32: { build: number; session: number };
  readonly int8: { build: number; session: number };
}

/** Model load for BERT-base: graph build (weights read, transposed, encoded) and onnxruntime session creation. */
export async function load(ctx: BenchContext): Promise<SectionResult & { data: LoadData }> {
  const reps = ctx.opts.quick ? 1 : 3;
  const measure = async (int8: boolean): Promise<{ build: number; session: number }> => {
    const build: number[] = [];
    const session: number[] = [];
    for (let r = 0; r < reps; r++) {
      const t0 = performance.now();
      const ckpt = loadCheckpoint(ctx.members[0]);
      const g = buildBertGraph(ckpt);
      if (int8) quantizeGraph(g);
      const bytes = encodeModel(g.toModel());
      ckpt.close();
      const t1 = performance.now();
      const s = await createSession(bytes);
      const t2 = performance.now();
      await s.release();
      build.push((t1 - t0) / 1000);
      session.push((t2 - t1) / 1000);
    }
    return { build: median(build), session: median(session) };
  };
  ctx.log('model load');
  const fp32 = await measure(false);
  const int8 = await measure(true);
  const markdown = [
    `One ${ctx.opts.size === 'base' ? 'BERT-base' : 'tiny'} member, median of ${reps}. "Build" reads the safetensors, transposes the linear weights and encodes the ONNX protobuf in memory; "session" is \`InferenceSession.create\` on those bytes (graph optimisation level \`all\`, weights pre-packed).`,
    '',
    mdTable(['model', 'build s', 'session creation s', 'total s'], [
      ['fp32', fp32.build, fp32.session, fp32.build + fp32.session],
      ['int8', int8.build, int8.session, int8.build + int8.session],
    ]),
  ].join('\n');
  return { title: 'Model load', markdown, data: { fp32, int8 } };
}
