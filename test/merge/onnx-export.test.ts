import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { saveGraph } from '../../src/artifact/merged.js';
import { emitBert } from '../../src/graph/bert-graph.js';
import { GraphRunner } from '../../src/runtime/runner.js';
import { openFixture } from '../align/helpers.js';
import { reference, tempDir } from '../helpers/fixtures.js';

/** sst2-sibling-a's graph saved through saveGraph with a threshold of 1 byte, so its weights spill. */
function saveSpilled(ckpt: ReturnType<typeof openFixture>, dir: string, quantize: 'int8' | null = null): string[] {
  return saveGraph(dir, 'spilled', 1, (g) => {
    const inputs = { inputIds: g.input('input_ids', 'int64', ['b', 's']), attentionMask: g.input('attention_mask', 'int64', ['b', 's']), tokenTypeIds: g.input('token_type_ids', 'int64', ['b', 's']) };
    g.output(emitBert(g, ckpt, inputs).logits!, 'logits', 'float', ['b', 2]);
  }, 0, quantize);
}

/** Its logits on the reference inputs, run from the folder. */
async function spilledLogits(ckpt: ReturnType<typeof openFixture>, dir: string): Promise<Float32Array> {
  const runner = await GraphRunner.create(path.join(dir, 'model.onnx'), [{ suffix: '', tokenizer: ckpt.tokenizer }], { threads: 1 });
  try {
    return (await runner.run(reference('sst2-sibling-a').inputs.map((r) => ({ text: r.text, textPair: r.text_pair })), { outputs: ['logits'] }))['logits']!.data;
  } finally {
    await runner.close();
  }
}

test('large models stream their weights to model.onnx_data; the graph still matches the PyTorch reference', async () => {
  const ckpt = openFixture('sst2-sibling-a');
  const dir = tempDir('bertfuse-onnx-external-');
  try {
    assert.deepEqual(saveSpilled(ckpt, dir), ['model.onnx', 'model.onnx_data']);
    // The weights live in the data file, not the graph.
    assert.ok(fs.statSync(path.join(dir, 'model.onnx_data')).size > 2_400_000);
    assert.ok(fs.statSync(path.join(dir, 'model.onnx')).size < 100_000);
    const logits = await spilledLogits(ckpt, dir);
    reference('sst2-sibling-a').inputs.forEach((r, i) => r.logits!.forEach((v, j) => assert.ok(Math.abs(logits[i * 2 + j]! - v) <= 1e-4, `${r.id}[${j}]`)));
  } finally {
    ckpt.close();
  }
});

test('int8 graphs above the threshold spill their (quantised) weights to model.onnx_data too, and still run near the reference', async () => {
  const ckpt = openFixture('sst2-sibling-a');
  const dir = tempDir('bertfuse-onnx-external-int8-');
  try {
    assert.deepEqual(saveSpilled(ckpt, dir, 'int8'), ['model.onnx', 'model.onnx_data']);
    assert.ok(fs.statSync(path.join(dir, 'model.onnx')).size < 100_000);
    const logits = await spilledLogits(ckpt, dir);
    let maxErr = 0;
    reference('sst2-sibling-a').inputs.forEach((r, i) => r.logits!.forEach((v, j) => (maxErr = Math.max(maxErr, Math.abs(logits[i * 2 + j]! - v)))));
    // Quantised (it moved), within the int8 tolerance the family tests use.
    assert.ok(maxErr > 1e-6 && maxErr < 0.25, `int8 max logit error ${maxErr}`);
  } finally {
    ckpt.close();
  }
});
