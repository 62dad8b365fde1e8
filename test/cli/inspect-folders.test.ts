import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { combine } from '../../src/artifact/combine.js';
import { FUSION_METHODS } from '../../src/fusion/registry.js';
import { merge } from '../../src/merge/merge.js';
import { parseMergeRecipe } from '../../src/recipe/merge.js';
import { runCli } from '../helpers/cli.js';
import { DATA, fixture, tempDir } from '../helpers/fixtures.js';

test('inspect opens a combined folder (members, groups, inputs, outputs) and a multi-task merge (one block per task)', async () => {
  const dir = tempDir();
  const lines = fs.readFileSync(path.join(DATA, 'sst2_dev.tsv'), 'utf8').split('\n');
  const data = path.join(dir, 'dev.tsv');
  fs.writeFileSync(data, lines.slice(0, 61).join('\n') + '\n');
  const c = await combine(
    { members: [{ path: fixture('sst2-sibling-a') }, { path: fixture('sst2-stranger-b') }], data: { path: data }, evalData: null, labels: ['negative', 'positive'], labelMap: {}, method: 'mean', options: {}, seed: 0, folds: 3, resamples: 0, out: path.join(dir, 'combined') },
    { registry: FUSION_METHODS },
  );
  const r = await runCli(['inspect', c.out]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /combined model \(bertfuse-combined v1\), one model\.onnx/);
  assert.match(r.stdout, /inputs\s+input_ids, attention_mask, token_type_ids, input_ids_1, attention_mask_1, token_type_ids_1/);
  assert.match(r.stdout, /sst2-stranger-b\s+BertForSequenceClassification\s+2 \/ 64\s+1\s+positive, negative/);
  const j = JSON.parse((await runCli(['inspect', c.out, '--json'])).stdout) as { kind: string; manifest: { members: unknown[] } };
  assert.equal(j.kind, 'combined');
  assert.equal(j.manifest.members.length, 2);

  const mt = path.join(dir, 'multitask');
  await merge(parseMergeRecipe({ merge_method: 'linear', models: [{ model: fixture('sst2-sibling-a'), parameters: { weight: 1 } }, { model: fixture('subj-sibling'), parameters: { weight: 1 } }], heads: 'separate' }), { out: mt });
  const t = await runCli(['inspect', mt]);
  assert.equal(t.code, 0, t.stderr);
  assert.match(t.stdout, /multi-task merge, one shared encoder and 2 heads \(model\.onnx answers every task at once\)/);
  assert.match(t.stdout, /labels\s+0=negative, 1=positive/);
  assert.match(t.stdout, /labels\s+0=subjective, 1=objective/);
  assert.equal((JSON.parse((await runCli(['inspect', mt, '--json'])).stdout) as { quantize: unknown }).quantize, null);
  // merge --quantize int8: inspect says model.onnx is int8, as it does for a combined folder.
  const mt8 = path.join(dir, 'multitask-int8');
  await merge(parseMergeRecipe({ merge_method: 'linear', quantize: 'int8', models: [{ model: fixture('sst2-sibling-a') }, { model: fixture('subj-sibling') }] }), { out: mt8 });
  assert.match((await runCli(['inspect', mt8])).stdout, /multi-task merge, one shared encoder and 2 heads \(int8 model\.onnx answers every task at once\)/);
  assert.equal((JSON.parse((await runCli(['inspect', mt8, '--json'])).stdout) as { quantize: unknown }).quantize, 'int8');
});
