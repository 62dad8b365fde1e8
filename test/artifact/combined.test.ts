import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { readManifest } from '../../src/artifact/manifest.js';
import { CombinedClassifier, registerCombinedLoader } from '../../src/artifact/read.js';
import { writeCombined } from '../../src/artifact/write.js';
import { getFusionMethod } from '../../src/fusion/registry.js';
import type { FusionMethod, FusionParams } from '../../src/fusion/types.js';
import { loadMembers, type MemberSet } from '../../src/members/load.js';
import { runMembers, type MemberRun } from '../../src/members/run.js';
import { loadClassifier } from '../../src/runtime/classifier.js';
import { FIXTURES, fixture, tempDir } from '../helpers/fixtures.js';
import { readSst2Dev, testWeightedMean } from '../members/shared.js';

const weighted = getFusionMethod('weighted');

const fixtureSha = (name: string): string =>
  (JSON.parse(fs.readFileSync(path.join(FIXTURES, 'manifest.json'), 'utf8')) as { models: { folder: string; model_safetensors_sha256: string }[] }).models.find((m) => m.folder === name)!.model_safetensors_sha256;

function listFiles(dir: string, base = ''): string[] {
  return fs.readdirSync(path.join(dir, base), { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? listFiles(dir, path.join(base, e.name)) : [path.join(base, e.name)])).sort();
}

describe('combined folder: sibling-a + stranger-b (two tokenizers)', () => {
  const data = readSst2Dev(64);
  const root = tempDir();
  const out = path.join(root, 'combined');
  let set: MemberSet;
  let run: MemberRun;
  before(async () => {
    registerCombinedLoader();
    set = loadMembers([fixture('sst2-sibling-a'), fixture('sst2-stranger-b')]);
    run = await runMembers(set, data.inputs);
  });
  after(() => set.close());

  const gold = (): Int32Array => Int32Array.from(data.gold, (g) => (g === 'positive' ? 1 : 0));
  const params = (): FusionParams => weighted.fit(run.outputs, { labels: gold(), seed: 0, folds: 2 }, {});

  test('layout, manifest (sha256 of each member = fixtures/manifest.json) and config.json', async () => {
    await writeCombined(out, { set, method: weighted, options: {}, params: params(), metrics: null });
    assert.deepEqual(listFiles(out), [
      'README.md', 'bertfuse-files.json', 'bertfuse.json', 'config.json', 'model.onnx', 'special_tokens_map.json', 'tokenizer.json', 'tokenizer_config.json',
      'tokenizer_1/special_tokens_map.json', 'tokenizer_1/tokenizer.json', 'tokenizer_1/tokenizer_config.json', 'tokenizer_1/vocab.txt', 'vocab.txt',
    ].sort());
    const man = readManifest(out);
    assert.deepEqual(man.labels, ['negative', 'positive']);
    assert.equal(man.members[0]!.sha256, fixtureSha('sst2-sibling-a'));
    assert.equal(man.members[1]!.sha256, fixtureSha('sst2-stranger-b'));
    assert.deepEqual(man.members[1]!.labels, ['positive', 'negative']);
    assert.deepEqual(man.members[1]!.alignment, [1, 0]);
    assert.deepEqual(man.model.inputs, ['input_ids', 'attention_mask', 'token_type_ids', 'input_ids_1', 'attention_mask_1', 'token_type_ids_1']);
    assert.equal(man.model.transformersLayout, false);
    assert.deepEqual(man.method.params, params());
    // tokenizer_1 is stranger-b's, byte for byte.
    assert.deepEqual(fs.readFileSync(path.join(out, 'tokenizer_1/tokenizer.json')), fs.readFileSync(fixture('sst2-stranger-b/tokenizer.json')));
    const cfg = JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8')) as Record<string, unknown>;
    assert.deepEqual(cfg['id2label'], { 0: 'negative', 1: 'positive' });
    assert.deepEqual(cfg['label2id'], { negative: 0, positive: 1 });
    assert.equal(cfg['model_type'], 'bert');
    assert.match(fs.readFileSync(path.join(out, 'README.md'), 'utf8'), /sst2-stranger-b/);
  });

  test('loadClassifier(folder) runs it and matches the in-process fusion (≤ 1e-5)', async () => {
    const model = await loadClassifier(out);
    try {
      assert.ok(model instanceof CombinedClassifier);
      assert.deepEqual(model.labels, ['negative', 'positive']);
      const got = await model.predictProba(data.inputs);
      const want = weighted.apply(run.outputs, params());
      for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i]! - want[i]!) <= 1e-5, `row ${i >> 1}: ${got[i]} vs ${want[i]}`);
      const detail = await (model as CombinedClassifier).predictDetailed(data.inputs.slice(0, 3));
      assert.deepEqual(Object.keys(detail.members), ['sst2-sibling-a', 'sst2-stranger-b']);
    } finally {
      await model.close();
    }
    // Quantising applies when a graph is built from weights; a combined folder refuses it rather than ignore it.
    await assert.rejects(loadClassifier(out, { quantize: 'int8' }), /--quantize int8 applies to models built from weights/);
  });

  test('same inputs, same bytes', async () => {
    const again = path.join(root, 'again');
    await writeCombined(again, { set, method: weighted, options: {}, params: params(), metrics: null });
    for (const f of listFiles(out)) assert.ok(fs.readFileSync(path.join(out, f)).equals(fs.readFileSync(path.join(again, f))), `${f} differs`);
  });

  test('a failure while writing leaves no folder and no temp files behind', async () => {
    const broken: FusionMethod = { ...testWeightedMean, name: 'broken', emit: () => { throw new Error('emit failed'); } } as FusionMethod;
    const dest = path.join(root, 'never');
    await assert.rejects(writeCombined(dest, { set, method: broken, options: {}, params: {}, metrics: null }), /emit failed/);
    assert.equal(fs.existsSync(dest), false);
    // An existing folder is kept intact when a rewrite fails.
    const before = fs.readFileSync(path.join(out, 'bertfuse.json'));
    await assert.rejects(writeCombined(out, { set, method: broken, options: {}, params: {}, metrics: null }));
    assert.ok(fs.readFileSync(path.join(out, 'bertfuse.json')).equals(before));
    assert.deepEqual(fs.readdirSync(root).filter((f) => f.startsWith('.bertfuse-tmp')), []);
  });

  test('a tampered tokenizer or manifest is refused with one line', async () => {
    const copy = path.join(root, 'tampered');
    fs.cpSync(out, copy, { recursive: true });
    fs.copyFileSync(fixture('sst2-sibling-a/tokenizer.json'), path.join(copy, 'tokenizer_1/tokenizer.json'));
    await assert.rejects(loadClassifier(copy), (e: Error) => /tokenizer files of group 1 differ/.test(e.message) && !e.message.includes('\n'));
    fs.writeFileSync(path.join(copy, 'bertfuse.json'), JSON.stringify({ ...readManifest(out), formatVersion: 99 }));
    await assert.rejects(loadClassifier(copy), /format version 99 is newer/);
  });
});
