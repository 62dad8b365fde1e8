import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test } from 'node:test';
import { DEBERTA_V3_BASE_CONFIG } from '../../src/architectures/deberta-v2.js';
import { datasetFlops, forwardFlops } from '../../src/architectures/flops.js';
import { MODERNBERT_BASE_CONFIG } from '../../src/architectures/modernbert.js';
import { familyOf, parseModelConfig } from '../../src/architectures/registry.js';
import type { ModelConfig } from '../../src/architectures/types.js';
import { readModelConfig } from '../../src/checkpoint/config.js';
import { FIXTURES } from '../helpers/fixtures.js';

const classifier = (arch: string, raw: Record<string, unknown>): ModelConfig => parseModelConfig({ ...raw, architectures: [arch], id2label: { 0: 'negative', 1: 'positive' } }, 'config.json');

/**
 * Multiply-adds counted from the checkpoint's own tensor list (not from the formula): every 2-D
 * weight inside a layer, and ELECTRA's embedding projection, once per token; the head's weights
 * once per sequence; attention as query–key pairs enumerated one by one (scores and context,
 * H each), a sliding layer keeping |i − j| ≤ half window; DeBERTa's c2p / p2c as every token
 * against every row of the relative table.
 */
function macsFromTensors(cfg: ModelConfig, len: number): number {
  const f = familyOf(cfg);
  const H = cfg.hiddenSize;
  let macs = 0;
  for (const [name, shape] of f.expectedTensors(cfg, f.prefixes[0]!)) {
    if (shape.length !== 2) continue;
    const size = shape[0]! * shape[1]!;
    if (/(^|\.)(layer|layers)\.\d+\./.test(name) || /embeddings_project/.test(name)) macs += len * size;
    else if (/^(pooler|pre_classifier|classifier|head)\./.test(name) || /\.pooler\./.test(name) || name === 'classifier.weight') macs += size;
    else if (/lm_head\.dense/.test(name)) macs += len * size;
  }
  if (cfg.task === 'mlm') macs += len * H * cfg.vocabSize;
  const x = cfg.extra;
  const types = (x['layerTypes'] as string[] | undefined) ?? new Array<string>(cfg.numLayers).fill('full_attention');
  for (const type of types) {
    let pairs = 0;
    for (let i = 0; i < len; i++) for (let j = 0; j < len; j++) if (type === 'full_attention' || Math.abs(i - j) <= Math.floor((x['localAttention'] as number) / 2)) pairs++;
    macs += 2 * pairs * H;
  }
  if (cfg.family === 'deberta-v2') {
    const relRows = f.expectedTensors(cfg, '').get('encoder.rel_embeddings.weight')![0]!;
    macs += cfg.numLayers * (x['posAttType'] as string[]).length * len * relRows * H;
  }
  return macs;
}

