import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { env, pipeline } from '@huggingface/transformers';
import { readManifest } from '../../src/artifact/manifest.js';
import { loadCombined } from '../../src/artifact/read.js';
import { writeCombined } from '../../src/artifact/write.js';
import { readLabelled } from '../../src/data/labelled.js';
import { getFusionMethod } from '../../src/fusion/registry.js';
import { loadMembers, type MemberSet } from '../../src/members/load.js';
import { runMembers } from '../../src/members/run.js';
import { DATA, fixture, tempDir } from '../helpers/fixtures.js';

// Two members sharing tokenizer A: the folder must also be a transformers.js model.
describe('combined folder of sst2-sibling-a + sst2-sibling-b loads in @huggingface/transformers', () => {
  const out = path.join(tempDir(), 'siblings');
  const all = readLabelled(path.join(DATA, 'sst2_dev.tsv'), { labels: ['negative', 'positive'] });
  const data = { inputs: all.inputs.slice(0, 120), labels: all.labels.slice(0, 120) };
  let set: MemberSet;
  before(async () => {
    set = loadMembers([fixture('sst2-sibling-a'), fixture('sst2-sibling-b')]);
    // A stacker fit on 80 rows, checked on the 40 after them.
    const run = await runMembers(set, data.inputs.slice(0, 80));
    const stack = getFusionMethod('stack');
    const params = stack.fit(run.outputs, { labels: data.labels.slice(0, 80), seed: 0, folds: 3 }, {});
    await writeCombined(out, { set, method: stack, options: {}, params, metrics: null });
  });
  after(() => set.close());

  test('one input group with plain names, and the transformers.js layout', () => {
    const man = readManifest(out);
    assert.equal(man.model.transformersLayout, true);
    assert.deepEqual(man.model.inputs, ['input_ids', 'attention_mask', 'token_type_ids']);
    for (const f of ['onnx/model.onnx', 'config.json', 'tokenizer.json', 'tokenizer_config.json']) assert.ok(fs.existsSync(path.join(out, f)), f);
    assert.ok(fs.readFileSync(path.join(out, 'onnx/model.onnx')).equals(fs.readFileSync(path.join(out, 'model.onnx'))));
  });

  test("pipeline('text-classification', folder, local files only) gives bertfuse's probabilities (≤ 1e-4)", async () => {
    env.allowRemoteModels = false;
    const classify = await pipeline('text-classification', out, { local_files_only: true });
    const ours = await loadCombined(out);
    try {
      const held = data.inputs.slice(80);
      const texts = held.map((x) => x.text);
      const want = await ours.predictProba(held);
      const got = (await classify(texts, { top_k: null })) as { label: string; score: number }[][];
      assert.equal(got.length, texts.length);
      got.forEach((row, i) => {
        assert.equal(row.length, 2);
        for (const { label, score } of row) {
          const j = ours.labels.indexOf(label);
          assert.ok(j >= 0, `unknown label ${label}`);
          assert.ok(Math.abs(score - want[i * 2 + j]!) <= 1e-4, `row ${i} ${label}: transformers.js ${score} vs bertfuse ${want[i * 2 + j]}`);
        }
      });
    } finally {
      await ours.close();
      await classify.dispose();
    }
  });
});
