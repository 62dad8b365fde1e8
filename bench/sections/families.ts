import path from 'node:path';
import { FUSED_OPS } from '../../src/graph/bert-graph.js';
import { createSession } from '../../src/runtime/session.js';
import { mdTable, pct, releaseAll, type BenchContext, type SectionResult } from '../context.js';
import { syntheticFeeds } from '../feeds.js';
import { BENCH_FAMILIES, createFamilyCheckpoint } from '../families.js';
import { encoderFlops } from '../flops.js';
import { interleaved, medians } from '../interleave.js';
import { memberGraph } from '../models.js';

export interface FamilyRow {
  readonly family: string;
  readonly precision: 'fp32' | 'int8';
  readonly seqPerSecond: number;
  /** Achieved matrix-product GFLOP/s over the MatMul ceiling. */
  readonly ceilingShare: number;
}

/**
 * Each BERT-shaped family at base size with random weights, at batch 8 × seq 128, fp32 and int8,
 * next to BERT-base (member a), timed round-robin: sequences per second and the share of the
 * MatMul ceiling (its encoder FLOPs per second over the ceiling section's best rate).
 */
export async function familiesSection(ctx: BenchContext, ceilingGflops: number): Promise<SectionResult & { data: FamilyRow[] }> {
  const [B, S] = ctx.opts.size === 'base' ? [8, 128] : [8, 32];
  const models = [
    { family: 'bert', dir: ctx.members[0], config: ctx.config, tokenTypes: true },
    ...BENCH_FAMILIES.map((f) => {
      const dir = path.join(ctx.tmp, `family-${f}`);
      ctx.log(`families: writing a random ${f} (${ctx.opts.size})`);
      return { family: f as string, dir, config: createFamilyCheckpoint(dir, f, ctx.opts.size), tokenTypes: false };
    }),
  ];
  const contenders = [];
  for (const m of models) {
    for (const precision of ['fp32', 'int8'] as const) {
      const bytes = memberGraph(m.dir, { ops: FUSED_OPS, quantize: precision === 'int8' ? {} : null });
      const session = await createSession(bytes, {});
      // Families without token types declare no token_type_ids input, so none is fed.
      const feeds = syntheticFeeds(B, S, Math.min(m.config.vocabSize, 6000), { tokenTypes: m.tokenTypes });
      contenders.push({ name: `${m.family} ${precision}`, session, run: () => session.run(feeds), model: m, precision });
    }
  }
  try {
    const t = medians(await interleaved(contenders, { warmup: ctx.opts.warmup, reps: ctx.opts.quick ? 2 : 5 }));
    const rows: FamilyRow[] = contenders.map((c) => {
      const seconds = t.get(c.name)!;
      return { family: c.model.family, precision: c.precision, seqPerSecond: B / seconds, ceilingShare: encoderFlops(c.model.config, B, S) / seconds / 1e9 / ceilingGflops };
    });
    const markdown = [
      `Random-weight models at ${ctx.opts.size === 'base' ? 'base size (BERT-base, distilbert-base: 6 layers, roberta-base: 12 layers, 50,265 tokens)' : 'tiny size'}, batch ${B} × seq ${S}, default kernels (fused), timed round-robin; share = encoder matrix-product FLOP/s over the MatMul ceiling above.`,
      '',
      mdTable(['family', 'precision', 'seq/s', 'share of ceiling'], rows.map((r) => [r.family, r.precision, r.seqPerSecond.toFixed(1), pct(r.ceilingShare)])),
    ].join('\n');
    return { title: 'Families', markdown, data: rows };
  } finally {
    await releaseAll(contenders);
  }
}
