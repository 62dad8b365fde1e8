import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { merge } from '../../src/merge/merge.js';
import { parseMergeRecipe } from '../../src/recipe/merge.js';
import { fixture, tempDir } from '../helpers/fixtures.js';
import { familyReference } from '../architectures/family-fixture.js';
import { maxAbsDiff } from '../align/helpers.js';
import { folderLogits, onnxLogits, readJson } from './helpers.js';

/**
 * Separate heads (one merged encoder, each member's own head) as one multi-output model.onnx for
 * every family: each task's output is its family's head (RoBERTa's dense/out_proj, DistilBERT's
 * ReLU pre_classifier, ELECTRA's gelu head, ModernBERT's pooling + norm, DeBERTa's ContextPooler)
 * on the one shared encoder.
 */

const A = fixture('family/roberta-sst2-a');
const B = fixture('family/roberta-sst2-b');

function recipe(fields: Record<string, unknown>): ReturnType<typeof parseMergeRecipe> {
  return parseMergeRecipe({ heads: 'separate', ...fields }, 'test');
}

test('RoBERTa siblings, separate heads: one encoder shard shared by both task folders; each output of model.onnx is that task folder\'s logits', async () => {
  const r = await merge(recipe({ merge_method: 'ties', base_model: fixture('family/roberta-mlm'), models: [{ model: A, task: 'a' }, { model: B, task: 'b' }], parameters: { density: 0.5, weight: 0.5 } }), { out: path.join(tempDir(), 'roberta-two-heads'), threads: 1 });
  assert.equal(r.heads, 'separate');
  assert.deepEqual(r.tasks.map((t) => [t.task, t.folder, t.output]), [['a', 'a', 'logits_a'], ['b', 'b', 'logits_b']]);
  assert.equal(r.onnx, 'model.onnx');
  // The encoder shard is one file's bytes in both folders; the heads (classifier.dense/out_proj) differ.
  const index = readJson<{ weight_map: Record<string, string> }>(path.join(r.out, 'a', 'model.safetensors.index.json')).weight_map;
  const enc = index['roberta.encoder.layer.0.attention.self.query.weight']!;
  const head = index['classifier.out_proj.weight']!;
  assert.notEqual(enc, head);
  assert.ok(fs.readFileSync(path.join(r.out, 'a', enc)).equals(fs.readFileSync(path.join(r.out, 'b', enc))));
  assert.ok(!fs.readFileSync(path.join(r.out, 'a', head)).equals(fs.readFileSync(path.join(r.out, 'b', head))));
  const inputs = familyReference('roberta-sst2-a').inputs.map((x) => ({ text: x.text, textPair: x.text_pair }));
  const outs: Float32Array[] = [];
  for (const t of r.tasks) {
    const fromFolder = await folderLogits(path.join(r.out, t.folder), inputs);
    const fromOnnx = await onnxLogits(path.join(r.out, 'model.onnx'), path.join(r.out, t.folder), t.output, inputs);
    assert.ok(maxAbsDiff(fromFolder, fromOnnx) <= 1e-4, `${t.task}: folder vs ONNX ${maxAbsDiff(fromFolder, fromOnnx)}`);
    outs.push(fromOnnx);
  }
  assert.ok(maxAbsDiff(outs[0]!, outs[1]!) > 1e-3, 'the two heads give different logits');
});

// A member merged with itself keeps its encoder, so each task output must be the member's PyTorch logits.
for (const name of ['distilbert-sst2', 'xlmr-sst2', 'electra-sst2', 'modernbert-sst2', 'modernbert-sst2-mean', 'deberta-sst2']) {
  test(`${name} merged with itself, separate heads: every output of model.onnx is reference.json's logits (≤ 1e-4)`, async () => {
    const dir = fixture(`family/${name}`);
    const r = await merge(recipe({ merge_method: 'linear', models: [{ model: dir, task: 'one' }, { model: dir, task: 'two' }] }), { out: path.join(tempDir(), name), threads: 1 });
    assert.deepEqual(r.tasks.map((t) => t.output), ['logits_one', 'logits_two']);
    const ref = familyReference(name);
    const inputs = ref.inputs.map((x) => ({ text: x.text, textPair: x.text_pair }));
    const want = Float32Array.from(ref.inputs.flatMap((x) => x.logits!));
    for (const t of r.tasks) {
      const got = await onnxLogits(path.join(r.out, 'model.onnx'), path.join(r.out, t.folder), t.output, inputs);
      assert.ok(maxAbsDiff(got, want) <= 1e-4, `${t.output}: ${maxAbsDiff(got, want)} from PyTorch`);
    }
    // The encoder is written once (not a whole copy per task): the head shard holds only head tensors.
    const index = readJson<{ weight_map: Record<string, string> }>(path.join(r.out, 'one', 'model.safetensors.index.json')).weight_map;
    const shards = [...new Set(Object.values(index))].sort();
    const headShard = shards.at(-1)!;
    const inHead = Object.keys(index).filter((n) => index[n] === headShard);
    assert.ok(inHead.length > 0 && inHead.length <= 6, `head shard holds ${inHead.join(', ')}`);
    assert.ok(inHead.every((n) => /^(classifier|pre_classifier|pooler|head)\./.test(n)), inHead.join(', '));
  });
}
