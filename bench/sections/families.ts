import path from 'node:path';
import type ort from 'onnxruntime-node';
import { forwardFlops } from '../../src/architectures/flops.js';
import type { ModelConfig } from '../../src/architectures/types.js';
import { FUSED_OPS, PLAIN_OPS } from '../../src/graph/bert-graph.js';
import { createSession, type Session } from '../../src/runtime/session.js';
import { mdTable, pct, ratio, releaseAll, type BenchContext, type SectionResult } from '../context.js';
import { syntheticFeeds } from '../feeds.js';
import { BASE_NAMES, BENCH_FAMILIES, createFamilyCheckpoint } from '../families.js';
import { encoderFlops } from '../flops.js';
import { interleaved, medians } from '../interleave.js';
import { memberGraph } from '../models.js';
import { profileRuns } from '../profile.js';
import { encoderShaped, matmulContender } from './ceiling.js';

/** The issue's goal for every BERT-shaped family: fp32, default kernels, 8 × 128. */
export const FAMILY_GOAL = 0.85;

type Kernels = 'fused' | 'plain';
type Precision = 'fp32' | 'int8';

export interface FamilyRow {
  readonly model: string;
  readonly family: string;
  readonly kernels: Kernels;
  readonly precision: Precision;
  readonly seconds: number;
  readonly seqPerSecond: number;
  /** Matrix-product GFLOP per sequence (src/architectures/flops.ts). */
  readonly gflopPerSeq: number;
  /** Achieved matrix-product GFLOP/s over the fp32 MatMul ceiling timed in the same block (int8 too: same yardstick). */
  readonly ceilingShare: number;
}

export interface FamilyProfile {
  readonly model: string;
  /** Share of kernel time in the operators that carry the matrix products. */
  readonly gemmShare: number;
  /** Operator types by share of kernel time, largest first. */
  readonly ops: readonly { readonly op: string; readonly share: number }[];
  /** The same time by node role (layer index dropped: see roleOf), largest first. */
  readonly roles: readonly { readonly role: string; readonly share: number }[];
}

export interface FamiliesData {
  readonly batch: number;
  readonly seq: number;
  /** The encoder-shaped MatMul graph's rate inside each precision's round-robin block: the yardstick. */
  readonly blockCeiling: Readonly<Record<Precision, number>>;
  /** The ceiling section's best rate in the same run, when it ran (for reference). */
  readonly ceilingGflops: number | null;
  readonly rows: readonly FamilyRow[];
  readonly profiles: readonly FamilyProfile[];
}

/** Operator types that run matrix products (fp32 and int8, fused or not). */
const GEMM_OPS = new Set(['MatMul', 'FusedMatMul', 'Gemm', 'Attention', 'MultiHeadAttention', 'QAttention', 'DynamicQuantizeMatMul', 'MatMulInteger', 'MatMulIntegerToFloat', 'DynamicQuantizeLinear', 'QGemm']);
export const isGemmOp = (op: string): boolean => GEMM_OPS.has(op);

/** What a family's fused graph uses (the rest of its graph is plain ONNX). */
const FUSED_KERNELS: Readonly<Record<string, string>> = {
  bert: 'Attention, SkipLayerNormalization, BiasGelu, EmbedLayerNormalization',
  distilbert: 'Attention, SkipLayerNormalization, BiasGelu, EmbedLayerNormalization',
  roberta: "Attention, SkipLayerNormalization, BiasGelu, EmbedLayerNormalization (fed RoBERTa's padding-offset position ids)",
  'deberta-v2': 'SkipLayerNormalization, BiasGelu; the disentangled attention has no onnxruntime kernel and stays plain',
  modernbert: 'RotaryEmbedding; pre-LN bias-free norms, GeGLU and the windowed attention have no kernel and stay plain',
};

