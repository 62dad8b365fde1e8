import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ort from 'onnxruntime-node';
import { median } from '../timing.js';
import { mdTable, ratio, releaseAll, repsFor, sessionContender, type BenchContext, type SectionResult } from '../context.js';
import { interleaved } from '../interleave.js';
import { combinedGraph, memberGraph } from '../models.js';
import { choosePeerBlas } from '../peer-blas.js';
import type { ThroughputData } from './throughput.js';

const PEER = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'torch_peer.py');

interface PeerTiming {
  readonly path: 'eager' | 'fastpath';
  readonly batch: number;
  readonly seq: number;
  readonly median: number;
}

interface PeerAnswer {
  readonly torch: string;
  readonly threads: number;
  readonly timings: PeerTiming[];
  readonly check_logits: Record<string, number[][][]>;
}

export interface TorchData {
  readonly available: boolean;
  readonly reason?: string;
  readonly version?: string;
  /** One member, every size: seconds per batch per path. */
  readonly single?: PeerTiming[];
  /** Two members at batch 8 × seq 128, probabilities averaged, both paths. */
  readonly pair?: PeerTiming[];
  /** ORT combined graph at batch 8 × seq 128, timed just before and after the pair peer. */
  readonly ortCombined?: number;
  readonly ortMember?: number;
  /** max |logit difference| between the peer and our graph on the same ids. */
  readonly maxLogitDiff?: number;
  /** The faster torch path's seconds for the pair. */
  readonly bestPair?: number;
}

export function torchAvailable(python: string): { ok: boolean; reason: string; version?: string } {
  const r = spawnSync(python, ['-c', 'import torch, numpy; print(torch.__version__)'], { encoding: 'utf8' });
  if (r.status !== 0) return { ok: false, reason: `${python} cannot import torch (apt-get install python3-torch)` };
  return { ok: true, reason: '', version: r.stdout.trim() };
}

