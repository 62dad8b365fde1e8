import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { loadCheckpoint } from '../../src/checkpoint/load.js';
import { buildBertGraph } from '../../src/graph/bert-model.js';
import { saveOnnx } from '../../src/graph/save.js';
import { loadClassifier } from '../../src/runtime/classifier.js';
import { predict } from '../../src/runtime/predict.js';
import { copyFixture, reference } from '../helpers/fixtures.js';

test('an exported .onnx beside its folder (and in the transformers.js onnx/ layout) predicts like the checkpoint', async () => {
  const dir = copyFixture('sst2-stranger-b');
  const ckpt = loadCheckpoint(dir);
  saveOnnx(buildBertGraph(ckpt), path.join(dir, 'model.onnx'));
  fs.mkdirSync(path.join(dir, 'onnx'));
  saveOnnx(buildBertGraph(ckpt), path.join(dir, 'onnx', 'model.onnx'));
  ckpt.close();
  const ref = reference('sst2-stranger-b');
  const inputs = ref.inputs.map((x) => ({ text: x.text, textPair: x.text_pair }));
  for (const target of [dir, path.join(dir, 'model.onnx'), path.join(dir, 'onnx', 'model.onnx')]) {
    const model = await loadClassifier(target);
    assert.deepEqual(model.labels, ['positive', 'negative']);
    const preds = await predict(model, inputs, { batchSize: 5 });
    preds.forEach((p, i) => {
      assert.equal(p.label, ref.inputs[i]!.predicted_label, `${target}: ${ref.inputs[i]!.id}`);
      assert.ok(Math.abs(p.probs['positive']! - ref.inputs[i]!.probs![0]!) < 1e-4);
    });
    await model.close();
  }
});

test('an .onnx that needs a second tokenizer group is refused in one line, not crashed at run time', async () => {
  const dir = copyFixture('sst2-sibling-a');
  const ckpt = loadCheckpoint(dir);
  const g = buildBertGraph(ckpt);
  // A second group's inputs, as a combined graph of members with different tokenizers declares them.
  g.output(g.op('Identity', [g.input('input_ids_1', 'int64', ['batch', 'sequence_1'])]), 'ids_1', 'int64', ['batch', 'sequence_1']);
  saveOnnx(g, path.join(dir, 'two-groups.onnx'));
  ckpt.close();
  await assert.rejects(loadClassifier(path.join(dir, 'two-groups.onnx')), (e: Error) => {
    assert.match(e.message, /two-groups\.onnx: graph needs inputs input_ids_1 besides one tokenizer's .*run its folder instead/);
    return true;
  });
});