/** Why an operator type shows up in a family's profile, for the text on what holds it back. */
const WHY: Readonly<Record<string, string>> = {
  GatherElements: "DeBERTa's c2p / p2c lookups: every score reads its relative bucket out of a [batch, heads, seq, 2k] product — pure memory traffic",
  Transpose: 'head split / merge around attention that has no fused kernel',
  Softmax: 'attention probabilities, outside any fused attention kernel',
  Add: 'residual adds, masks and relative terms as separate passes over [batch, heads, seq, seq] or [batch, seq, hidden]',
  Mul: 'scaling, masking and the GeGLU gate, each a pass over memory',
  Where: 'additive masks built per call',
  Erf: 'GELU written out (no BiasGelu where the activation is not after a biased Linear)',
  Gelu: 'GELU over the feed-forward width',
  LayerNormalization: 'LayerNorms not fused with a residual add (pre-LN layers)',
  SimplifiedLayerNormalization: 'bias-free LayerNorms',
  SkipLayerNormalization: 'residual add + LayerNorm',
  RotaryEmbedding: 'rotary positions on q and k',
  Split: 'splitting Wqkv / Wi outputs (copies)',
  Reshape: 'head reshapes',
  Expand: 'index broadcasts',
  Gather: 'embedding lookups',
  Cast: 'mask and position casts',
};

/** `n_l7_c2p_all` → `c2p_all`; `n_encoder.layer.7.output.LayerNorm` → `output.LayerNorm`. */
export function roleOf(node: string): string {
  const bare = node.replace(/^n_/, '').replace(/(^|[._])l\d+_/, '$1').replace(/\.\d+\./g, '.');
  return bare.split('.').slice(-2).join('.');
}

/**
 * Each BERT-shaped family at base size with random weights (BERT-base and the published base
 * shapes of DistilBERT, RoBERTa, DeBERTa-v3, ModernBERT) at batch 8 × seq 128, with its fused
 * kernels and as plain ONNX, fp32 and int8, timed round-robin per precision: sequences per second,
 * and the share of the MatMul ceiling (its matrix-product FLOPs per second, by the per-family
 * formula, over the ceiling section's best rate). Then onnxruntime's profiler on each default fp32
 * graph says where the time goes, which is what the text names for any family below the goal.
 */
export async function familiesSection(ctx: BenchContext, ceilingGflops: number | null = null): Promise<SectionResult & { data: FamiliesData }> {
  const [B, S] = ctx.opts.size === 'base' ? [8, 128] : [8, 32];
  const models: { model: string; family: string; dir: string; config: ModelConfig }[] = [
    { model: ctx.opts.size === 'base' ? BASE_NAMES.bert : 'bert (tiny)', family: 'bert', dir: ctx.members[0], config: ctx.config },
    ...BENCH_FAMILIES.map((f) => {
      const dir = path.join(ctx.tmp, `family-${f}`);
      ctx.log(`families: writing a random ${BASE_NAMES[f]} (${ctx.opts.size})`);
      return { model: ctx.opts.size === 'base' ? BASE_NAMES[f] : `${f} (tiny)`, family: f as string, dir, config: createFamilyCheckpoint(dir, f, ctx.opts.size) };
    }),
  ];
  const feedsFor = (session: Session, vocab: number): Record<string, ort.Tensor> => {
    const all = syntheticFeeds(B, S, Math.min(vocab, 6000));
    return Object.fromEntries(session.inputNames.map((n) => [n, all[n]!]));
  };
  const reps = ctx.opts.quick ? 2 : 5;
  const rows: FamilyRow[] = [];
  const blockCeiling: Record<Precision, number> = { fp32: 0, int8: 0 };
  // The yardstick runs inside each block: the ceiling section's MatMul graph of the encoder's own
  // linear-layer shapes, so load that comes and goes during a block falls on it too.
  const yardstick = encoderShaped(ctx.config, B * S);
  // One round-robin block per precision: eleven sessions at a time, not twenty-two, at base size.
  for (const precision of ['fp32', 'int8'] as const) {
    const contenders: { name: string; session: Session; run: () => Promise<unknown>; model: (typeof models)[number] | null; kernels: Kernels }[] = [];
    try {
      contenders.push({ ...(await matmulContender(yardstick)), model: null, kernels: 'plain' });
      for (const m of models) {
        for (const kernels of ['fused', 'plain'] as const) {
          ctx.log(`families: ${m.model} ${precision} ${kernels}`);
          const bytes = memberGraph(m.dir, { ops: kernels === 'fused' ? FUSED_OPS : PLAIN_OPS, quantize: precision === 'int8' ? {} : null });
          const session = await createSession(bytes, {});
          const feeds = feedsFor(session, m.config.vocabSize);
          contenders.push({ name: `${m.model} ${kernels}`, session, run: () => session.run(feeds), model: m, kernels });
        }
      }
      ctx.log(`families: timing ${contenders.length} ${precision} graphs round-robin at ${B} × ${S}`);
      const t = medians(await interleaved(contenders, { warmup: ctx.opts.warmup, reps }));
      const ceiling = yardstick.flops / t.get(yardstick.name)! / 1e9;
      blockCeiling[precision] = ceiling;
      for (const c of contenders) {
        if (!c.model) continue;
        const seconds = t.get(c.name)!;
        const flops = encoderFlops(c.model.config, B, S);
        rows.push({ model: c.model.model, family: c.model.family, kernels: c.kernels, precision, seconds, seqPerSecond: B / seconds, gflopPerSeq: flops / B / 1e9, ceilingShare: flops / seconds / 1e9 / ceiling });
      }
    } finally {
      await releaseAll(contenders);
    }
  }

  const profiles: FamilyProfile[] = [];
  for (const m of models) {
    ctx.log(`families: profiling ${m.model} (fp32, default kernels)`);
    const bytes = memberGraph(m.dir);
    const session = await createSession(bytes, {});
    const feeds = feedsFor(session, m.config.vocabSize);
    await session.release();
    const p = await profileRuns(bytes, feeds, ctx.opts.quick ? 1 : 2, ctx.tmp);
    const total = [...p.byOp.values()].reduce((a, b) => a + b, 0);
    const sorted = (xs: Map<string, number>): [string, number][] => [...xs].sort((a, b) => b[1] - a[1]);
    const roles = new Map<string, number>();
    for (const [node, ms] of p.byNode) roles.set(roleOf(node), (roles.get(roleOf(node)) ?? 0) + ms);
    profiles.push({
      model: m.model,
      gemmShare: sorted(p.byOp).filter(([op]) => GEMM_OPS.has(op)).reduce((a, [, ms]) => a + ms, 0) / total,
      ops: sorted(p.byOp).map(([op, ms]) => ({ op, share: ms / total })),
      roles: sorted(roles).map(([role, ms]) => ({ role, share: ms / total })),
    });
  }
  const data: FamiliesData = { batch: B, seq: S, blockCeiling, ceilingGflops, rows, profiles };
  return { title: 'Families', markdown: renderFamilies(data, models, ctx.opts.size === 'base'), data };
}

