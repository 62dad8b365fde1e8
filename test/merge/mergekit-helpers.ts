import fs from 'node:fs';
import path from 'node:path';
import assert from 'node:assert/strict';
import { loadCheckpoint } from '../../src/checkpoint/load.js';
import { writeSafetensorsFromMap } from '../../src/checkpoint/safetensors.js';
import type { Tensor } from '../../src/checkpoint/tensor-store.js';
import { merge, type MergeResult } from '../../src/merge/merge.js';
import { parseMergeRecipe } from '../../src/recipe/merge.js';
import { copyFixture, fixture, tempDir } from '../helpers/fixtures.js';

/**
 * What the mergekit-semantics tests share: the bundled models' raw tensors (read, never merged, by
 * bertfuse) and a merge run from a recipe object. Expected values are computed in each test from
 * the formulas, in float64.
 */

export const A = fixture('sst2-sibling-a');
export const B = fixture('sst2-sibling-b');
export const BASE = fixture('base-mlm');

/** Every tensor of a checkpoint folder by its stored name, as float64. */
export function tensors(dir: string): Map<string, Float64Array> {
  const c = loadCheckpoint(dir);
  try {
    return new Map(c.tensors.names().map((n) => [n, Float64Array.from(c.tensors.read(n).data)]));
  } finally {
    c.close();
  }
}

export function shapeOf(dir: string, name: string): readonly number[] {
  const c = loadCheckpoint(dir);
  try {
    return c.tensors.info(name).shape;
  } finally {
    c.close();
  }
}

const outRoot = tempDir('bertfuse-mergekit-');
let runs = 0;

/** Merge a recipe (plain object, as YAML would give) into a fresh folder; ONNX export off for speed. */
export async function runRecipe(raw: Record<string, unknown>): Promise<{ out: string; result: MergeResult; got: Map<string, Float64Array> }> {
  const out = path.join(outRoot, `m${++runs}`);
  const result = await merge(parseMergeRecipe({ onnx: false, ...raw }), { out });
  // With separate heads the folder holds one checkpoint per task; the encoder is the same in each.
  return { out, result, got: tensors(path.join(out, result.tasks[0]!.folder)) };
}

/** Element-wise |got − want| ≤ tol, naming the tensor and index of the first miss. */
export function assertClose(name: string, got: ArrayLike<number> | undefined, want: ArrayLike<number>, tol = 1e-6): void {
  assert.ok(got, `${name}: missing from the merge`);
  assert.equal(got.length, want.length, `${name}: length`);
  for (let i = 0; i < want.length; i++) {
    if (!(Math.abs(got[i]! - want[i]!) <= tol)) assert.fail(`${name}[${i}]: got ${got[i]}, want ${want[i]} (tol ${tol})`);
  }
}

/** Element-wise map over several same-length arrays. */
export function zip(arrays: readonly ArrayLike<number>[], f: (...xs: number[]) => number): Float64Array {
  const n = arrays[0]!.length;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = f(...arrays.map((a) => a[i]!));
  return out;
}

/**
 * A copy of a classifier folder whose labels are listed in another order (or renamed), the
 * classifier rows permuted with them: the same model, a different label order on disk.
 */
export function relabelled(name: string, labels: readonly string[], rowOrder: readonly number[]): string {
  const dir = copyFixture(name, path.join(tempDir(), `${name}-relabelled`));
  const cfgFile = path.join(dir, 'config.json');
  const cfg = JSON.parse(fs.readFileSync(cfgFile, 'utf8')) as Record<string, unknown>;
  cfg['id2label'] = Object.fromEntries(labels.map((l, i) => [String(i), l]));
  cfg['label2id'] = Object.fromEntries(labels.map((l, i) => [l, i]));
  fs.writeFileSync(cfgFile, JSON.stringify(cfg, null, 2));
  const c = loadCheckpoint(dir);
  const map = new Map<string, Tensor>();
  try {
    for (const n of c.tensors.names()) {
      const t = c.tensors.read(n);
      if (n === 'classifier.weight' || n === 'classifier.bias') {
        const row = t.data.length / t.shape[0]!;
        const data = new Float32Array(t.data.length);
        rowOrder.forEach((src, dst) => data.set(t.data.subarray(src * row, (src + 1) * row), dst * row));
        map.set(n, { shape: t.shape, data });
      } else map.set(n, { shape: t.shape, data: Float32Array.from(t.data) });
    }
  } finally {
    c.close();
  }
  writeSafetensorsFromMap(path.join(dir, 'model.safetensors'), map);
  return dir;
}
