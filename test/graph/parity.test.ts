import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { loadCheckpoint, type Checkpoint } from '../../src/checkpoint/load.js';
import { buildBertModel } from '../../src/graph/bert-model.js';
import { encodeModel } from '../../src/graph/onnx-builder.js';
import { GraphRunner } from '../../src/runtime/runner.js';
import { int64Tensor, runSession } from '../../src/runtime/session.js';
import { CLASSIFIER_FIXTURES, fixture, reference } from '../helpers/fixtures.js';

const TOL = 1e-4;

function assertClose(actual: ArrayLike<number>, expected: readonly number[], what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i]! - expected[i]!);
    assert.ok(d <= TOL, `${what}[${i}]: ${actual[i]} vs PyTorch ${expected[i]} (|diff| ${d.toExponential(2)} > ${TOL})`);
  }
}

for (const name of CLASSIFIER_FIXTURES) {
  describe(`${name} matches PyTorch reference.json`, () => {
    const ref = reference(name);
    const ckpt: Checkpoint = loadCheckpoint(fixture(name));
    after(() => ckpt.close());

    test('token ids, type ids and tokens are exact for every input', () => {
      for (const x of ref.inputs) {
        const enc = ckpt.tokenizer.encode({ text: x.text, textPair: x.text_pair });
        assert.deepEqual(enc.inputIds, x.input_ids, `${x.id}: input_ids`);
        assert.deepEqual(enc.tokenTypeIds, x.token_type_ids, `${x.id}: token_type_ids`);
        assert.deepEqual(ckpt.tokenizer.tokens(enc.inputIds), x.tokens, `${x.id}: tokens`);
      }
      const long = ref.inputs.find((x) => x.id === 'long_300_words_truncated')!;
      assert.equal(long.input_ids.length, 128);
    });

    test('logits, probabilities, [CLS] hidden and pooled agree within 1e-4 (batched, padded)', async () => {
      const bytes = encodeModel(buildBertModel(ckpt, { embeddings: true }));
      // Highest optimisation level: the loader must accept the graph and the fused kernels must still agree.
      const runner = await GraphRunner.create(bytes, [{ suffix: '', tokenizer: ckpt.tokenizer }], { optimization: 'all' });
      try {
        const inputs = ref.inputs.map((x) => ({ text: x.text, textPair: x.text_pair }));
        // Batches of 8 mix lengths, so padding and the attention mask are exercised.
        const out = await runner.run(inputs, { batchSize: 8, bucket: false });
        const k = out['logits']!.width;
        assert.equal(k, Object.keys(ref.id2label!).length);
        ref.inputs.forEach((x, i) => {
          const logits = out['logits']!.data.subarray(i * k, (i + 1) * k);
          assertClose(logits, x.logits!, `${x.id} logits`);
          const m = Math.max(...logits);
          const z = [...logits].reduce((s, v) => s + Math.exp(v - m), 0);
          assertClose([...logits].map((v) => Math.exp(v - m) / z), x.probs!, `${x.id} probs`);
          const best = logits.indexOf(m);
          assert.equal(ckpt.config.labels![best], x.predicted_label, `${x.id} predicted label`);
          const H = out['cls_hidden']!.width;
          const cls = out['cls_hidden']!.data.subarray(i * H, (i + 1) * H);
          assertClose(cls.subarray(0, 8), x.cls_hidden_first8, `${x.id} cls_hidden_first8`);
          const norm = Math.sqrt(cls.reduce((s, v) => s + v * v, 0));
          assert.ok(Math.abs(norm - x.cls_hidden_l2norm) < 1e-3, `${x.id} cls l2 norm ${norm} vs ${x.cls_hidden_l2norm}`);
          assertClose(out['pooled']!.data.subarray(i * H, i * H + 8), x.pooled_first8!, `${x.id} pooled_first8`);
        });
      } finally {
        await runner.close();
      }
    });
  });
}

describe('base-mlm (BertForMaskedLM, no pooler) matches PyTorch reference.json', () => {
  const ref = reference('base-mlm');
  const ckpt = loadCheckpoint(fixture('base-mlm'));
  after(() => ckpt.close());

  test('masked-token logits, top-5, logsumexp and [CLS] hidden agree', async () => {
    assert.equal(ckpt.config.architecture, 'BertForMaskedLM');
    assert.equal(ckpt.tensors.has('bert.pooler.dense.weight'), false);
    const runner = await GraphRunner.create(encodeModel(buildBertModel(ckpt, { embeddings: true })), [{ suffix: '', tokenizer: ckpt.tokenizer }]);
    const V = ckpt.config.vocabSize;
    try {
      let checked = 0;
      for (const x of ref.inputs) {
        const enc = ckpt.tokenizer.encode({ text: x.text, textPair: x.text_pair });
        assert.deepEqual(enc.inputIds, x.input_ids, `${x.id}: input_ids`);
        const plain = await runner.run([{ text: x.text, textPair: x.text_pair }], { outputs: ['cls_hidden'] });
        assertClose(plain['cls_hidden']!.data.subarray(0, 8), x.cls_hidden_first8, `${x.id} cls_hidden_first8`);
        if (!x.mlm) continue;
        const ids = x.mlm.masked_input_ids;
        const dims = [1, ids.length];
        const out = await runSession(
          runner.session,
          {
            input_ids: int64Tensor(BigInt64Array.from(ids.map(BigInt)), dims),
            attention_mask: int64Tensor(new BigInt64Array(ids.length).fill(1n), dims),
            token_type_ids: int64Tensor(BigInt64Array.from(x.token_type_ids.map(BigInt)), dims),
          },
          ['logits'],
        );
        const row = out['logits']!.data.subarray(x.mlm.position * V, (x.mlm.position + 1) * V);
        assertClose(row.subarray(0, 8), x.mlm.logits_first8, `${x.id} mlm logits_first8`);
        assert.ok(Math.abs(row[x.mlm.original_token_id]! - x.mlm.logit_of_original) <= TOL, `${x.id} logit of original`);
        const top5 = [...row.keys()].sort((a, b) => row[b]! - row[a]!).slice(0, 5);
        assert.deepEqual(top5, x.mlm.top5_ids, `${x.id} top-5 ids`);
        assertClose(top5.map((i) => row[i]!), x.mlm.top5_logits, `${x.id} top-5 logits`);
        const m = Math.max(...row);
        const lse = m + Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0));
        assert.ok(Math.abs(lse - x.mlm.logsumexp) <= 1e-3, `${x.id} logsumexp ${lse} vs ${x.mlm.logsumexp}`);
        checked++;
      }
      assert.ok(checked >= 30, `checked ${checked} masked inputs`);
    } finally {
      await runner.close();
    }
  });
});
