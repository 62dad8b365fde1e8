import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { loadCheckpoint } from '../../src/checkpoint/load.js';
import { fisher } from '../../src/merge/fisher.js';
import { merge } from '../../src/merge/merge.js';
import { parseMergeRecipe } from '../../src/recipe/merge.js';
import { diagonalFisher } from '../../src/train/fisher.js';
import { DATA, fixture } from '../helpers/fixtures.js';

test('fisher method: Fisher-weighted average per parameter, floored', () => {
  const r = fisher.merge({
    name: 't',
    shape: [3],
    tensors: [Float32Array.from([1, 1, 1]), Float32Array.from([3, 3, 3])],
    fisher: [Float32Array.from([1, 0, 3]), Float32Array.from([1, 0, 1])],
    base: null,
    params: { fisher_floor: 1e-6 },
    modelParams: [{ weight: 1 }, { weight: 1 }],
    seed: 0,
    grams: null,
  });
  // (1·1 + 1·3)/2 = 2; both floored → plain mean 2; (3·1 + 1·3)/4 = 1.5
  assert.deepEqual([...r.data], [2, 2, 1.5]);
});

test('merge_method: fisher merges sst2-sibling-a + sst2-sibling-b with each member\'s diagonal Fisher on the texts', async () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'bertfuse-fisher-'));
  const texts = path.join(work, 'texts.txt');
  fs.writeFileSync(texts, fs.readFileSync(path.join(DATA, 'sst2_transfer.txt'), 'utf8').split('\n').slice(0, 6).join('\n') + '\n');
  const A = fixture('sst2-sibling-a');
  const B = fixture('sst2-sibling-b');
  const recipe = parseMergeRecipe({ merge_method: 'fisher', models: [{ model: A }, { model: B }], texts, onnx: false });
  const r = await merge(recipe, { out: path.join(work, 'out'), threads: 1 });
  const merged = loadCheckpoint(r.out);
  const [a, b] = [loadCheckpoint(A), loadCheckpoint(B)];
  try {
    const rows = fs.readFileSync(texts, 'utf8').trim().split('\n').map((text) => ({ text }));
    const [fa, fb] = [await diagonalFisher(a, rows.map((t) => a.tokenizer.encode(t)), 0, { runtime: { threads: 1 } }), await diagonalFisher(b, rows.map((t) => b.tokenizer.encode(t)), 0, { runtime: { threads: 1 } })];
    for (const name of ['classifier.bias', 'bert.encoder.layer.1.output.dense.bias', 'bert.embeddings.LayerNorm.weight']) {
      const [wa, wb, wm] = [a.tensors.read(name).data, b.tensors.read(name).data, merged.tensors.read(name).data];
      for (let j = 0; j < wm.length; j++) {
        const ga = Math.max(fa.get(name)![j]!, 1e-6);
        const gb = Math.max(fb.get(name)![j]!, 1e-6);
        const want = (ga * wa[j]! + gb * wb[j]!) / (ga + gb);
        assert.ok(Math.abs(wm[j]! - want) < 1e-6 + 1e-5 * Math.abs(want), `${name}[${j}]: ${wm[j]} vs ${want}`);
      }
    }
  } finally {
    merged.close();
    a.close();
    b.close();
  }
});
