import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { loadCheckpoint } from '../../src/checkpoint/load.js';
import { distill } from '../../src/distill/distill.js';
import { merge } from '../../src/merge/merge.js';
import { parseMergeRecipe } from '../../src/recipe/merge.js';
import { DATA, fixture } from '../helpers/fixtures.js';

test('merge, then heal: --student merge:<recipe> starts from the recipe\'s merge and trains it on the teacher', async () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'bertfuse-heal-'));
  const [A, B] = [fixture('sst2-sibling-a'), fixture('sst2-sibling-b')];
  const recipeFile = path.join(work, 'recipe.yaml');
  fs.writeFileSync(recipeFile, `merge_method: linear\nmodels:\n  - model: ${A}\n    parameters: { weight: 1 }\n  - model: ${B}\n    parameters: { weight: 1 }\n`);
  const texts = path.join(work, 'texts.txt');
  fs.writeFileSync(texts, fs.readFileSync(path.join(DATA, 'sst2_transfer.txt'), 'utf8').split('\n').slice(0, 32).join('\n') + '\n');
  const out = path.join(work, 'healed');
  const r = await distill({ teacher: [A, B], method: 'mean', student: `merge:${recipeFile}`, texts, epochs: 1, batchSize: 16, learningRate: 3e-4, out, runtime: { threads: 1 } });
  assert.equal(r.train.steps, 2);
  // Starting point: the same merge, made directly.
  const plain = await merge(parseMergeRecipe({ merge_method: 'linear', models: [{ model: A, parameters: { weight: 1 } }, { model: B, parameters: { weight: 1 } }], onnx: false }), { out: path.join(work, 'plain') });
  const [healed, merged] = [loadCheckpoint(out), loadCheckpoint(plain.out)];
  try {
    const name = 'bert.encoder.layer.0.attention.self.query.weight';
    const [h, m] = [healed.tensors.read(name).data, merged.tensors.read(name).data];
    let diff = 0;
    for (let i = 0; i < h.length; i++) diff = Math.max(diff, Math.abs(h[i]! - m[i]!));
    assert.ok(diff > 0 && diff < 0.05, `trained a little away from the merge (max |Δ| ${diff})`);
    assert.deepEqual(healed.config.labels, ['negative', 'positive']);
  } finally {
    healed.close();
    merged.close();
  }
});
