import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { merge } from '../../src/merge/merge.js';
import { loadMergeRecipe } from '../../src/recipe/merge.js';
import { isOneLineError, runCli } from '../helpers/cli.js';
import { ROOT, tempDir } from '../helpers/fixtures.js';
import { A, B, assertClose, tensors } from './mergekit-helpers.js';

const EXAMPLES = path.join(ROOT, 'examples/mergekit');
const work = tempDir('bertfuse-mergekit-examples-');
const a = tensors(A);
const b = tensors(B);

/** float16 rounding, for the examples' `dtype: float16`: the nearest half, as float64. */
function f16(x: number): number {
  if (x === 0) return x;
  const e = Math.max(Math.floor(Math.log2(Math.abs(x))), -14);
  const ulp = 2 ** (e - 10);
  const q = x / ulp;
  const lo = Math.floor(q);
  const frac = q - lo;
  // Round half to even.
  return (frac < 0.5 || (frac === 0.5 && lo % 2 === 0) ? lo : lo + 1) * ulp;
}

test('every mergekit example recipe in examples/mergekit runs on the bundled models (run from the repository root)', async () => {
  const files = fs.readdirSync(EXAMPLES).filter((f) => f.endsWith('.yml')).sort();
  assert.ok(files.length >= 5, files.join(', '));
  const cwd = process.cwd();
  process.chdir(ROOT);
  try {
    for (const f of files) {
      const out = path.join(work, f.replace('.yml', ''));
      const r = await merge(loadMergeRecipe(path.join('examples/mergekit', f)), { out });
      assert.ok(fs.existsSync(path.join(out, 'model.onnx')) && fs.existsSync(path.join(out, 'merge.yaml')), f);
      assert.equal(r.tasks[0]!.labels.join(','), 'negative,positive', f);
    }
  } finally {
    process.chdir(cwd);
  }
  // gradient-slerp: t runs 0 → 1 over the layers for attention (first value at layer 0, last at layer 1), 1 → 0 for intermediate.
  const g = tensors(path.join(work, 'gradient-slerp'));
  for (const [name, want] of [
    ['bert.encoder.layer.0.attention.self.query.weight', a],
    ['bert.encoder.layer.1.attention.self.query.weight', b],
    ['bert.encoder.layer.0.intermediate.dense.weight', b],
    ['bert.encoder.layer.1.intermediate.dense.weight', a],
  ] as const) {
    assertClose(name, g.get(name), want.get(name)!.map(f16), 0);
  }
});

test('bertfuse merge recipe.yml out/ works like mergekit-yaml (positional output folder)', async () => {
  const out = path.join(work, 'cli-ties');
  const r = await runCli(['merge', 'examples/mergekit/ties.yml', out, '--no-onnx']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^merged 2 models with ties into /);
  assert.match(r.stdout, /note: int8_mask: true only changes the memory type/);
  assert.ok(fs.existsSync(path.join(out, 'model.safetensors.index.json')));
  const clash = await runCli(['merge', 'examples/mergekit/ties.yml', out, '--out', path.join(work, 'elsewhere')]);
  assert.ok(isOneLineError(clash) && /two output folders given/.test(clash.stderr), clash.stderr);
});
