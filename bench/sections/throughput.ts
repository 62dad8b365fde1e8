import { mdTable, pct, releaseAll, repsFor, sessionContender, type BenchContext, type SectionResult } from '../context.js';
import { encoderFlops } from '../flops.js';
import { interleaved, medians } from '../interleave.js';
import { combinedGraph, memberGraph } from '../models.js';

export interface ThroughputRow {
  readonly batch: number;
  readonly seq: number;
  /** Median seconds per batch. */
  readonly member: number;
  readonly memberB: number;
  readonly combined: number;
  readonly merged: number | null;
  readonly reps: number;
}

export interface ThroughputData {
  readonly rows: ThroughputRow[];
  readonly mergeNote: string;
  /** GFLOP of one encoder pass over one sequence of each length. */
  readonly flopsPerSeq: Record<number, number>;
}

/**
 * (a) one member, (b) the two-member combined graph, (c) the merged single encoder, and the two
 * members run alone back to back, timed round-robin at every batch × sequence size.
 */
export async function throughput(ctx: BenchContext, merged: { dir: string | null; note: string }, ceilingGflops: number): Promise<SectionResult & { data: ThroughputData }> {
  const [a, b] = ctx.members;
  const vocab = ctx.config.vocabSize;
  ctx.log('building member, combined and merged graphs');
  const graphs: [string, Uint8Array][] = [
    ['member', memberGraph(a)],
    ['memberB', memberGraph(b)],
    ['combined', combinedGraph([a, b])],
  ];
  if (merged.dir) graphs.push(['merged', memberGraph(merged.dir)]);
  const rows: ThroughputRow[] = [];
  for (const [batch, seq] of ctx.opts.sizes) {
    const reps = repsFor(ctx, batch, seq);
    ctx.log(`throughput batch ${batch} seq ${seq} (${reps} reps)`);
    const cs = [];
    for (const [name, bytes] of graphs) cs.push(await sessionContender(name, bytes, {}, batch, seq, vocab));
    const t = medians(await interleaved(cs, { warmup: ctx.opts.warmup, reps }));
    await releaseAll(cs);
    rows.push({ batch, seq, member: t.get('member')!, memberB: t.get('memberB')!, combined: t.get('combined')!, merged: t.get('merged') ?? null, reps });
  }
  const seqs = [...new Set(rows.map((r) => r.seq))];
  const flopsPerSeq = Object.fromEntries(seqs.map((s) => [s, encoderFlops(ctx.config, 1, s) / 1e9]));
  const gf = (r: ThroughputRow, t: number, encoders: number): number => (encoders * r.batch * flopsPerSeq[r.seq]!) / t;
  const table = mdTable(
    ['batch × seq', '(a) one member seq/s', 'GFLOP/s', '% of ceiling', 'two members back to back seq/s', '(b) combined seq/s', 'GFLOP/s', 'combined vs back to back', '(c) merged seq/s', 'reps'],
    rows.map((r) => [
      `${r.batch} × ${r.seq}`,
      r.batch / r.member,
      gf(r, r.member, 1),
      pct(gf(r, r.member, 1) / ceilingGflops),
      r.batch / (r.member + r.memberB),
      r.batch / r.combined,
      gf(r, r.combined, 2),
      `${r.combined > r.member + r.memberB ? '+' : '−'}${pct(Math.abs(r.combined / (r.member + r.memberB) - 1))} time`,
      r.merged === null ? '–' : r.batch / r.merged,
      String(r.reps),
    ]),
  );
  const markdown = [
    `Random-weight ${ctx.opts.size === 'base' ? 'BERT-base' : 'tiny'} members (${ctx.config.numLayers} layers, hidden ${ctx.config.hiddenSize}, ${ctx.config.numHeads} heads, FFN ${ctx.config.intermediateSize}, vocabulary ${ctx.config.vocabSize}), default graph (fused contrib ops) and default session options, fp32. Random token ids, no padding. Contenders are timed round-robin (one run of each in turn) so background load falls on all alike; medians.`,
    '',
    '- **(a)** one member (`buildBertModel`); the second member is timed too, for the back-to-back sum.',
    '- **(b)** the two-member combined graph from `src/graph/combine.ts` with the `mean` head (one session, both encoders, averaged probabilities).',
    `- **(c)** the merged single encoder: ${merged.note}. Same graph shape as one member.`,
    '',
    table,
    '',
    `GFLOP/s counts the encoder's matrix products analytically: B · [L · S · (8H² + 4H·I + 4S·H) + 2H² + 2H·labels] FLOPs (Q, K, V, attention-output and FFN dense layers; QKᵀ and probs·V; pooler and classifier), = ${seqs.map((s) => `${flopsPerSeq[s]!.toFixed(2)} GFLOP per sequence at S = ${s}`).join(', ')}. Embeddings, LayerNorm, softmax and GELU are not counted, so the rate slightly understates the work. "% of ceiling" is against the MatMul ceiling above.`,
  ].join('\n');
  return { title: 'Throughput: one member, combined graph, merged encoder (a–c)', markdown, data: { rows, mergeNote: merged.note, flopsPerSeq } };
}

export function combinedVsBackToBack(r: ThroughputRow): number {
  return r.combined / (r.member + r.memberB);
}
