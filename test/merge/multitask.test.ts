import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { registerMergedLoader } from '../../src/artifact/merged-model.js';
import { merge } from '../../src/merge/merge.js';
import { parseMergeRecipe } from '../../src/recipe/merge.js';
import { loadClassifier } from '../../src/runtime/classifier.js';
import { fixture, tempDir } from '../helpers/fixtures.js';
import { maxAbsDiff } from '../align/helpers.js';
import { SST2_DEV, folderLogits, onnxLogits, readJson, referenceInputs } from './helpers.js';

const work = tempDir('bertfuse-merge-multitask-');
const SUBJ_TEST = path.join(fixture('subj-sibling'), 'subj_test.tsv');

test('sst2-sibling-a + subj-sibling: one merged encoder, each member\'s own head, one ONNX output per task', async () => {
  const recipe = parseMergeRecipe({
    merge_method: 'ties',
    base_model: fixture('base-mlm'),
    models: [
      { model: fixture('sst2-sibling-a'), task: 'sst2' },
      { model: fixture('subj-sibling'), task: 'subj' },
    ],
    parameters: { density: 0.5 },
  });
  const r = await merge(recipe, {
    out: path.join(work, 'two-heads'),
    evaluate: [
      { file: SST2_DEV, task: 'sst2' },
      { file: SUBJ_TEST, task: 'subj' },
    ],
    threads: 1,
  });
  assert.equal(r.heads, 'separate');
  assert.deepEqual(r.tasks.map((t) => [t.task, t.folder, t.output, t.labels.join('/')]), [
    ['sst2', 'sst2', 'logits_sst2', 'negative/positive'],
    ['subj', 'subj', 'logits_subj', 'subjective/objective'],
  ]);
  // Each task folder is a plain HF checkpoint with its own labels; the encoder shard is shared byte for byte.
  for (const t of r.tasks) {
    assert.deepEqual(Object.values(readJson<{ id2label: Record<string, string> }>(path.join(r.out, t.folder, 'config.json')).id2label), t.labels);
  }
  const enc = 'model-00001-of-00002.safetensors';
  const head = 'model-00002-of-00002.safetensors';
  assert.ok(fs.readFileSync(path.join(r.out, 'sst2', enc)).equals(fs.readFileSync(path.join(r.out, 'subj', enc))));
  assert.ok(!fs.readFileSync(path.join(r.out, 'sst2', head)).equals(fs.readFileSync(path.join(r.out, 'subj', head))));
  // Reloaded task folders and the multi-output graph agree.
  const inputs = referenceInputs();
  for (const t of r.tasks) {
    const fromFolder = await folderLogits(path.join(r.out, t.folder), inputs);
    const fromOnnx = await onnxLogits(path.join(r.out, 'model.onnx'), path.join(r.out, t.folder), t.output, inputs);
    assert.ok(maxAbsDiff(fromFolder, fromOnnx) <= 1e-4, `${t.task}: folder vs ONNX ${maxAbsDiff(fromFolder, fromOnnx)}`);
  }
  // The top folder has no single label list: loadClassifier asks for a task or points at the task folders.
  registerMergedLoader();
  await assert.rejects(loadClassifier(r.out), /a multi-task merge answers one task at a time here: pick a task \(bertfuse predict\/serve --task <name>; tasks: sst2, subj\) or load a task folder \(.*sst2, .*subj\)/);
  // A task folder loads as an ordinary classifier.
  const c = await loadClassifier(path.join(r.out, 'subj'), { runtime: { threads: 1 } });
  assert.deepEqual(c.labels, ['subjective', 'objective']);
  await c.close();
  // Scores: each head on its own task, next to its member (one member per task: no ensemble row).
  const row = (task: string, kind: string) => r.evaluation.find((e) => e.task === task && e.kind === kind)!;
  assert.equal(row('subj', 'member').n, 1000);
  assert.ok(Math.abs(row('subj', 'member').accuracy - 0.89) < 1e-9, 'subj-sibling as in its metrics.json');
  assert.ok(row('sst2', 'merged').accuracy > 0.65 && row('subj', 'merged').accuracy > 0.7, JSON.stringify(r.evaluation));
  assert.equal(r.evaluation.filter((e) => e.kind === 'ensemble').length, 0);
});

test('heads: merge with different label sets is refused, naming the labels', async () => {
  const recipe = parseMergeRecipe({ merge_method: 'linear', heads: 'merge', models: [{ model: fixture('sst2-sibling-a') }, { model: fixture('subj-sibling') }] });
  await assert.rejects(merge(recipe, { out: path.join(work, 'refused') }), (e: Error & { code?: string }) => {
    assert.equal(e.code, 'E_LABEL_MISMATCH');
    assert.match(e.message, /subj-sibling.*labels \[subjective, objective\] do not match sst2-sibling-a's \[negative, positive\].*missing "negative", "positive"; extra "subjective", "objective"/);
    return true;
  });
  assert.ok(!fs.existsSync(path.join(work, 'refused')), 'nothing written');
});
