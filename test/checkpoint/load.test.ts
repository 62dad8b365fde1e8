import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { loadCheckpoint } from '../../src/checkpoint/load.js';
import { SafetensorsFile, writeSafetensors } from '../../src/checkpoint/safetensors.js';
import { BertfuseError } from '../../src/errors.js';
import { buildBertModel } from '../../src/graph/bert-model.js';
import { encodeModel } from '../../src/graph/onnx-builder.js';
import { GraphRunner } from '../../src/runtime/runner.js';
import { copyFixture, fixture, reference, tempDir } from '../helpers/fixtures.js';

function expectError(fn: () => unknown, code: string, pattern: RegExp, mustName: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof BertfuseError, `expected BertfuseError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    assert.match(e.message, pattern);
    assert.ok(e.message.includes(mustName), `message names ${mustName}: ${e.message}`);
    assert.ok(!e.message.includes('\n'));
    return true;
  });
}

function editConfig(dir: string, edit: (c: Record<string, unknown>) => void): string {
  const file = path.join(dir, 'config.json');
  const c = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  edit(c);
  fs.writeFileSync(file, JSON.stringify(c));
  return file;
}

/** Rewrites a folder's weights through a name/tensor mapping (e.g. drop a prefix, rename, convert dtype). */
function rewriteWeights(dir: string, map: (name: string) => string | null, dtype: 'F32' | 'F16' | 'BF16' = 'F32'): void {
  const file = path.join(dir, 'model.safetensors');
  const src = SafetensorsFile.open(file);
  const tensors = src.names().flatMap((n) => {
    const to = map(n);
    const t = src.read(n);
    return to === null ? [] : [{ name: to, shape: t.shape, data: () => t.data }];
  });
  src.close();
  writeSafetensors(file, tensors, { dtype });
}

async function logitsOf(dir: string, texts: string[]): Promise<Float32Array> {
  const c = loadCheckpoint(dir);
  const r = await GraphRunner.create(encodeModel(buildBertModel(c)), [{ suffix: '', tokenizer: c.tokenizer }]);
  const out = await r.run(texts.map((text) => ({ text })));
  await r.close();
  c.close();
  return out['logits']!.data;
}

describe('loadCheckpoint', () => {
  test('reads config, labels by index, tokenizer and lazy tensors of a fixture', () => {
    const c = loadCheckpoint(fixture('sst2-stranger-b'));
    assert.equal(c.config.architecture, 'BertForSequenceClassification');
    assert.deepEqual(c.config.labels, ['positive', 'negative']);
    assert.equal(c.prefix, 'bert.');
    assert.equal(c.tensors.names().length, 41);
    assert.equal(c.tokenizer.vocabSize, 4096);
    assert.equal(c.tokenizer.maxLength, 128);
    c.close();
  });

  test('a folder with only vocab.txt + tokenizer_config.json tokenizes exactly like tokenizer.json', () => {
    const dir = copyFixture('sst2-stranger-b');
    fs.rmSync(path.join(dir, 'tokenizer.json'));
    const c = loadCheckpoint(dir);
    for (const x of reference('sst2-stranger-b').inputs) {
      assert.deepEqual(c.tokenizer.encode({ text: x.text, textPair: x.text_pair }).inputIds, x.input_ids, x.id);
    }
    c.close();
  });

  test('F16 and BF16 weights load as float32 and give nearly the same logits', async () => {
    const texts = ['a gorgeous , witty , seductive movie .', 'one long string of cliches .'];
    const base = await logitsOf(fixture('sst2-sibling-a'), texts);
    for (const [dtype, tol] of [['F16', 0.02], ['BF16', 0.15]] as const) {
      const dir = copyFixture('sst2-sibling-a', path.join(tempDir(), dtype));
      rewriteWeights(dir, (n) => n, dtype);
      const c = loadCheckpoint(dir);
      assert.equal(c.tensors.info('classifier.weight').dtype, dtype);
      c.close();
      const got = await logitsOf(dir, texts);
      for (let i = 0; i < base.length; i++) assert.ok(Math.abs(got[i]! - base[i]!) < tol, `${dtype}: ${got[i]} vs ${base[i]}`);
    }
  });

  test('legacy LayerNorm gamma/beta names are read as weight/bias', async () => {
    const dir = copyFixture('sst2-sibling-a');
    rewriteWeights(dir, (n) => n.replace('LayerNorm.weight', 'LayerNorm.gamma').replace('LayerNorm.bias', 'LayerNorm.beta'));
    const texts = ['one long string of cliches .'];
    assert.deepEqual(await logitsOf(dir, texts), await logitsOf(fixture('sst2-sibling-a'), texts));
  });

  test('a BertModel folder without the "bert." prefix and without a pooler loads', () => {
    const dir = copyFixture('sst2-sibling-a');
    rewriteWeights(dir, (n) => (n.startsWith('bert.') && !n.includes('pooler') ? n.slice(5) : null));
    editConfig(dir, (c) => {
      c['architectures'] = ['BertModel'];
      delete c['id2label'];
      delete c['label2id'];
    });
    const c = loadCheckpoint(dir);
    assert.equal(c.prefix, '');
    assert.equal(c.config.labels, null);
    c.close();
  });

  test('missing config.json', () => {
    const dir = copyFixture('sst2-sibling-a');
    fs.rmSync(path.join(dir, 'config.json'));
    expectError(() => loadCheckpoint(dir), 'E_MISSING_FILE', /config\.json not found/, 'config.json');
  });

  test('missing weights', () => {
    const dir = copyFixture('sst2-sibling-a');
    fs.rmSync(path.join(dir, 'model.safetensors'));
    expectError(() => loadCheckpoint(dir), 'E_MISSING_FILE', /no weights: expected model\.safetensors/, dir);
  });

  test('a truncated weights file', () => {
    const dir = copyFixture('sst2-sibling-a');
    const f = path.join(dir, 'model.safetensors');
    fs.truncateSync(f, fs.statSync(f).size - 4);
    expectError(() => loadCheckpoint(dir), 'E_BAD_SAFETENSORS', /truncated/, 'model.safetensors');
  });

  test('a tensor whose shape disagrees with config.json', () => {
    const dir = copyFixture('sst2-sibling-a');
    editConfig(dir, (c) => (c['intermediate_size'] = 512));
    expectError(() => loadCheckpoint(dir), 'E_SHAPE_MISMATCH', /"bert\.encoder\.layer\.0\.intermediate\.dense\.weight" has shape \[256, 64\] but config\.json implies \[512, 64\]/, 'model.safetensors');
  });

  test('an unsupported architecture names the supported ones', () => {
    const dir = copyFixture('sst2-sibling-a');
    const cfg = editConfig(dir, (c) => (c['architectures'] = ['GPT2LMHeadModel']));
    expectError(() => loadCheckpoint(dir), 'E_UNSUPPORTED_ARCH', /"GPT2LMHeadModel" is not supported \(supported: BertForSequenceClassification, BertModel, BertForMaskedLM, DistilBertForSequenceClassification, .*RobertaForSequenceClassification, .*XLMRobertaForSequenceClassification, .*ElectraForSequenceClassification/, cfg);
  });

  test('config fields of the wrong type and label maps that disagree', () => {
    const dir = copyFixture('sst2-sibling-a');
    const cfg = editConfig(dir, (c) => (c['hidden_size'] = '64'));
    expectError(() => loadCheckpoint(dir), 'E_BAD_CONFIG', /"hidden_size" must be a positive integer/, cfg);
    editConfig(dir, (c) => {
      c['hidden_size'] = 64;
      c['label2id'] = { negative: 1, positive: 0 };
    });
    expectError(() => loadCheckpoint(dir), 'E_BAD_CONFIG', /label2id\["negative"\] = 1 disagrees with id2label/, cfg);
  });

  test('a tokenizer whose vocabulary is larger than the embedding table', () => {
    // stranger-b's embedding table has 4096 rows; tokenizer A produces ids up to 8191.
    const dir = copyFixture('sst2-stranger-b');
    for (const f of ['tokenizer.json', 'vocab.txt']) fs.copyFileSync(path.join(fixture('sst2-sibling-a'), f), path.join(dir, f));
    expectError(() => loadCheckpoint(dir), 'E_BAD_TOKENIZER', /ids up to 8191 but the model's vocab_size is 4096/, 'tokenizer.json');
  });

  test('a folder that does not exist', () => {
    expectError(() => loadCheckpoint('/nonexistent/model'), 'E_MISSING_FILE', /no such model folder/, '/nonexistent/model');
  });
});