describe('forward FLOPs per family', () => {
  const fixtures: [string, number][] = [
    ['distilbert-sst2', 5],
    ['roberta-sst2-a', 40],
    ['roberta-mlm', 12],
    ['xlmr-sst2', 7],
    ['electra-sst2', 33],
    ['modernbert-sst2', 40],
    ['modernbert-sst2-mean', 9],
    ['deberta-sst2', 64],
  ];
  for (const [name, len] of fixtures) {
    test(`${name}: the formula equals the count from its tensors at ${len} tokens`, () => {
      const cfg = readModelConfig(path.join(FIXTURES, 'family', name, 'config.json'));
      assert.equal(forwardFlops(cfg, len, 2), 2 * macsFromTensors(cfg, len));
    });
  }

  test('fixture details the count depends on: ELECTRA projects 32 → 64, ModernBERT slides a 17-token window, DeBERTa reads 64 relative rows', () => {
    const electra = readModelConfig(path.join(FIXTURES, 'family', 'electra-sst2', 'config.json'));
    const bertShaped = { ...electra, family: 'bert', extra: {} };
    // Only the projection (32·64 per token) separates it from the same layers as BERT.
    assert.equal(forwardFlops(electra, 10, 2) - forwardFlops(bertShaped, 10, 2), 2 * 10 * 32 * 64);
    const modern = readModelConfig(path.join(FIXTURES, 'family', 'modernbert-sst2', 'config.json'));
    // 40 tokens, half window 8: queries 8..31 see 17 keys, the first and last 8 see 9..16.
    const local = 24 * 17 + 2 * (9 + 10 + 11 + 12 + 13 + 14 + 15 + 16);
    const perToken = 4 * 64 * 64 + 3 * 64 * 128;
    assert.equal(forwardFlops(modern, 40, 2), 2 * (3 * 40 * perToken + 2 * 64 * (40 * 40 + 2 * local) + 64 * 64 + 64 * 2));
    const deberta = readModelConfig(path.join(FIXTURES, 'family', 'deberta-sst2', 'config.json'));
    const bertPart = 2 * (2 * (64 * (4 * 64 * 64 + 2 * 64 * 256) + 2 * 64 * 64 * 64) + 64 * 64 + 64 * 2);
    assert.equal(forwardFlops(deberta, 64, 2) - bertPart, 2 * 2 * 2 * 64 * 64 * 64);
  });

  test('base shapes at 128 tokens, two labels, by hand', () => {
    const S = 128;
    const bertLayer = S * (4 * 768 * 768 + 2 * 768 * 3072) + 2 * S * S * 768;
    const head = 768 * 768 + 768 * 2;
    const bert = classifier('BertForSequenceClassification', { model_type: 'bert', hidden_size: 768, num_hidden_layers: 12, num_attention_heads: 12, intermediate_size: 3072, vocab_size: 30522, max_position_embeddings: 512, type_vocab_size: 2 });
    assert.equal(forwardFlops(bert, S, 2), 2 * (12 * bertLayer + head));
    assert.ok(Math.abs(forwardFlops(bert, S, 2) / 1e9 - 22.5) < 0.5, 'BERT-base is ~22.5 GFLOP per 128-token sequence');
    const roberta = classifier('RobertaForSequenceClassification', { model_type: 'roberta', hidden_size: 768, num_hidden_layers: 12, num_attention_heads: 12, intermediate_size: 3072, vocab_size: 50265, max_position_embeddings: 514, type_vocab_size: 1 });
    assert.equal(forwardFlops(roberta, S, 2), forwardFlops(bert, S, 2));
    const distil = classifier('DistilBertForSequenceClassification', { model_type: 'distilbert', dim: 768, n_layers: 6, n_heads: 12, hidden_dim: 3072 });
    assert.equal(forwardFlops(distil, S, 2), 2 * (6 * bertLayer + head));
    const electraSmall = classifier('ElectraForSequenceClassification', { model_type: 'electra', embedding_size: 128, hidden_size: 256, num_hidden_layers: 12, num_attention_heads: 4, intermediate_size: 1024, vocab_size: 30522, max_position_embeddings: 512, type_vocab_size: 2 });
    assert.equal(forwardFlops(electraSmall, S, 2), 2 * (S * 128 * 256 + 12 * (S * (4 * 256 * 256 + 2 * 256 * 1024) + 2 * S * S * 256) + 256 * 256 + 256 * 2));
    // deberta-v3-base: 256 buckets → 512 relative rows; c2p and p2c each S·768·512 per layer.
    const deberta = classifier('DebertaV2ForSequenceClassification', DEBERTA_V3_BASE_CONFIG);
    assert.equal(forwardFlops(deberta, S, 2), 2 * (12 * (bertLayer + 2 * S * 768 * 512) + head));
    // ModernBERT-base: 22 layers, every third global (0, 3, …, 21: 8 global, 14 sliding), GeGLU
    // Wi 768 → 2·1152, window 128: a query sees keys within 64 → 128·128 − 2·(1 + 2 + … + 63) pairs.
    const modern = classifier('ModernBertForSequenceClassification', MODERNBERT_BASE_CONFIG);
    const slidingPairs = S * S - 2 * ((63 * 64) / 2);
    assert.equal(slidingPairs, 12352);
    const modernLinear = S * (3 * 768 * 768 + 768 * 768 + 768 * 2 * 1152 + 1152 * 768);
    assert.equal(forwardFlops(modern, S, 2), 2 * (22 * modernLinear + 8 * 2 * S * S * 768 + 14 * 2 * slidingPairs * 768 + head));
    // Per 128-token sequence against BERT-base: ModernBERT-base 1.31x (22 layers, GeGLU), DeBERTa-v3-base 1.11x.
    const vsBert = (c: ModelConfig): number => Math.round((100 * forwardFlops(c, S, 2)) / forwardFlops(bert, S, 2)) / 100;
    assert.deepEqual([vsBert(modern), vsBert(deberta), vsBert(distil)], [1.31, 1.11, 0.5]);
  });

  test('a dataset is the sum over its rows, each at its own length', () => {
    const cfg = readModelConfig(path.join(FIXTURES, 'family', 'modernbert-sst2', 'config.json'));
    const lengths = [3, 17, 18, 40];
    assert.equal(datasetFlops(cfg, lengths, 2), lengths.reduce((a, n) => a + forwardFlops(cfg, n, 2), 0));
  });
});
