import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { permuteGram } from '../../src/align/permutation.js';
import { collectStats, probePoints } from '../../src/merge/probe.js';
import { reference } from '../helpers/fixtures.js';
import { maxAbsDiff, openFixture, permutedCheckpoint, randomPermutations } from '../align/helpers.js';

const ckpt = openFixture('sst2-sibling-a');
after(() => ckpt.close());
const ref = reference('sst2-sibling-a');
const inputs = ref.inputs.map((r) => ({ text: r.text, textPair: r.text_pair }));

test('per-sequence sums match the PyTorch reference ([CLS] hidden state and pooler output)', async () => {
  const s = await collectStats([ckpt], [
    { kind: 'sum', model: 0, key: 'pooler_input' },
    { kind: 'sum', model: 0, key: 'classifier_input' },
  ], inputs, { threads: 1 });
  assert.equal(s.sequences, inputs.length);
  for (let j = 0; j < 8; j++) {
    const cls = ref.inputs.reduce((acc, r) => acc + r.cls_hidden_first8[j]!, 0);
    const pooled = ref.inputs.reduce((acc, r) => acc + r.pooled_first8![j]!, 0);
    assert.ok(Math.abs(s.values[0]![j]! - cls) < 1e-3, `cls sum ${j}: ${s.values[0]![j]} vs ${cls}`);
    assert.ok(Math.abs(s.values[1]![j]! - pooled) < 1e-3, `pooled sum ${j}: ${s.values[1]![j]} vs ${pooled}`);
  }
});

test('padding is masked out: padded batches give the same Gram matrices as one input at a time', async () => {
  const requests = [
    { kind: 'gram', model: 0, key: 'layer.1.ffn_hidden' },
    { kind: 'gram', model: 0, key: 'final_hidden' },
  ] as const;
  const batched = await collectStats([ckpt], requests, inputs, { batchSize: 36, threads: 1 });
  const single = await collectStats([ckpt], requests, inputs, { batchSize: 1, threads: 1 });
  assert.equal(batched.tokens, ref.inputs.reduce((n, r) => n + r.input_ids.length, 0));
  assert.equal(batched.tokens, single.tokens);
  for (let k = 0; k < requests.length; k++) {
    const scale = Math.max(...single.values[k]!.map(Math.abs));
    assert.ok(maxAbsDiff(batched.values[k]!, single.values[k]!) < 1e-4 * scale, `request ${k}`);
  }
});

test('a permuted model has the permuted Gram matrices (so RegMean statistics follow the alignment)', async () => {
  const perms = randomPermutations(ckpt, 9);
  const copy = permutedCheckpoint(ckpt, perms);
  const keys = ['layer.0.attention_input', 'layer.0.attention_context', 'layer.1.ffn_hidden', 'classifier_input'];
  const groups = ['residual', 'vo.0', 'ffn.1', 'pooler'];
  const req = keys.map((key) => ({ kind: 'gram' as const, model: 0, key }));
  const [a, b] = [await collectStats([ckpt], req, inputs, { threads: 1 }), await collectStats([copy], req, inputs, { threads: 1 })];
  keys.forEach((key, k) => {
    const n = probePoints(ckpt).find((p) => p.key === key)!.width;
    const expected = permuteGram(a.values[k]!, n, perms.get(groups[k]!)!);
    const scale = Math.max(...expected.map(Math.abs));
    assert.ok(maxAbsDiff(b.values[k]!, expected) < 1e-4 * scale, key);
  });
});
