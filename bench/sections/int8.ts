import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCheckpoint } from '../../src/checkpoint/load.js';
import { readLabelled } from '../../src/data/labelled.js';
import { FUSED_OPS, PLAIN_OPS, type EncoderOps } from '../../src/graph/bert-graph.js';
import { buildBertModel } from '../../src/graph/bert-model.js';
import { encodeModel } from '../../src/graph/onnx-builder.js';
import type { Int8Kernel, QuantizeOptions } from '../../src/graph/quantize.js';
import { GraphRunner } from '../../src/runtime/runner.js';
import { syntheticFeeds } from '../feeds.js';
import { opTimes } from '../profile.js';
import { mdTable, pct, ratio, releaseAll, repsFor, sessionContender, type BenchContext, type SectionResult } from '../context.js';
import { interleaved, medians } from '../interleave.js';
import { combinedGraph, memberGraph } from '../models.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SST2_FIXTURES = ['sst2-sibling-a', 'sst2-sibling-b', 'sst2-stranger-a', 'sst2-stranger-b', 'sst2-stranger-d'];

interface Int8Variant {
  readonly ops: EncoderOps;
  readonly kernel: Int8Kernel;
}

/** Where QKV lives decides which int8 kernels apply: inside Attention → QAttention; separate MatMuls otherwise. */
export const INT8_VARIANTS: Record<string, Int8Variant> = {
  'QAttention + DynamicQuantizeMatMul (default)': { ops: FUSED_OPS, kernel: 'dynamic-quantize-matmul' },
  'MultiHeadAttention + DynamicQuantizeMatMul': { ops: { ...FUSED_OPS, attention: 'mha' }, kernel: 'dynamic-quantize-matmul' },
  'MultiHeadAttention + MatMulIntegerToFloat': { ops: { ...FUSED_OPS, attention: 'mha' }, kernel: 'matmul-integer-to-float' },
  'plain ONNX MatMulInteger': { ops: PLAIN_OPS, kernel: 'matmul-integer' },
};

export interface AccuracyRow {
  readonly model: string;
  readonly fp32: number;
  readonly int8: number;
  readonly int8Full: number;
  /** Largest |logit int8 − logit fp32| over the rows, 7-bit and 8-bit weights. */
  readonly maxLogitDiff: number;
  readonly maxLogitDiffFull: number;
}

export interface Int8Data {
  readonly seconds: Record<string, number>;
  readonly fastest: string;
  /** int8 / fp32 throughput, one member, default int8 variant. */
  readonly speedup: number;
  readonly combinedFp32: number;
  readonly combinedInt8: number;
  readonly accuracy: AccuracyRow[];
  /** onnxruntime profiler: ms per run by operator type, fp32 and int8 graphs of one member. */
  readonly profile: { fp32: Record<string, number>; int8: Record<string, number> };
}

async function sst2Accuracy(ctx: BenchContext): Promise<AccuracyRow[]> {
  const data = readLabelled(path.join(ROOT, 'data/sst2_dev.tsv'), { labels: ['negative', 'positive'] });
  const inputs = ctx.opts.quick ? data.inputs.slice(0, 200) : data.inputs;
  const rows: AccuracyRow[] = [];
  for (const name of SST2_FIXTURES) {
    const ckpt = loadCheckpoint(path.join(ROOT, 'fixtures', name));
    const labels = ckpt.config.labels!;
    const run = async (quantize: QuantizeOptions | null): Promise<{ accuracy: number; logits: Float32Array }> => {
      const bytes = encodeModel(buildBertModel(ckpt, quantize ? { quantize: 'int8', quantizeOptions: quantize } : {}));
      const runner = await GraphRunner.create(bytes, [{ suffix: '', tokenizer: ckpt.tokenizer }]);
      try {
        const z = (await runner.run(inputs, { batchSize: 32, outputs: ['logits'] }))['logits']!;
        let right = 0;
        inputs.forEach((_, i) => {
          const row = z.data.subarray(i * z.width, (i + 1) * z.width);
          // Labels by name: stranger-b's index 0 is "positive".
          if (labels[row.indexOf(Math.max(...row))] === data.labelNames[data.labels[i]!]) right++;
        });
        return { accuracy: right / inputs.length, logits: z.data };
      } finally {
        await runner.close();
      }
    };
    const [fp, q7, q8] = [await run(null), await run({}), await run({ weightBits: 8 })];
    const maxDiff = (a: Float32Array): number => a.reduce((m, x, i) => Math.max(m, Math.abs(x - fp.logits[i]!)), 0);
    rows.push({ model: name, fp32: fp.accuracy, int8: q7.accuracy, int8Full: q8.accuracy, maxLogitDiff: maxDiff(q7.logits), maxLogitDiffFull: maxDiff(q8.logits) });
    ckpt.close();
  }
  return rows;
}

