import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { loadCheckpoint } from '../../src/checkpoint/load.js';
import { DEFAULT_OPS, FUSED_OPS, PLAIN_OPS, type BertWeights, type EncoderOps } from '../../src/graph/bert-graph.js';
import { buildBertGraph, buildBertModel } from '../../src/graph/bert-model.js';
import { MS_DOMAIN } from '../../src/graph/fused-ops.js';
import { encodeModel } from '../../src/graph/onnx-builder.js';
import { GraphRunner } from '../../src/runtime/runner.js';
import type { OptimizationLevel } from '../../src/runtime/session.js';
import { fixture, reference } from '../helpers/fixtures.js';

const TOL = 1e-4;

/** Every kernel choice on its own and together, so a wrong fused op cannot hide behind another. */
const VARIANTS: Record<string, EncoderOps> = {
  plain: PLAIN_OPS,
  fused: FUSED_OPS,
  'multi-head-attention': { ...FUSED_OPS, attention: 'mha' },
  'attention only': { ...PLAIN_OPS, attention: 'attention' },
  'skip-layernorm only': { ...PLAIN_OPS, skipLayerNorm: true },
  'bias-gelu only': { ...PLAIN_OPS, biasGelu: true },
  'embed-layernorm only': { ...PLAIN_OPS, embedLayerNorm: true },
};

function opCounts(ops: EncoderOps, w: BertWeights | string): Map<string, number> {
  const ckpt = typeof w === 'string' ? loadCheckpoint(w) : null;
  try {
    const counts = new Map<string, number>();
    for (const n of buildBertGraph(ckpt ?? (w as BertWeights), { ops }).mutableNodes()) {
      const key = n.domain === MS_DOMAIN ? `ms.${n.opType}` : n.opType!;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    return counts;
  } finally {
    ckpt?.close();
  }
}

describe('fused contrib ops', () => {
  test('each flag swaps exactly its chain of plain ops for one contrib node per use', () => {
    const dir = fixture('sst2-sibling-a');
    const L = 2;
    const plain = opCounts(PLAIN_OPS, dir);
    assert.equal([...plain.keys()].filter((k) => k.startsWith('ms.')).length, 0, 'plain graph has no com.microsoft nodes');
    assert.equal(plain.get('Softmax'), L);
    assert.equal(plain.get('LayerNormalization'), 1 + 2 * L);

    const fused = opCounts(FUSED_OPS, dir);
    assert.equal(fused.get('ms.Attention'), L);
    assert.equal(fused.get('ms.SkipLayerNormalization'), 2 * L);
    assert.equal(fused.get('ms.BiasGelu'), L);
    assert.equal(fused.get('ms.EmbedLayerNormalization'), 1);
    assert.equal(fused.get('Softmax') ?? 0, 0);
    assert.equal(fused.get('LayerNormalization') ?? 0, 0);
    assert.equal(fused.get('Erf') ?? 0, 0);

    const mha = opCounts({ ...FUSED_OPS, attention: 'mha' }, dir);
    assert.equal(mha.get('ms.MultiHeadAttention'), L);
    // Q, K, V, attention output and the two FFN layers stay MatMuls (so int8 can replace them), plus pooler and classifier.
    assert.equal(mha.get('MatMul'), 6 * L + 2);
  });

  for (const name of ['sst2-sibling-a', 'sst2-stranger-b']) {
    describe(`${name}: every variant matches PyTorch reference.json within 1e-4`, () => {
      const ref = reference(name);
      const ckpt = loadCheckpoint(fixture(name));
      after(() => ckpt.close());
      const inputs = ref.inputs.map((x) => ({ text: x.text, textPair: x.text_pair }));
      const levels: OptimizationLevel[] = ['disabled', 'all'];
      for (const [variant, ops] of Object.entries(VARIANTS)) {
        for (const level of levels) {
          test(`${variant}, graphOptimizationLevel ${level}`, async () => {
            const runner = await GraphRunner.create(encodeModel(buildBertModel(ckpt, { ops, embeddings: true })), [{ suffix: '', tokenizer: ckpt.tokenizer }], { optimization: level });
            try {
              // Batches of 8 in input order mix lengths: padding and the mask are exercised.
              const out = await runner.run(inputs, { batchSize: 8, bucket: false });
              const k = out['logits']!.width;
              const H = out['cls_hidden']!.width;
              ref.inputs.forEach((x, i) => {
                x.logits!.forEach((want, j) => {
                  const got = out['logits']!.data[i * k + j]!;
                  assert.ok(Math.abs(got - want) <= TOL, `${x.id} logit ${j}: ${got} vs ${want}`);
                });
                x.cls_hidden_first8.forEach((want, j) => {
                  const got = out['cls_hidden']!.data[i * H + j]!;
                  assert.ok(Math.abs(got - want) <= TOL, `${x.id} cls_hidden[${j}]: ${got} vs ${want}`);
                });
              });
            } finally {
              await runner.close();
            }
          });
        }
      }
    });
  }

  test('FastGelu (tanh form) agrees with the plain tanh-form graph for gelu_new models', async () => {
    const ckpt = loadCheckpoint(fixture('sst2-sibling-a'));
    try {
      const tanhWeights = { ...ckpt, config: { ...ckpt.config, hiddenAct: 'gelu_new' as const } };
      const texts = reference('sst2-sibling-a').inputs.map((x) => ({ text: x.text, textPair: x.text_pair }));
      const run = async (w: BertWeights, ops: EncoderOps): Promise<Float32Array> => {
        const r = await GraphRunner.create(encodeModel(buildBertModel(w, { ops })), [{ suffix: '', tokenizer: ckpt.tokenizer }]);
        try {
          return (await r.run(texts, { batchSize: 8 }))['logits']!.data;
        } finally {
          await r.close();
        }
      };
      const geluOps = { ...PLAIN_OPS, biasGelu: true };
      assert.equal(opCounts(geluOps, tanhWeights).get('ms.FastGelu'), 2);
      assert.equal(opCounts(geluOps, tanhWeights).get('ms.BiasGelu') ?? 0, 0);
      const plain = await run(tanhWeights, PLAIN_OPS);
      const fast = await run(tanhWeights, geluOps);
      const erf = await run(ckpt, PLAIN_OPS);
      const maxDiff = (a: Float32Array, b: Float32Array): number => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);
      const fastVsTanh = maxDiff(plain, fast);
      const tanhVsErf = maxDiff(plain, erf);
      assert.ok(fastVsTanh <= TOL, `FastGelu vs plain tanh form: max |diff| ${fastVsTanh}`);
      // The two GELU forms differ on these inputs by far more, so the comparison can tell them apart.
      assert.ok(tanhVsErf > 20 * fastVsTanh && tanhVsErf > TOL, `tanh vs erf GELU differ by ${tanhVsErf}, FastGelu vs tanh by ${fastVsTanh}`);
    } finally {
      ckpt.close();
    }
  });

  test('the default kernel set is one of the measured variants', () => {
    assert.ok(Object.values(VARIANTS).some((v) => JSON.stringify(v) === JSON.stringify(DEFAULT_OPS)));
  });
});
