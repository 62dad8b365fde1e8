import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { loadCheckpoint } from '../../src/checkpoint/load.js';
import { createRandomCheckpoint } from '../../src/checkpoint/random.js';
import { classifierFromCheckpoint } from '../../src/runtime/classifier.js';
import { tempDir } from '../helpers/fixtures.js';

test('random checkpoints of any size are real HF folders, deterministic per seed', async () => {
  const dir = tempDir();
  const opts = { hiddenSize: 48, numLayers: 3, numHeads: 6, intermediateSize: 96, vocabSize: 3000, labels: ['a', 'b', 'c'], seed: 5 };
  await createRandomCheckpoint(path.join(dir, 'one'), opts);
  await createRandomCheckpoint(path.join(dir, 'two'), opts);
  await createRandomCheckpoint(path.join(dir, 'other'), { ...opts, seed: 6 });
  for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json', 'vocab.txt']) {
    assert.ok(fs.existsSync(path.join(dir, 'one', f)), f);
    assert.deepEqual(fs.readFileSync(path.join(dir, 'one', f)), fs.readFileSync(path.join(dir, 'two', f)), `${f} identical for the same seed`);
  }
  assert.notDeepEqual(fs.readFileSync(path.join(dir, 'one', 'model.safetensors')), fs.readFileSync(path.join(dir, 'other', 'model.safetensors')));
  const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'one', 'config.json'), 'utf8')) as Record<string, unknown>;
  assert.deepEqual(cfg['id2label'], { 0: 'a', 1: 'b', 2: 'c' });
  assert.deepEqual(cfg['architectures'], ['BertForSequenceClassification']);
  const ckpt = loadCheckpoint(path.join(dir, 'one'));
  assert.equal(ckpt.config.numLayers, 3);
  assert.equal(ckpt.tokenizer.vocabSize, 3000);
  // Real bert-base-uncased word pieces: a common word is one piece.
  assert.deepEqual(ckpt.tokenizer.tokens(ckpt.tokenizer.encode({ text: 'The film' }).inputIds), ['[CLS]', 'the', 'film', '[SEP]']);
  const model = await classifierFromCheckpoint(ckpt);
  const p = await model.predictProba([{ text: 'The film was fine.' }, { text: 'Bad.' }]);
  assert.equal(p.length, 6);
  for (let r = 0; r < 2; r++) assert.ok(Math.abs(p[r * 3]! + p[r * 3 + 1]! + p[r * 3 + 2]! - 1) < 1e-5);
  await model.close();
});
