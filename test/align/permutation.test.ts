import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { gather, headPermutation, identity, isIdentity, permuteGram } from '../../src/align/permutation.js';
import { tensorAxes } from '../../src/align/axis-parts.js';
import { bertAlignment } from '../../src/architectures/bert.js';
import { expectedTensors } from '../../src/checkpoint/bert-names.js';
import { maxAbsDiff, openFixture, permutedCheckpoint, randomPermutations, referenceLogits } from './helpers.js';

const ckpt = openFixture('sst2-sibling-a');
after(() => ckpt.close());

test('every BERT classifier and MLM tensor has a permutation rule', () => {
  const names = [...expectedTensors({ ...ckpt.config, architecture: 'BertForSequenceClassification', task: 'classify' }, 'bert.').keys(), ...expectedTensors({ ...ckpt.config, architecture: 'BertForMaskedLM', task: 'mlm', labels: null }, 'bert.').keys()];
  const axes = (n: string): ReturnType<typeof tensorAxes> => tensorAxes(bertAlignment, n);
  for (const n of names) assert.doesNotThrow(() => axes(n), n);
  assert.deepEqual(axes('bert.encoder.layer.1.attention.output.dense.weight'), [['residual'], ['vo.1']]);
  assert.deepEqual(axes('bert.encoder.layer.1.output.dense.weight'), [['residual'], ['ffn.1']]);
  assert.deepEqual(axes('classifier.weight'), [[null], ['pooler']]);
  assert.throws(() => axes('bert.something.else'), /no permutation rule/);
});

test('gather, head permutations and Gram permutation by hand', () => {
  const t = { shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) };
  assert.deepEqual([...gather(t, Int32Array.from([1, 0]), Int32Array.from([2, 0, 1]))], [6, 4, 5, 3, 1, 2]);
  // Two heads of two units: head order [1, 0]; inside head 1 the units swap.
  assert.deepEqual([...headPermutation([1, 0], [[1, 0], [0, 1]], 2)], [3, 2, 0, 1]);
  const g = Float64Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.deepEqual([...permuteGram(g, 3, Int32Array.from([2, 0, 1]))], [9, 7, 8, 3, 1, 2, 6, 4, 5]);
  assert.ok(isIdentity(identity(4)));
});

test('a permuted model computes the same function (logits within 1e-4 on the fixture sentences)', async () => {
  const perms = randomPermutations(ckpt, 5);
  for (const p of perms.values()) assert.ok(!isIdentity(p));
  const permuted = permutedCheckpoint(ckpt, perms);
  const name = 'bert.encoder.layer.0.intermediate.dense.weight';
  assert.ok(maxAbsDiff(permuted.tensors.read(name).data, ckpt.tensors.read(name).data) > 0.01, 'the weights really moved');
  const [orig, perm] = [await referenceLogits(ckpt), await referenceLogits(permuted)];
  assert.ok(maxAbsDiff(orig, perm) <= 1e-4, `max logit difference ${maxAbsDiff(orig, perm)}`);
});

test('control: breaking the head structure (Q and K in different orders) changes the function', async () => {
  const perms = randomPermutations(ckpt, 5);
  const broken = new Map(perms);
  broken.set('qk.0', Int32Array.from(perms.get('qk.0')!).reverse());
  const good = permutedCheckpoint(ckpt, perms);
  const bad = permutedCheckpoint(ckpt, broken);
  // The query of layer 0 takes the other order; the key keeps the consistent one.
  const q = new Set(['bert.encoder.layer.0.attention.self.query.weight', 'bert.encoder.layer.0.attention.self.query.bias']);
  const t = good.tensors;
  const mixed = { ...good, tensors: { source: 'mixed', names: () => t.names(), has: (n: string) => t.has(n), info: (n: string) => t.info(n), read: (n: string) => (q.has(n) ? bad.tensors.read(n) : t.read(n)), close: () => {} } };
  const diff = maxAbsDiff(await referenceLogits(ckpt), await referenceLogits(mixed));
  assert.ok(diff > 1e-2, `inconsistent Q/K permutation should change logits (diff ${diff})`);
});
