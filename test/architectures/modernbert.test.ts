import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { MODERNBERT_BASE_CONFIG, modernBertSettings } from '../../src/architectures/modernbert.js';
import { familyOf, parseModelConfig } from '../../src/architectures/registry.js';
import { toHfConfig } from '../../src/checkpoint/config.js';
import { loadCheckpoint } from '../../src/checkpoint/load.js';
import { describeFamilyFixture, familyFixture, familyReference } from './family-fixture.js';

// Ids, logits, [CLS], pooled and every token's hidden values against PyTorch: plain ONNX and with
// com.microsoft RotaryEmbedding, each input alone and all 36 as one right-padded batch; int8.
describeFamilyFixture('modernbert-sst2', { architecture: 'ModernBertForSequenceClassification', family: 'modernbert' });
describeFamilyFixture('modernbert-sst2-mean', { architecture: 'ModernBertForSequenceClassification', family: 'modernbert' });

for (const [name, pooling] of [['modernbert-sst2', 'cls'], ['modernbert-sst2-mean', 'mean']] as const) {
  describe(`${name}: ModernBERT config`, () => {
    const ckpt = loadCheckpoint(familyFixture(name));
    after(() => ckpt.close());
    const m = modernBertSettings(ckpt.config);

    test('HF fields: pooling, layer types from global_attn_every_n_layers, two θ, bias-free norms, no token types', () => {
      assert.equal(m.pooling, pooling);
      assert.deepEqual(m.layerTypes, ['full_attention', 'sliding_attention', 'sliding_attention']);
      assert.deepEqual([m.globalRopeTheta, m.localRopeTheta, m.localAttention, ckpt.config.layerNormEps, m.normBias], [160000, 10000, 16, 1e-5, false]);
      assert.equal(ckpt.config.typeVocabSize, 0);
      assert.equal(ckpt.tokenizer.padId, ckpt.config.padTokenId);
      // The sliding window matters: inputs longer than the 17-token window are in the reference.
      assert.ok(familyReference(name).inputs.filter((x) => x.input_ids.length > 17).length >= 10);
    });

    test("the GPT-2 split with HF's whitespace: U+0085 is whitespace, so ' \\u0085x' splits as ' ', '\\u0085', 'x'", () => {
      const tokens = ckpt.tokenizer.tokens(ckpt.tokenizer.encode({ text: 'a\u0085! and \u0085x' }).inputIds);
      assert.deepEqual(tokens, ['[CLS]', 'a', 'Â', 'ħ', '!', 'Ġand', 'Ġ', 'Â', 'ħ', 'x', '[SEP]']);
    });

    test("transformers 5's form (layer_types, rope_parameters) reads the same, and our config.json reads back", () => {
      const v5: Record<string, unknown> = {
        ...ckpt.config.raw,
        layer_types: ['full_attention', 'sliding_attention', 'sliding_attention'],
        rope_parameters: { full_attention: { rope_type: 'default', rope_theta: 160000 }, sliding_attention: { rope_type: 'default', rope_theta: 10000 } },
      };
      delete v5['global_attn_every_n_layers'];
      delete v5['global_rope_theta'];
      delete v5['local_rope_theta'];
      assert.deepEqual(modernBertSettings(parseModelConfig(v5, 'v5/config.json')), m);
      assert.deepEqual(modernBertSettings(parseModelConfig(toHfConfig(ckpt.config), 'out/config.json')), m);
      assert.throws(() => parseModelConfig({ ...v5, rope_parameters: { full_attention: { rope_type: 'yarn' } } }, 'x/config.json'), /x\/config\.json: rope_parameters\.full_attention\.rope_type "yarn" is not supported/);
      assert.throws(() => parseModelConfig({ ...ckpt.config.raw, classifier_pooling: 'max' }, 'x/config.json'), /x\/config\.json: field "classifier_pooling" is "max"; supported: cls, mean/);
    });
  });
}

test('ModernBERT-base shape: 149,014,272 encoder parameters, as published', () => {
  const cfg = parseModelConfig({ ...MODERNBERT_BASE_CONFIG, architectures: ['ModernBertModel'] }, 'base/config.json');
  let n = 0;
  for (const shape of familyOf(cfg).expectedTensors(cfg, '').values()) n += shape.reduce((a, b) => a * b, 1);
  assert.equal(n, 149_014_272);
  assert.deepEqual(modernBertSettings(cfg).layerTypes.filter((t) => t === 'full_attention').length, 8);
});
