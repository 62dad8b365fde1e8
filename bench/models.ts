import fs from 'node:fs';
import path from 'node:path';
import { loadCheckpoint } from '../src/checkpoint/load.js';
import { BERT_BASE, createRandomCheckpoint, type RandomCheckpointOptions } from '../src/checkpoint/random.js';
import type { EncoderOps } from '../src/graph/bert-graph.js';
import { buildBertGraph } from '../src/graph/bert-model.js';
import { buildCombinedGraph } from '../src/graph/combine.js';
import { encodeModel, type GraphBuilder } from '../src/graph/onnx-builder.js';
import { quantizeGraph, type QuantizeOptions } from '../src/graph/quantize.js';
import { mean } from '../src/fusion/mean.js';
import { merge } from '../src/merge/merge.js';
import { parseMergeRecipe } from '../src/recipe/merge.js';

/** Model size of a run: BERT-base for the real numbers, a toy for the smoke test. */
export type BenchSize = 'base' | 'tiny';

export const TINY: RandomCheckpointOptions = { hiddenSize: 64, numLayers: 2, numHeads: 4, intermediateSize: 256, vocabSize: 1024, maxPositions: 128 };

export function sizeOptions(size: BenchSize): RandomCheckpointOptions {
  return size === 'base' ? BERT_BASE : TINY;
}

/** Two random-weight members (different seeds) in `tmp`; they are never committed. */
export async function createMembers(tmp: string, size: BenchSize): Promise<[string, string]> {
  const a = path.join(tmp, 'member-a');
  const b = path.join(tmp, 'member-b');
  await createRandomCheckpoint(a, { ...sizeOptions(size), seed: 1 });
  await createRandomCheckpoint(b, { ...sizeOptions(size), seed: 2 });
  return [a, b];
}

export interface GraphOptions {
  readonly ops?: Partial<EncoderOps>;
  readonly quantize?: QuantizeOptions | null;
}

function finish(g: GraphBuilder, opts: GraphOptions): Uint8Array {
  if (opts.quantize) quantizeGraph(g, opts.quantize);
  return encodeModel(g.toModel());
}

/** One member's graph, as `predict` builds it. */
export function memberGraph(dir: string, opts: GraphOptions = {}): Uint8Array {
  const ckpt = loadCheckpoint(dir);
  try {
    return finish(buildBertGraph(ckpt, opts.ops ? { ops: opts.ops } : {}), opts);
  } finally {
    ckpt.close();
  }
}

/**
 * The two-member combined graph from src/graph/combine.ts with the `mean` head (average of the
 * members' probabilities). Both members read the same inputs (one tokenizer group).
 */
export function combinedGraph(dirs: readonly string[], opts: GraphOptions = {}): Uint8Array {
  const ckpts = dirs.map((d) => loadCheckpoint(d));
  try {
    const labels = ckpts[0]!.config.labels!;
    const M = ckpts.length;
    // The composer emits members with the default kernels; `ops` applies to member graphs only.
    const g = buildCombinedGraph({
      members: ckpts.map((c, i) => ({ name: `m${i}`, weights: c, group: 0, alignment: labels.map((_, j) => j) })),
      labels,
      method: mean,
      params: { weights: new Array<number>(M).fill(1 / M), temperatures: new Array<number>(M).fill(1), postTemperature: 1 },
    });
    return finish(g, opts);
  } finally {
    for (const c of ckpts) c.close();
  }
}

/**
 * A linear (average) weight merge of the members through src/merge — one encoder of the same
 * shape, so its graph costs what one member's does. Returns null with the reason if it fails.
 */
export async function mergedCheckpoint(dirs: readonly string[], out: string): Promise<{ dir: string | null; note: string }> {
  try {
    const recipe = parseMergeRecipe({ merge_method: 'linear', models: dirs.map((model) => ({ model })), onnx: false }, 'bench');
    await merge(recipe, { out });
    if (!fs.existsSync(path.join(out, 'config.json'))) return { dir: null, note: 'the merge wrote no config.json' };
    return { dir: out, note: 'linear merge of the two members by src/merge' };
  } catch (e) {
    return { dir: null, note: `merge failed: ${(e as Error).message.split('\n')[0]}` };
  }
}