function renderFamilies(d: FamiliesData, models: readonly { model: string; family: string; config: ModelConfig }[], base: boolean): string {
  const row = (model: string, kernels: Kernels, precision: Precision): FamilyRow => d.rows.find((r) => r.model === model && r.kernels === kernels && r.precision === precision)!;
  const bert = models[0]!.model;
  const table = models.flatMap((m) =>
    (['fused', 'plain'] as const).map((k) => {
      const f = row(m.model, k, 'fp32');
      const i = row(m.model, k, 'int8');
      return [
        k === 'fused' ? m.model : '',
        k === 'fused' ? String(m.config.numLayers) : '',
        k === 'fused' ? f.gflopPerSeq.toFixed(2) : '',
        k === 'fused' ? 'fused (default)' : 'plain ONNX',
        f.seqPerSecond.toFixed(2),
        ratio(f.seqPerSecond / row(bert, 'fused', 'fp32').seqPerSecond),
        pct(f.ceilingShare),
        i.seqPerSecond.toFixed(2),
        pct(i.ceilingShare),
        ratio(f.seconds / i.seconds),
      ];
    }),
  );
  const profileTable = d.profiles.map((p) => [p.model, pct(p.gemmShare), p.ops.slice(0, 5).map((o) => `${o.op} ${pct(o.share)}`).join(', '), p.roles.slice(0, 4).map((o) => `${o.role} ${pct(o.share)}`).join(', ')]);

  const below = models.filter((m) => row(m.model, 'fused', 'fp32').ceilingShare < FAMILY_GOAL);
  const reasons = below.map((m) => {
    const share = row(m.model, 'fused', 'fp32').ceilingShare;
    const p = d.profiles.find((x) => x.model === m.model)!;
    const rest = p.ops.filter((o) => !GEMM_OPS.has(o.op) && o.share >= 0.02).slice(0, 4);
    const extra: string[] = [];
    if (m.family === 'deberta-v2') {
      const rel = p.roles.filter((r) => /c2p|p2c/.test(r.role)).reduce((a, r) => a + r.share, 0);
      const relFlops = 1 - forwardFlops({ ...m.config, extra: { ...m.config.extra, posAttType: [] } }, d.seq) / forwardFlops(m.config, d.seq);
      extra.push(`the relative-position terms (c2p / p2c products against the 2k relative rows, their gathers and adds) are ${pct(rel)} of the time for ${pct(relFlops)} of the FLOPs: each is a [${d.seq} × 64] · [64 × 2k] product per head — a 64-deep GEMM far from the ceiling shape — followed by a gather over its output`);
    }
    if (m.family === 'modernbert') {
      const layerTypes = m.config.extra['layerTypes'] as readonly string[];
      const full = forwardFlops({ ...m.config, extra: { ...m.config.extra, layerTypes: layerTypes.map(() => 'full_attention') } }, d.seq);
      const waste = full / forwardFlops(m.config, d.seq) - 1;
      extra.push(`its sliding-window layers compute all ${d.seq} × ${d.seq} scores and mask those outside the window, ${pct(waste)} more arithmetic than the count credits; its feed-forward is ${m.config.intermediateSize} wide (GeGLU 2 × ${m.config.intermediateSize}), so each layer's GEMMs are smaller than BERT's while the per-layer elementwise passes (norms, GeGLU gate, rotary, masks) stay, over ${m.config.numLayers} layers`);
    }
    const ops = rest.map((o) => `${o.op} ${pct(o.share)}${WHY[o.op] ? ` (${WHY[o.op]})` : ''}`).join('; ');
    return `- **${m.model}: ${pct(share)} of the ceiling.** ${pct(p.gemmShare)} of its kernel time is in matrix-product kernels; the rest is ${ops || 'spread thin'}.${extra.length ? ` Also: ${extra.join('; ')}.` : ''}`;
  });

  return [
    `Random-weight models at ${base ? 'the published base shapes (BERT-base; distilbert-base: 6 layers; roberta-base: 50,265 tokens; deberta-v3-base: 12 layers, 128,100 tokens, 256 position buckets; modernbert-base: 22 layers, GeGLU 1152, every third layer global, window 128)' : 'tiny size (harness check)'}, batch ${d.batch} × seq ${d.seq}, random ids, no padding. Each precision is one round-robin block (fused and plain graphs of every family in turn); medians. Share = the family's matrix-product FLOPs (\`src/architectures/flops.ts\`, the same count eval's cost column uses) per second over the MatMul ceiling timed in the same block: the ceiling section's fp32 MatMul graph of the encoder's linear-layer shapes (${d.blockCeiling.fp32.toFixed(0)} GFLOP/s in the fp32 block, ${d.blockCeiling.int8.toFixed(0)} in the int8 block${d.ceilingGflops === null ? '' : `; the ceiling section's best: ${d.ceilingGflops.toFixed(0)}`}); int8 rows use that fp32 yardstick too, so above 100% is possible.`,
    '',
    mdTable(['model', 'layers', 'GFLOP / seq', 'kernels', 'fp32 seq/s', `vs ${bert}`, 'fp32 share of ceiling', 'int8 seq/s', 'int8 share', 'int8 speed-up'], table),
    '',
    'Fused kernels per family (plain ONNX everywhere else):',
    '',
    ...models.map((m) => `- ${m.model}: ${FUSED_KERNELS[m.family] ?? 'none'}`),
    '',
    'Where the time goes (fp32, default kernels, onnxruntime profiler): share of kernel time in matrix-product kernels (MatMul, FusedMatMul, Gemm, Attention), the top operator types, and the top node roles (layer index dropped).',
    '',
    mdTable(['model', 'matrix products', 'top operator types', 'top node roles'], profileTable),
    '',
    `**Goal: every BERT-shaped family ≥ ${pct(FAMILY_GOAL)} of the ceiling** (fp32, default kernels, ${d.batch} × ${d.seq}). ${below.length === 0 ? 'Met by every family in this run.' : `Below it in this run: ${below.map((m) => m.model).join(', ')}.`}`,
    ...(reasons.length ? ['', ...reasons] : []),
  ].join('\n');
}