function runPeer(ctx: BenchContext, env: NodeJS.ProcessEnv, request: object): PeerAnswer {
  const r = spawnSync(ctx.opts.python, [PEER], { env, input: JSON.stringify(request), encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`torch peer failed: ${r.stderr.trim().split('\n').slice(-1)[0]}`);
  return JSON.parse(r.stdout) as PeerAnswer;
}

/**
 * (e) PyTorch eager on the same weights, in the same run. The two-member comparison is
 * bracketed: onnxruntime's combined graph is timed right before and right after the peer, and the
 * median of both blocks is compared, so a load change between them shows up in neither alone.
 */
export async function torchPeer(ctx: BenchContext, tp: ThroughputData): Promise<SectionResult & { data: TorchData }> {
  const title = 'PyTorch eager peer (e)';
  const avail = torchAvailable(ctx.opts.python);
  if (!ctx.opts.torch || !avail.ok) {
    const reason = !ctx.opts.torch ? 'skipped (--no-torch)' : avail.reason;
    return { title, markdown: `Not measured: ${reason}.`, data: { available: false, reason } };
  }
  const threads = 2;
  const blas = choosePeerBlas(ctx.opts.python, threads, ctx.log);
  if (!blas.ok) return { title, markdown: `Not measured: ${blas.reason}.`, data: { available: false, reason: blas.reason } };
  const [a, b] = ctx.members;
  const paths = ['eager', 'fastpath'] as const;

  // Same ids through both: the peer is the same model, not just the same size.
  // (Reduced modulo the vocabulary so the tiny smoke model, 1,024 tokens, reads valid ids too.)
  const checkIds = [[101, 2023, 2003, 1037, 2307, 3185, 1012, 102], [101, 2009, 2001, 6659, 102, 0, 0, 0].map((x) => (x === 0 ? 1996 : x))].map((row) => row.map((x) => x % ctx.config.vocabSize));
  const member = memberGraph(a);
  const s = await sessionContender('member', member, {}, 1, 1, ctx.config.vocabSize);
  const ids = new ort.Tensor('int64', BigInt64Array.from(checkIds.flat().map(BigInt)), [2, 8]);
  const ours = (await s.session.run({ input_ids: ids, attention_mask: new ort.Tensor('int64', new BigInt64Array(16).fill(1n), [2, 8]), token_type_ids: new ort.Tensor('int64', new BigInt64Array(16), [2, 8]) }))['logits']!.data as Float32Array;
  await s.session.release();

  ctx.log('torch peer: one member at every size');
  const sizes = ctx.opts.quick ? ctx.opts.sizes.filter(([bb, ss]) => bb === 8 && ss === 128) : ctx.opts.sizes;
  const single = runPeer(ctx, blas.env, { models: [a], sizes, warmup: 1, reps: ctx.opts.quick ? 1 : 3, threads, paths, check_ids: checkIds });
  let maxLogitDiff = 0;
  for (const p of paths) single.check_logits[p]![0]!.flat().forEach((v, i) => (maxLogitDiff = Math.max(maxLogitDiff, Math.abs(v - ours[i]!))));

  const [B, S] = [8, 128] as const;
  const pairReps = ctx.opts.quick ? 1 : repsFor(ctx, B, S);
  const ortBlock = async (): Promise<{ combined: number[]; member: number[] }> => {
    const cs = [await sessionContender('combined', combinedGraph([a, b]), {}, B, S, ctx.config.vocabSize), await sessionContender('member', member, {}, B, S, ctx.config.vocabSize)];
    const t = await interleaved(cs, { warmup: 1, reps: pairReps });
    await releaseAll(cs);
    return { combined: t.get('combined')!, member: t.get('member')! };
  };
  ctx.log('torch peer: two members at 8 × 128, bracketed by onnxruntime');
  const before = await ortBlock();
  const pair = runPeer(ctx, blas.env, { models: [a, b], sizes: [[B, S]], warmup: 1, reps: pairReps, threads, paths });
  const after = await ortBlock();
  const ortCombined = median([...before.combined, ...after.combined]);
  const ortMember = median([...before.member, ...after.member]);

  const bestPair = Math.min(...pair.timings.map((t) => t.median));
  const rows = sizes.map(([bb, ss]) => {
    const eager = single.timings.find((t) => t.path === 'eager' && t.batch === bb && t.seq === ss)!.median;
    const fast = single.timings.find((t) => t.path === 'fastpath' && t.batch === bb && t.seq === ss)!.median;
    const ortT = tp.rows.find((r) => r.batch === bb && r.seq === ss)?.member ?? NaN;
    return [`${bb} × ${ss}`, bb / ortT, bb / eager, bb / fast, ratio(Math.min(eager, fast) / ortT)];
  });
  const pairEager = pair.timings.find((t) => t.path === 'eager')!.median;
  const pairFast = pair.timings.find((t) => t.path === 'fastpath')!.median;
  const markdown = [
    `Debian \`python3-torch\` ${single.torch} on ${blas.summary} (bench/peer-blas.ts gives the peer the fastest OpenBLAS kernels, build and OpenMP wait policy on this machine; on Debian's default reference BLAS the peer is ~8x slower and is not run), ${single.threads} threads, \`torch.inference_mode()\`, the same safetensors weights (\`bench/torch_peer.py\`). Two code paths: **eager** = Hugging Face's BertModel computation written out with nn.Linear/matmul/softmax/GELU; **fastpath** = nn.TransformerEncoderLayer, which torch dispatches to its fused BetterTransformer kernel in inference mode. Logits of the peer and our graph on the same ids differ by at most ${maxLogitDiff.toExponential(1)}.`,
    '',
    'One member, every size (onnxruntime numbers from the throughput table above):',
    '',
    mdTable(['batch × seq', 'onnxruntime seq/s', 'torch eager seq/s', 'torch fastpath seq/s', 'onnxruntime vs faster torch'], rows),
    '',
    `Two members at batch ${B} × seq ${S} (the target comparison). The peer runs both models one after the other and averages their probabilities; our side is the one combined graph, timed in two blocks right before and after the peer (${pairReps} reps each):`,
    '',
    mdTable(
      ['', 'seconds per batch', 'seq/s', 'combined graph vs this'],
      [
        ['onnxruntime combined graph', ortCombined, B / ortCombined, '–'],
        ['torch eager, two members', pairEager, B / pairEager, ratio(pairEager / ortCombined)],
        ['torch fastpath, two members', pairFast, B / pairFast, ratio(pairFast / ortCombined)],
      ],
    ),
  ].join('\n');
  return {
    title,
    markdown,
    data: { available: true, version: single.torch, single: single.timings, pair: pair.timings, ortCombined, ortMember, maxLogitDiff, bestPair },
  };
}
