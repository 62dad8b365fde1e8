/**
 * The code paths a damaged checkpoint folder is pushed through. Each takes the folder and an output
 * path; a refusal must come before anything is written there.
 */
import fs from 'node:fs';
import path from 'node:path';
import { loadCheckpoint } from '../../src/checkpoint/load.js';
import { buildBertGraph } from '../../src/graph/bert-model.js';
import { saveOnnx } from '../../src/graph/save.js';
import { merge } from '../../src/merge/merge.js';
import { parseMergeRecipe } from '../../src/recipe/merge.js';
import { fixture } from '../helpers/fixtures.js';

export interface CheckpointConsumer {
  readonly name: string;
  /** Whether it writes `out` (so the no-output assertion means something). */
  readonly writes: boolean;
  run(dir: string, out: string): Promise<void>;
}

export const LOAD: CheckpointConsumer = {
  name: 'loadCheckpoint',
  writes: false,
  async run(dir) {
    loadCheckpoint(dir).close();
  },
};

/** Load, build the ONNX graph (reads every tensor), save it: the pipeline every exporter shares. */
export const EXPORT_ONNX: CheckpointConsumer = {
  name: 'export to ONNX',
  writes: true,
  async run(dir, out) {
    const c = loadCheckpoint(dir);
    try {
      saveOnnx(buildBertGraph(c), out);
    } finally {
      c.close();
    }
  },
};

/** A linear merge of a good member with the damaged one, into a folder beside `out`. */
export const MERGE: CheckpointConsumer = {
  name: 'merge',
  writes: true,
  async run(dir, out) {
    const recipe = parseMergeRecipe({ merge_method: 'linear', models: [{ model: fixture('sst2-sibling-b') }, { model: dir }] });
    await merge(recipe, { out: path.join(path.dirname(out), 'merged') });
  },
};

export const CHECKPOINT_CONSUMERS: readonly CheckpointConsumer[] = [LOAD, EXPORT_ONNX, MERGE];

/** Every path a consumer may write for `out`. */
export function outputsOf(out: string): string[] {
  return [out, path.join(path.dirname(out), 'merged')];
}

/**
 * A writable model folder made from a fixture without copying its weights unless asked: the small
 * files are copied, model.safetensors is copied only when `withWeights` (cases that damage it
 * write their own).
 */
export function stageFixture(src: string, dest: string, withWeights = true): string {
  fs.mkdirSync(dest, { recursive: true });
  for (const f of fs.readdirSync(src)) {
    if (f === 'reference.json' || f === 'metrics.json') continue;
    if (!withWeights && f === 'model.safetensors') continue;
    fs.copyFileSync(path.join(src, f), path.join(dest, f));
    fs.chmodSync(path.join(dest, f), 0o644);
  }
  return dest;
}
