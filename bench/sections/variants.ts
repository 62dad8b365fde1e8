import { FUSED_OPS, PLAIN_OPS, DEFAULT_OPS, type EncoderOps } from '../../src/graph/bert-graph.js';
import type { OptimizationLevel } from '../../src/runtime/session.js';
import { mdTable, ratio, releaseAll, repsFor, sessionContender, type BenchContext, type SectionResult } from '../context.js';
import { interleaved, medians } from '../interleave.js';
import { memberGraph } from '../models.js';

export const OPS_VARIANTS: Record<string, EncoderOps> = {
  'plain ONNX': PLAIN_OPS,
  'fused (Attention)': FUSED_OPS,
  'fused (MultiHeadAttention)': { ...FUSED_OPS, attention: 'mha' },
  'fused, no EmbedLayerNorm': { ...FUSED_OPS, embedLayerNorm: false },
};
export const LEVELS: readonly OptimizationLevel[] = ['disabled', 'basic', 'extended', 'all'];

export interface VariantsData {
  /** seconds per batch by `${ops} @ ${level}` */
  readonly seconds: Record<string, number>;
  readonly fastest: string;
  readonly default: string;
}

/**
 * Fused contrib ops vs plain ONNX under every graphOptimizationLevel, one member at batch 8 ×
 * seq 128. All cells are timed in one round-robin (sixteen sessions, ~8 GB), so a burst of load
 * from other processes falls on every cell alike instead of on one level's block.
 */
export async function variants(ctx: BenchContext): Promise<SectionResult & { data: VariantsData }> {
  const [B, S] = [8, 128];
  const reps = repsFor(ctx, B, S);
  const levels = ctx.opts.quick ? (['disabled', 'all'] as const) : LEVELS;
  ctx.log(`kernel variants × graphOptimizationLevel (${Object.keys(OPS_VARIANTS).length * levels.length} sessions)`);
  const cs = [];
  for (const [name, ops] of Object.entries(OPS_VARIANTS)) {
    const bytes = memberGraph(ctx.members[0], { ops });
    for (const level of levels) cs.push(await sessionContender(`${name} @ ${level}`, bytes, { optimization: level }, B, S, ctx.config.vocabSize));
  }
  const seconds: Record<string, number> = Object.fromEntries(medians(await interleaved(cs, { warmup: ctx.opts.warmup, reps })));
  await releaseAll(cs);
  const fastest = Object.entries(seconds).sort((x, y) => x[1] - y[1])[0]![0];
  const defaultName = `${Object.entries(OPS_VARIANTS).find(([, o]) => JSON.stringify(o) === JSON.stringify(DEFAULT_OPS))?.[0] ?? 'custom'} @ all`;
  const best = seconds[fastest]!;
  const table = mdTable(
    ['kernels', ...levels.map((l) => `${l} seq/s`)],
    Object.keys(OPS_VARIANTS).map((name) => [name, ...levels.map((l) => {
      const t = seconds[`${name} @ ${l}`]!;
      return `${(B / t).toFixed(2)}${`${name} @ ${l}` === fastest ? ' **(fastest)**' : ''}`;
    })]),
  );
  const markdown = [
    `One member, batch ${B} × seq ${S}, fp32, every cell timed in one round-robin, ${reps} reps, medians. Every variant passes the parity tests (logits within 1e-4 of PyTorch, \`test/graph/fused-ops.test.ts\`).`,
    '',
    table,
    '',
    `Default (\`DEFAULT_OPS\` in src/graph/bert-graph.ts, session level \`all\`): ${defaultName}, ${ratio(seconds[defaultName] !== undefined ? best / seconds[defaultName]! : NaN)} the speed of the fastest cell here.`,
  ].join('\n');
  return { title: 'Kernels: fused contrib ops vs plain ONNX, per graphOptimizationLevel', markdown, data: { seconds, fastest, default: defaultName } };
}
