import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { loadCheckpoint } from '../../src/checkpoint/load.js';
import { buildBertGraph } from '../../src/graph/bert-model.js';
import { saveOnnx } from '../../src/graph/save.js';
import { GraphRunner } from '../../src/runtime/runner.js';
import { fixture, tempDir } from '../helpers/fixtures.js';

test('weights over the threshold go to ONNX external data and load by path with identical logits', async () => {
  const ckpt = loadCheckpoint(fixture('sst2-sibling-a'));
  const dir = tempDir();
  const embedded = path.join(dir, 'embedded.onnx');
  const external = path.join(dir, 'external.onnx');
  assert.deepEqual(saveOnnx(buildBertGraph(ckpt), embedded), { external: false });
  assert.deepEqual(saveOnnx(buildBertGraph(ckpt), external, { externalThreshold: 0 }), { external: true });
  assert.ok(fs.existsSync(`${external}_data`));
  assert.ok(fs.statSync(external).size < 100_000, 'graph file holds no weights');
  assert.ok(fs.statSync(`${external}_data`).size >= 2_500_000);
  const texts = [{ text: 'a gorgeous , witty , seductive movie .' }, { text: 'one long string of cliches .' }];
  const group = [{ suffix: '', tokenizer: ckpt.tokenizer }];
  const a = await GraphRunner.create(embedded, group);
  const b = await GraphRunner.create(external, group);
  assert.deepEqual((await b.run(texts))['logits']!.data, (await a.run(texts))['logits']!.data);
  await a.close();
  await b.close();
  ckpt.close();
  // Nothing but the outputs is left behind (no temp files).
  assert.deepEqual(fs.readdirSync(dir).sort(), ['embedded.onnx', 'external.onnx', 'external.onnx_data']);
});
