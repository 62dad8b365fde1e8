import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { env, pipeline } from '@huggingface/transformers';
import { readManifest } from '../../src/artifact/manifest.js';
import { loadCombined } from '../../src/artifact/read.js';
import { writeCombined } from '../../src/artifact/write.js';
import { readLabelled } from '../../src/data/labelled.js';
import { loadClassifier } from '../../src/runtime/classifier.js';
import { getFusionMethod } from '../../src/fusion/registry.js';
import { loadMembers, type MemberSet } from '../../src/members/load.js';
import { runMembers } from '../../src/members/run.js';
import type { FusionParams } from '../../src/fusion/types.js';

async function meanParams(s: MemberSet): Promise<FusionParams> {
  const run = await runMembers(s, [{ text: 'fine' }, { text: 'awful' }]);
  return getFusionMethod('mean').fit(run.outputs, { labels: Int32Array.from([1, 0]), seed: 0, folds: 2 }, {});
}
import { DATA, fixture, tempDir } from '../helpers/fixtures.js';

// Big artifacts: external weights that transformers.js still loads, and tensors members share stored once.
describe('big combined artifacts', () => {
  const dir = tempDir();
  const rows = readLabelled(path.join(DATA, 'sst2_dev.tsv'), { labels: ['negative', 'positive'] }).inputs.slice(0, 24);
  let set: MemberSet;
  before(() => {
    set = loadMembers([fixture('sst2-sibling-a'), fixture('sst2-sibling-b')]);
  });
  after(() => set.close());

  test('external data: model.onnx_data, the transformers.js flag in config.json, and transformers.js gives our probabilities', async () => {
    const out = path.join(dir, 'external');
    const mean = getFusionMethod('mean');
    await writeCombined(out, { set, method: mean, options: {}, params: await meanParams(set), metrics: null, externalThreshold: 1 });
    const man = readManifest(out);
    assert.equal(man.model.externalData, 'model.onnx_data');
    for (const f of ['model.onnx_data', 'onnx/model.onnx_data']) assert.ok(fs.statSync(path.join(out, f)).size > 4_000_000, f);
    assert.ok(fs.statSync(path.join(out, 'model.onnx')).size < 200_000, 'the graph file holds no weights');
    const config = JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8')) as Record<string, unknown>;
    assert.deepEqual(config['transformers.js_config'], { use_external_data_format: true });
    env.allowRemoteModels = false;
    const classify = await pipeline('text-classification', out, { local_files_only: true });
    const ours = await loadCombined(out);
    try {
      const want = await ours.predictProba(rows);
      const got = (await classify(rows.map((r) => r.text), { top_k: null })) as { label: string; score: number }[][];
      got.forEach((row, i) => {
        for (const { label, score } of row) assert.ok(Math.abs(score - want[i * 2 + ours.labels.indexOf(label)]!) <= 1e-4, `row ${i} ${label}`);
      });
    } finally {
      await ours.close();
      await classify.dispose();
    }
  });

  test('identical tensors are stored once: the same checkpoint twice costs one copy of its weights', async () => {
    const twice = loadMembers([fixture('sst2-sibling-a'), fixture('sst2-sibling-a')], { names: ['a1', 'a2'] });
    const once = loadMembers([fixture('sst2-sibling-a'), fixture('sst2-sibling-b')]);
    try {
      const mean = getFusionMethod('mean');
      const params = await meanParams(once);
      await writeCombined(path.join(dir, 'twice'), { set: twice, method: mean, options: {}, params, metrics: null });
      await writeCombined(path.join(dir, 'siblings'), { set: once, method: mean, options: {}, params, metrics: null });
      const sTwice = fs.statSync(path.join(dir, 'twice', 'model.onnx')).size;
      const sSiblings = fs.statSync(path.join(dir, 'siblings', 'model.onnx')).size;
      const weights = fs.statSync(path.join(fixture('sst2-sibling-a'), 'model.safetensors')).size;
      // Siblings share no tensor byte for byte (fine-tuning moved every one); the same member twice shares all.
      assert.ok(sSiblings > 1.9 * weights, `siblings: two copies (${sSiblings} vs ${weights})`);
      assert.ok(sTwice < 1.15 * weights, `the same member twice: one copy (${sTwice} vs ${weights})`);
      // Still two members reading one copy: their mean is member a itself.
      const ours = await loadCombined(path.join(dir, 'twice'));
      const a = await loadClassifier(fixture('sst2-sibling-a'));
      try {
        const got = await ours.predictProba(rows);
        const want = await a.predictProba(rows);
        for (let i = 0; i < got.length; i++) assert.ok(Math.abs(got[i]! - want[i]!) < 1e-5, `value ${i}`);
      } finally {
        await ours.close();
        await a.close();
      }
    } finally {
      twice.close();
      once.close();
    }
  });
});
