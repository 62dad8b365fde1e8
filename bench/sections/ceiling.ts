import ort from 'onnxruntime-node';
import { encodeModel, GraphBuilder } from '../../src/graph/onnx-builder.js';
import { createSession, type Session } from '../../src/runtime/session.js';
import { Rng } from '../../src/util/rng.js';
import { mdTable, pct, sessionContender, type BenchContext, type SectionResult } from '../context.js';
import { encoderFlops, matmulFlops } from '../flops.js';
import { memberGraph } from '../models.js';
import { interleaved, medians } from '../interleave.js';

export interface CeilingData {
  readonly shapes: { m: number; k: number; n: number; seconds: number; gflops: number }[];
  /** The best of them: this machine's practical fp32 FLOP rate in onnxruntime. */
  readonly gflops: number;
  /** One member at batch 8 × seq 128, timed in the same round-robin: its matrix-product rate. */
  readonly encoderGflops: number;
}

function matmulModel(m: number, k: number, n: number): Uint8Array {
  const g = new GraphBuilder('matmul');
  const rng = new Rng(1);
  const a = g.input('a', 'float', [m, k]);
  const b = g.initializer('b', Float32Array.from({ length: k * n }, () => rng.normal()), [k, n]);
  g.output(g.op('MatMul', [a, b]), 'c', 'float', [m, n]);
  return encodeModel(g.toModel());
}

/**
 * (d) A plain MatMul in onnxruntime: a 2048² square and the encoder's own FFN shape
 * (batch 8 × seq 128 tokens × 768 → 3072). The faster is the ceiling the encoder is held to.
 */
export async function ceiling(ctx: BenchContext): Promise<SectionResult & { data: CeilingData }> {
  const H = ctx.config.hiddenSize;
  const I = ctx.config.intermediateSize;
  const tokens = 8 * 128;
  const shapes: [number, number, number][] = ctx.opts.size === 'base' ? [[2048, 2048, 2048], [tokens, H, I]] : [[256, 256, 256], [tokens, H, I]];
  const cs: { name: string; session: Session; run: () => Promise<unknown> }[] = [];
  const [B, S] = [8, 128];
  cs.push(await sessionContender('encoder', memberGraph(ctx.members[0]), {}, B, S, ctx.config.vocabSize));
  for (const [m, k, n] of shapes) {
    const session = await createSession(matmulModel(m, k, n));
    const feeds = { a: new ort.Tensor('float32', Float32Array.from({ length: m * k }, (_, i) => ((i * 7919) % 1000) / 1000 - 0.5), [m, k]) };
    cs.push({ name: `${m}x${k}x${n}`, session, run: () => session.run(feeds) });
  }
  ctx.log('MatMul ceiling');
  const t = medians(await interleaved(cs, { warmup: ctx.opts.warmup + 1, reps: ctx.opts.quick ? 3 : 8 }));
  for (const c of cs) await c.session.release();
  const rows = shapes.map(([m, k, n]) => {
    const seconds = t.get(`${m}x${k}x${n}`)!;
    return { m, k, n, seconds, gflops: matmulFlops(m, k, n) / seconds / 1e9 };
  });
  const best = Math.max(...rows.map((r) => r.gflops));
  const encoderSeconds = t.get('encoder')!;
  const encoderGflops = encoderFlops(ctx.config, B, S) / encoderSeconds / 1e9;
  const markdown = [
    `A single MatMul node, fp32, default session options (all intra-op threads), timed round-robin with one member at batch ${B} × seq ${S} so both see the same machine; medians.`,
    '',
    mdTable(
      ['graph', 'ms', 'GFLOP/s', 'share of ceiling'],
      [
        ...rows.map((r) => [`MatMul [${r.m} × ${r.k}] · [${r.k} × ${r.n}]`, r.seconds * 1000, r.gflops, pct(r.gflops / best)]),
        [`BERT encoder, one member, ${B} × ${S} (matrix-product FLOPs, formula below)`, encoderSeconds * 1000, encoderGflops, pct(encoderGflops / best)],
      ],
    ),
    '',
    `Ceiling used below: **${best.toFixed(0)} GFLOP/s** (the faster MatMul).`,
  ].join('\n');
  return { title: 'FLOP ceiling: one large MatMul (d)', markdown, data: { shapes: rows, gflops: best, encoderGflops } };
}
