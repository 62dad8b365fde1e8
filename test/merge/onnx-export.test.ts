import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { saveGraph } from '../../src/artifact/merged.js';
import { emitBert } from '../../src/graph/bert-graph.js';
import { GraphRunner } from '../../src/runtime/runner.js';
import { openFixture } from '../align/helpers.js';
import { reference, tempDir } from '../helpers/fixtures.js';

test('large models stream their weights to model.onnx_data; the graph still matches the PyTorch reference', async () => {
  const ckpt = openFixture('sst2-sibling-a');
  const dir = tempDir('bertfuse-onnx-external-');
  try {
    const files = saveGraph(dir, 'spilled', 1, (g) => {
      const inputs = { inputIds: g.input('input_ids', 'int64', ['b', 's']), attentionMask: g.input('attention_mask', 'int64', ['b', 's']), tokenTypeIds: g.input('token_type_ids', 'int64', ['b', 's']) };
      g.output(emitBert(g, ckpt, inputs).logits!, 'logits', 'float', ['b', 2]);
    }, 0);
    assert.deepEqual(files, ['model.onnx', 'model.onnx_data']);
    // The weights live in the data file, not the graph.
    assert.ok(fs.statSync(path.join(dir, 'model.onnx_data')).size > 2_400_000);
    assert.ok(fs.statSync(path.join(dir, 'model.onnx')).size < 100_000);
    const runner = await GraphRunner.create(path.join(dir, 'model.onnx'), [{ suffix: '', tokenizer: ckpt.tokenizer }], { threads: 1 });
    const ref = reference('sst2-sibling-a').inputs;
    const logits = (await runner.run(ref.map((r) => ({ text: r.text, textPair: r.text_pair })), { outputs: ['logits'] }))['logits']!.data;
    await runner.close();
    ref.forEach((r, i) => r.logits!.forEach((v, j) => assert.ok(Math.abs(logits[i * 2 + j]! - v) <= 1e-4, `${r.id}[${j}]`)));
  } finally {
    ckpt.close();
  }
});
