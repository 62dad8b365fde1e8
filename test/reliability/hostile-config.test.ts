/**
 * config.json sizes that would allocate gigabytes before any check (label lists, embedding tables,
 * random weights): refused from the numbers alone, each in one line naming config.json, in
 * bounded time, with the folder unchanged; sizes within the limits must still agree with the
 * weights' shapes before anything is allocated.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { CONFIG_LIMITS, checkConfigLimits } from '../../src/checkpoint/config-limits.js';
import { BertfuseError } from '../../src/errors.js';
import { editJson } from '../helpers/corrupt.js';
import { fixture, tempDir } from '../helpers/fixtures.js';
import { BoundedCli, assertOneLineRefusal, unchanged } from './bounded.js';
import { stageFixture } from './consumers.js';

const root = tempDir('bertfuse-hostile-config-');
const cli = new BoundedCli();
after(() => cli.close());

type Edit = (c: Record<string, unknown>) => void;

const CASES: readonly { name: string; edit: Edit; pattern: RegExp; names?: 'weights' }[] = [
  { name: 'num_labels 2,000,000,000 without id2label', edit: (c) => {
    delete c['id2label'];
    delete c['label2id'];
    c['num_labels'] = 2_000_000_000;
  }, pattern: /num_labels is 2000000000, more than bertfuse supports/ },
  { name: 'num_labels 10^9 beside a two-label id2label', edit: (c) => (c['num_labels'] = 1e9), pattern: /num_labels is 1000000000/ },
  { name: 'num_labels 3 beside a two-label id2label', edit: (c) => (c['num_labels'] = 3), pattern: /num_labels 3 disagrees with id2label, which names 2 labels/ },
  { name: 'id2label with 300,000 names', edit: (c) => {
    c['id2label'] = Object.fromEntries(Array.from({ length: 300_000 }, (_, i) => [String(i), `l${i}`]));
    delete c['label2id'];
  }, pattern: /id2label size is 300000/ },
  { name: 'num_hidden_layers 10^9', edit: (c) => (c['num_hidden_layers'] = 1e9), pattern: /num_hidden_layers is 1000000000, more than any supported model/ },
  { name: 'hidden_size 2^20 (heads divide it)', edit: (c) => (c['hidden_size'] = 2 ** 20), pattern: /hidden_size is 1048576/ },
  { name: 'intermediate_size 10^9', edit: (c) => (c['intermediate_size'] = 1e9), pattern: /intermediate_size is 1000000000/ },
  { name: 'vocab_size 2^40', edit: (c) => (c['vocab_size'] = 2 ** 40), pattern: /vocab_size is 1099511627776/ },
  { name: 'max_position_embeddings 10^12', edit: (c) => (c['max_position_embeddings'] = 1e12), pattern: /max_position_embeddings is 1000000000000/ },
  { name: 'type_vocab_size 10^8', edit: (c) => (c['type_vocab_size'] = 1e8), pattern: /type_vocab_size is 100000000/ },
  { name: 'num_attention_heads larger than hidden_size', edit: (c) => {
    c['hidden_size'] = 64;
    c['num_attention_heads'] = 1024;
  }, pattern: /num_attention_heads|not divisible/ },
  { name: 'each size within its limit, the word embeddings not (2,000,000 x 16,384)', edit: (c) => {
    c['vocab_size'] = 2_000_000;
    c['hidden_size'] = 16_384;
    c['num_attention_heads'] = 16;
  }, pattern: /word embeddings .* would hold 32768000000 values/ },
  { name: 'each tensor within its limit, the whole model not (256 layers of 8192 x 32768)', edit: (c) => {
    c['hidden_size'] = 8192;
    c['num_attention_heads'] = 16;
    c['intermediate_size'] = 32_768;
    c['num_hidden_layers'] = 256;
  }, pattern: /imply \d+\.\d billion parameters/ },
  { name: 'pad_token_id outside the vocabulary', edit: (c) => (c['pad_token_id'] = 10_000_000), pattern: /pad_token_id 10000000 is outside the vocabulary/ },
  { name: 'sizes within the limits that disagree with the weights (200 layers for 2)', edit: (c) => (c['num_hidden_layers'] = 200), pattern: /num_hidden_layers = 200 but the weights hold 2 layers/, names: 'weights' },
  { name: 'hidden_size within the limits that disagrees with the weights', edit: (c) => {
    c['hidden_size'] = 4096;
    c['num_attention_heads'] = 16;
  }, pattern: /has shape \[8192, 64\] but config\.json implies \[8192, 4096\]/, names: 'weights' },
];

describe('hostile config.json: sizes refused before allocation, one line, nothing changed', () => {
  const folder = stageFixture(fixture('sst2-sibling-a'), path.join(root, 'model'));
  const config = path.join(folder, 'config.json');
  const good = fs.readFileSync(config);
  for (const c of CASES) {
    for (const command of ['inspect', 'predict'] as const) {
      test(`${c.name} (${command})`, async () => {
        fs.writeFileSync(config, good);
        editJson(config, c.edit);
        const argv = command === 'inspect' ? ['inspect', folder] : ['predict', folder, '--text', 'fine'];
        const r = await unchanged(folder, () => cli.run(argv));
        assertOneLineRefusal(r, { names: c.names === 'weights' ? path.join(folder, 'model.safetensors') : config, pattern: c.pattern });
      });
    }
  }

  test('a 40 MB config.json is refused before it is parsed', async () => {
    fs.writeFileSync(config, good);
    editJson(config, (c) => (c['padding'] = 'x'.repeat(40 << 20)));
    const r = await unchanged(folder, () => cli.run(['inspect', folder]));
    assertOneLineRefusal(r, { names: config, pattern: /config\.json is \d+ bytes; a config is a few KB/ });
  });

  test('random-checkpoint with sizes that would allocate gigabytes writes nothing', async () => {
    const cases: [string[], RegExp][] = [
      [['--hidden', '16384', '--heads', '16', '--intermediate', '131072', '--layers', '256'], /billion parameters|would hold/],
      [['--layers', '1000000'], /num_hidden_layers is 1000000/],
      [['--max-positions', '100000000'], /max_position_embeddings is 100000000/],
      [['--hidden', '65536', '--heads', '16'], /hidden_size is 65536/],
      [['--labels', Array.from({ length: 100_001 }, (_, i) => `c${i}`).join(',')], /num_labels is 100001|id2label size is 100001/],
    ];
    for (const [flags, pattern] of cases) {
      const out = path.join(root, 'random-out');
      const r = await cli.run(['random-checkpoint', out, ...flags]);
      assertOneLineRefusal(r, { names: 'config.json', pattern }, flags.join(' ').slice(0, 80));
      assert.ok(!fs.existsSync(out), `${out} must not be created`);
    }
  });

  test('the limits admit every released BERT-family shape (BERT-large, XLM-R-large, ModernBERT-large, a 100k-label head)', () => {
    const ok = [
      { hiddenSize: 1024, numLayers: 24, numHeads: 16, intermediateSize: 4096, vocabSize: 30522, maxPositions: 512, typeVocabSize: 2, numLabels: 2 },
      { hiddenSize: 1024, numLayers: 24, numHeads: 16, intermediateSize: 4096, vocabSize: 250002, maxPositions: 514, typeVocabSize: 1, numLabels: null },
      { hiddenSize: 1024, numLayers: 28, numHeads: 16, intermediateSize: 2624, vocabSize: 50368, maxPositions: 8192, typeVocabSize: 1, numLabels: 3 },
      { hiddenSize: 768, numLayers: 12, numHeads: 12, intermediateSize: 3072, vocabSize: 30522, maxPositions: 512, typeVocabSize: 2, numLabels: CONFIG_LIMITS.numLabels },
    ];
    for (const d of ok) checkConfigLimits(d, 'config.json');
    assert.throws(() => checkConfigLimits({ ...ok[0]!, numLabels: CONFIG_LIMITS.numLabels + 1 }, 'config.json'), BertfuseError);
  });
});