/** int8 speed (kernels compared, one member and the combined graph) and accuracy on the fixtures' sst2_dev. */
export async function int8(ctx: BenchContext, torchPairSeconds: number | null): Promise<SectionResult & { data: Int8Data }> {
  const [B, S] = [8, 128];
  const reps = repsFor(ctx, B, S);
  ctx.log('int8 kernels');
  let cs = [await sessionContender('fp32 (default graph)', memberGraph(ctx.members[0]), {}, B, S, ctx.config.vocabSize)];
  for (const [name, v] of Object.entries(INT8_VARIANTS)) cs.push(await sessionContender(name, memberGraph(ctx.members[0], { ops: v.ops, quantize: { kernel: v.kernel } }), {}, B, S, ctx.config.vocabSize));
  const seconds = Object.fromEntries(medians(await interleaved(cs, { warmup: ctx.opts.warmup, reps })));
  await releaseAll(cs);
  const int8Names = Object.keys(INT8_VARIANTS);
  const fastest = int8Names.sort((x, y) => seconds[x]! - seconds[y]!)[0]!;
  const defaultName = Object.keys(INT8_VARIANTS)[0]!;
  const speedup = seconds['fp32 (default graph)']! / seconds[defaultName]!;

  ctx.log('int8 combined graph');
  cs = [
    await sessionContender('combined fp32', combinedGraph(ctx.members), {}, B, S, ctx.config.vocabSize),
    await sessionContender('combined int8', combinedGraph(ctx.members, { quantize: {} }), {}, B, S, ctx.config.vocabSize),
  ];
  const comb = medians(await interleaved(cs, { warmup: ctx.opts.warmup, reps }));
  await releaseAll(cs);
  const combinedFp32 = comb.get('combined fp32')!;
  const combinedInt8 = comb.get('combined int8')!;

  ctx.log('int8 vs fp32 operator profile');
  const feeds = syntheticFeeds(B, S, ctx.config.vocabSize);
  const profile = {
    fp32: Object.fromEntries(await opTimes(memberGraph(ctx.members[0]), feeds, ctx.opts.quick ? 1 : 3, ctx.tmp)),
    int8: Object.fromEntries(await opTimes(memberGraph(ctx.members[0], { quantize: {} }), feeds, ctx.opts.quick ? 1 : 3, ctx.tmp)),
  };
  const opNames = [...new Set([...Object.keys(profile.fp32), ...Object.keys(profile.int8)])].sort((x, y) => Math.max(profile.fp32[y] ?? 0, profile.int8[y] ?? 0) - Math.max(profile.fp32[x] ?? 0, profile.int8[x] ?? 0));
  const total = (m: Record<string, number>): number => Object.values(m).reduce((a, b) => a + b, 0);
  const gemm = (m: Record<string, number>): number => ['MatMul', 'Attention', 'DynamicQuantizeMatMul', 'QAttention', 'DynamicQuantizeLinear'].reduce((a, k) => a + (m[k] ?? 0), 0);

  ctx.log('int8 accuracy on sst2_dev (fixtures)');
  const accuracy = await sst2Accuracy(ctx);
  const p = (x: number): string => (100 * x).toFixed(2);
  const d = (x: number): string => `${x >= 0 ? '+' : '−'}${Math.abs(100 * x).toFixed(2)}`;
  const markdown = [
    `Dynamic quantisation (\`--quantize int8\`, src/graph/quantize.ts): weights int8 per output column, symmetric, 7-bit range by default; activations uint8 per tensor, computed at run time. Encoder layers only (pooler and classifier stay fp32). Batch ${B} × seq ${S}, ${reps} round-robin reps.`,
    '',
    '**Kernels** (one member):',
    '',
    mdTable(['graph', 'seconds per batch', 'seq/s', 'vs fp32'], Object.entries(seconds).map(([k, t]) => [k, t, B / t, ratio(seconds['fp32 (default graph)']! / t)])),
    '',
    `Fastest int8 variant here: ${fastest}.`,
    '',
    '**Combined two-member graph**:',
    '',
    mdTable(
      ['graph', 'seconds per batch', 'seq/s', 'vs fp32 combined', 'vs torch two members (faster path)'],
      [
        ['combined fp32', combinedFp32, B / combinedFp32, '1.00x', torchPairSeconds === null ? '–' : ratio(torchPairSeconds / combinedFp32)],
        ['combined int8', combinedInt8, B / combinedInt8, ratio(combinedFp32 / combinedInt8), torchPairSeconds === null ? '–' : ratio(torchPairSeconds / combinedInt8)],
      ],
    ),
    '',
    `**Where the time goes** (onnxruntime profiler, one member, ms per batch summed over kernels; the profiler's own overhead and the run-to-run noise make these approximate):`,
    '',
    mdTable(
      ['operator', 'fp32 ms', 'int8 ms', 'share of int8 run'],
      [
        ...opNames.filter((k) => Math.max(profile.fp32[k] ?? 0, profile.int8[k] ?? 0) >= 0.5).map((k) => [k, profile.fp32[k] ?? '–', profile.int8[k] ?? '–', profile.int8[k] === undefined ? '–' : pct(profile.int8[k]! / total(profile.int8))]),
        ['**linear layers + attention** (MatMul, Attention / DynamicQuantizeMatMul, QAttention, DynamicQuantizeLinear)', gemm(profile.fp32), gemm(profile.int8), `${pct(gemm(profile.int8) / total(profile.int8))} (fp32 / int8 time: ${ratio(gemm(profile.fp32) / gemm(profile.int8))})`],
        ['**everything else** (LayerNorm, GELU, embeddings, …)', total(profile.fp32) - gemm(profile.fp32), total(profile.int8) - gemm(profile.int8), pct(1 - gemm(profile.int8) / total(profile.int8))],
      ],
    ),
    '',
    `**Accuracy** on the fixtures' sst2_dev (${ctx.opts.quick ? 'first 200 rows (quick run)' : '872 rows'}), labels matched by name; "int8 8-bit" uses the full ±127 weight range:`,
    '',
    mdTable(
      ['model', 'fp32 %', 'int8 %', 'change (points)', 'max logit change', 'int8 8-bit %', 'change (points)', 'max logit change'],
      accuracy.map((r) => [r.model, p(r.fp32), p(r.int8), d(r.int8 - r.fp32), r.maxLogitDiff.toFixed(3), p(r.int8Full), d(r.int8Full - r.fp32), r.maxLogitDiffFull.toFixed(3)]),
    ),
  ].join('\n');
  return { title: 'int8 quantisation', markdown, data: { seconds, fastest, speedup, combinedFp32, combinedInt8, accuracy, profile } };
}
