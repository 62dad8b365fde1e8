import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { DEBERTA_V3_BASE_CONFIG, debertaV2Settings } from '../../src/architectures/deberta-v2.js';
import { familyOf, parseModelConfig } from '../../src/architectures/registry.js';
import { toHfConfig } from '../../src/checkpoint/config.js';
import { loadCheckpoint } from '../../src/checkpoint/load.js';
import { logBucket, relativeIndexTable } from '../../src/graph/relative-position.js';
import { describeFamilyFixture, familyFixture } from './family-fixture.js';

// Ids, logits, [CLS], pooled and every token's hidden values against PyTorch: plain ONNX and with
// SkipLayerNormalization / BiasGelu, each input alone and all 36 as one right-padded batch (log
// buckets up to |δ| = 127); int8.
describeFamilyFixture('deberta-sst2', { architecture: 'DebertaV2ForSequenceClassification', family: 'deberta-v2' });

describe('relative-position buckets (DeBERTa log buckets)', () => {
  test("bucket boundaries are the fixtures README's table, |δ| = 0…127", () => {
    // 0–16→itself, 17–18→17, 19–21→18, …, 111–127→31 (position_buckets 32, max_position 128).
    const starts = [17, 19, 22, 25, 28, 32, 37, 43, 49, 56, 64, 74, 84, 97, 111];
    for (let d = 0; d <= 127; d++) {
      const want = d <= 16 ? d : 16 + starts.filter((s) => s <= d).length;
      assert.equal(logBucket(d, 32, 128), want, `|δ| = ${d}`);
      assert.equal(logBucket(-d, 32, 128), -want, `δ = -${d}`);
    }
  });

  test('the index table saturates: every δ beyond its reach reads the same row', () => {
    const { table, reach } = relativeIndexTable({ buckets: 32, maxRelativePositions: 128 });
    assert.equal(table.length, 2 * reach + 1);
    assert.deepEqual([table[0], table[reach], table.at(-1)], [0, 32, 63]);
    for (const d of [reach + 1, 1000, 100000]) assert.equal(Math.min(Math.max(logBucket(d, 32, 128) + 32, 0), 63), 63);
    // Without buckets: plain distances clamped to ±span.
    const plain = relativeIndexTable({ buckets: -1, maxRelativePositions: 8 });
    assert.deepEqual([plain.reach, plain.table[0], plain.table[plain.reach], plain.table.at(-1)], [8, 0, 8, 15]);
  });
});

describe('deberta-sst2: DeBERTa-v3 config', () => {
  const ckpt = loadCheckpoint(familyFixture('deberta-sst2'));
  after(() => ckpt.close());
  const d = debertaV2Settings(ckpt.config);

  test("HF fields and getattr defaults; labels neg/pos; no token types; our config.json reads back", () => {
    assert.deepEqual(ckpt.config.labels, ['neg', 'pos']);
    assert.deepEqual([d.relative.buckets, d.relative.maxRelativePositions, d.normRelEmbeddings, d.positionBiasedInput, ckpt.config.layerNormEps], [32, 128, true, false, 1e-7]);
    assert.deepEqual([...d.posAttType].sort(), ['c2p', 'p2c']);
    assert.equal(ckpt.config.typeVocabSize, 0);
    assert.deepEqual(debertaV2Settings(parseModelConfig(toHfConfig(ckpt.config), 'out/config.json')), d);
  });

  test("Unicode whitespace as HF's Strip has it: U+0085 is stripped, U+FEFF is kept (tokenizers.js alone does the opposite)", () => {
    const ids = (t: string): number[] => ckpt.tokenizer.encode({ text: t }).inputIds;
    assert.deepEqual(ids('\u0085hello\u0085'), ids('hello'));
    assert.deepEqual(ckpt.tokenizer.tokens(ids('\uFEFFhello')).slice(0, 3), ['[CLS]', '▁', '[UNK]']);
  });

  test('what bertfuse does not run is refused in one line naming the file', () => {
    const raw = ckpt.config.raw;
    assert.throws(() => parseModelConfig({ ...raw, share_att_key: false }, 'x/config.json'), /^BertfuseError: x\/config\.json: share_att_key: false .* is not supported/);
    assert.throws(() => parseModelConfig({ ...raw, type_vocab_size: 2 }, 'x/config.json'), /x\/config\.json: type_vocab_size > 0 is not supported/);
    assert.throws(() => parseModelConfig({ ...raw, relative_attention: false }, 'x/config.json'), /relative_attention: false is not supported/);
    assert.throws(() => parseModelConfig({ ...raw, pos_att_type: ['c2c'] }, 'x/config.json'), /pos_att_type \["c2c"\] must list "c2p" and\/or "p2c"/);
  });
});

test('DeBERTa-v3-base shape: 183,831,552 encoder parameters, as published; 512 relative rows', () => {
  const cfg = parseModelConfig({ ...DEBERTA_V3_BASE_CONFIG, architectures: ['DebertaV2Model'] }, 'base/config.json');
  const shapes = familyOf(cfg).expectedTensors(cfg, '');
  let n = 0;
  for (const shape of shapes.values()) n += shape.reduce((a, b) => a * b, 1);
  assert.equal(n, 183_831_552);
  assert.deepEqual(shapes.get('encoder.rel_embeddings.weight'), [512, 768]);
});
