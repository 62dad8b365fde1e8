import ort from 'onnxruntime-node';
import type { BertConfig } from '../../src/checkpoint/config.js';
import { attr, encodeModel, GraphBuilder } from '../../src/graph/onnx-builder.js';
import { createSession, type Session } from '../../src/runtime/session.js';
import { Rng } from '../../src/util/rng.js';
import { mdTable, pct, sessionContender, type BenchContext, type SectionResult } from '../context.js';
import { encoderFlops } from '../flops.js';
import { interleaved, medians } from '../interleave.js';
import { memberGraph } from '../models.js';

export interface CeilingData {
  readonly shapes: { name: string; seconds: number; gflops: number }[];
  /** The best of them: this machine's practical fp32 FLOP rate in onnxruntime. */
  readonly gflops: number;
  /** One member at batch 8 × seq 128, timed in the same round-robin: its matrix-product rate. */
  readonly encoderGflops: number;
}

export interface MatMulGraph {
  readonly name: string;
  readonly bytes: Uint8Array;
  readonly rows: number;
  readonly cols: number;
  readonly flops: number;
}

/**
 * Only MatMuls, reduced to one number at the end: handing a 16 MB product back to JavaScript
 * costs as much as a third of a 2048² MatMul here, and that is transfer, not arithmetic.
 */
function matmulGraph(name: string, rows: number, build: (g: GraphBuilder, x: string, weight: (k: number, n: number) => string) => string[]): MatMulGraph {
  const g = new GraphBuilder('matmul');
  const rng = new Rng(1);
  let flops = 0;
  let width = 0;
  const input = g.input('a', 'float', [rows, 'k']);
  const weight = (k: number, n: number): string => {
    if (!width) width = k;
    flops += 2 * rows * k * n;
    return g.initializer('w', Float32Array.from({ length: k * n }, () => rng.normal() / Math.sqrt(k)), [k, n]);
  };
  const ends = build(g, input, weight);
  const sums = ends.map((e) => g.op('ReduceSum', [e], { keepdims: attr.int(0) }));
  g.output(sums.length === 1 ? sums[0]! : g.op('Sum', sums), 'c', 'float', []);
  return { name, bytes: encodeModel(g.toModel()), rows, cols: width, flops };
}

/** Four chained 2048² products. */
function square(): MatMulGraph {
  return matmulGraph('4 chained MatMuls [2048 × 2048] · [2048 × 2048]', 2048, (g, x, w) => {
    let y = x;
    for (let i = 0; i < 4; i++) y = g.op('MatMul', [y, w(2048, 2048)]);
    return [y];
  });
}

/**
 * The encoder's own linear layers at batch 8 × seq 128 (1,024 tokens), nothing else: per layer
 * Q/K/V [H → 3H] (a side branch, as in the encoder), attention output [H → H], FFN [H → I → H].
 */
export function encoderShaped(cfg: Pick<BertConfig, 'hiddenSize' | 'intermediateSize' | 'numLayers'>, tokens: number): MatMulGraph {
  const H = cfg.hiddenSize;
  const I = cfg.intermediateSize;
  return matmulGraph(`the encoder's linear layers only: ${cfg.numLayers} × ([${tokens} × ${H}] · [${H} × ${3 * H}], · [${H} × ${H}], · [${H} × ${I}], · [${I} × ${H}])`, tokens, (g, x, w) => {
    const side: string[] = [];
    let y = x;
    for (let l = 0; l < cfg.numLayers; l++) {
      side.push(g.op('MatMul', [y, w(H, 3 * H)]));
      y = g.op('MatMul', [g.op('MatMul', [g.op('MatMul', [y, w(H, H)]), w(H, I)]), w(I, H)]);
    }
    return [y, ...side];
  });
}

/** A MatMul graph as a round-robin contender (random input, created once). */
export async function matmulContender(m: MatMulGraph, seed = 2): Promise<{ name: string; session: Session; run: () => Promise<unknown> }> {
  const rng = new Rng(seed);
  const session = await createSession(m.bytes);
  const feeds = { a: new ort.Tensor('float32', Float32Array.from({ length: m.rows * m.cols }, () => rng.normal()), [m.rows, m.cols]) };
  return { name: m.name, session, run: () => session.run(feeds) };
}

/**
 * (d) The practical fp32 ceiling: plain MatMuls in onnxruntime, a 2048² chain and the encoder's
 * own matrix shapes, timed round-robin with one member so all three see the same machine.
 */
export async function ceiling(ctx: BenchContext): Promise<SectionResult & { data: CeilingData }> {
  const [B, S] = [8, 128];
  const graphs = ctx.opts.size === 'base' ? [square(), encoderShaped(ctx.config, B * S)] : [encoderShaped(ctx.config, B * S)];
  const cs: { name: string; session: Session; run: () => Promise<unknown> }[] = [];
  cs.push(await sessionContender('encoder', memberGraph(ctx.members[0]), {}, B, S, ctx.config.vocabSize));
  for (const [i, m] of graphs.entries()) cs.push(await matmulContender(m, 2 + i));
  ctx.log('MatMul ceiling');
  const t = medians(await interleaved(cs, { warmup: ctx.opts.warmup, reps: ctx.opts.quick ? 3 : 6 }));
  for (const c of cs) await c.session.release();
  const rows = graphs.map((m) => ({ name: m.name, seconds: t.get(m.name)!, gflops: m.flops / t.get(m.name)! / 1e9 }));
  const best = Math.max(...rows.map((r) => r.gflops));
  const encoderSeconds = t.get('encoder')!;
  const encoderGflops = encoderFlops(ctx.config, B, S) / encoderSeconds / 1e9;
  const markdown = [
    `Plain MatMul graphs, fp32, default session options (all intra-op threads), each reduced to one number so no large tensor travels back to JavaScript; timed round-robin with one member at batch ${B} × seq ${S} so all see the same machine; medians of ${ctx.opts.quick ? 3 : 6}.`,
    '',
    mdTable(
      ['graph', 'ms', 'GFLOP/s', 'share of ceiling'],
      [
        ...rows.map((r) => [`MatMul: ${r.name}`, r.seconds * 1000, r.gflops, pct(r.gflops / best)]),
        [`BERT encoder, one member, ${B} × ${S} (matrix-product FLOPs, formula below)`, encoderSeconds * 1000, encoderGflops, pct(encoderGflops / best)],
      ],
    ),
    '',
    `Ceiling used below: **${best.toFixed(0)} GFLOP/s** (the faster MatMul graph).`,
  ].join('\n');
  return { title: 'FLOP ceiling: plain MatMul (d)', markdown, data: { shapes: rows, gflops: best, encoderGflops } };
}
