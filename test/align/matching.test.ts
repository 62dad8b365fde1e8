import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { activationMatching } from '../../src/align/activation-matching.js';
import { weightMatching } from '../../src/align/weight-matching.js';
import { bertAlignment } from '../../src/architectures/bert.js';
import { MergeSource } from '../../src/merge/sources.js';
import { maxAbsDiff, openFixture, permutedCheckpoint, randomPermutations } from './helpers.js';
import { reference } from '../helpers/fixtures.js';

const ckpt = openFixture('sst2-sibling-a');
after(() => ckpt.close());
const texts = reference('sst2-sibling-a').inputs.map((r) => ({ text: r.text }));

/** Align a secretly permuted copy back onto the original: every tensor must come back exactly. */
function assertRecovered(perms: Map<string, Int32Array>, copy: ReturnType<typeof permutedCheckpoint>): void {
  const ref = new MergeSource(ckpt, 'member');
  const other = new MergeSource(copy, 'member');
  other.perms = perms;
  for (const name of ref.canonicalNames()) assert.ok(maxAbsDiff(other.read(name), ref.read(name)) === 0, `${name} not recovered`);
}

test('weight matching undoes a random permutation exactly', () => {
  const copy = permutedCheckpoint(ckpt, randomPermutations(ckpt, 21));
  const ref = new MergeSource(ckpt, 'member');
  const other = new MergeSource(copy, 'member');
  const r = weightMatching({ read: (n) => ref.readLabelAligned(n) }, { read: (n) => other.readLabelAligned(n) }, ref.canonicalNames(), { alignment: bertAlignment, hiddenSize: 64, numHeads: 4 });
  assertRecovered(r.perms, copy);
  const res = r.groups.find((g) => g.group === 'residual')!;
  assert.ok(res.after > res.before, 'similarity improved');
});

test('activation matching undoes a random permutation exactly', async () => {
  const copy = permutedCheckpoint(ckpt, randomPermutations(ckpt, 22));
  const r = await activationMatching(ckpt, copy, texts, { threads: 1 });
  assertRecovered(r.perms, copy);
  for (const g of r.groups) assert.ok(g.after > 0.99, `${g.group}: matched correlation ${g.after}`);
});

test('siblings fine-tuned from one parent are already aligned: weight matching keeps every unit in place', () => {
  const b = openFixture('sst2-sibling-b');
  try {
    const ref = new MergeSource(ckpt, 'member');
    const other = new MergeSource(b, 'member');
    const r = weightMatching({ read: (n) => ref.readLabelAligned(n) }, { read: (n) => other.readLabelAligned(n) }, ref.canonicalNames(), { alignment: bertAlignment, hiddenSize: 64, numHeads: 4 });
    assert.equal(r.iterations, 1);
    for (const g of r.groups) assert.equal(g.moved, 0, g.group);
  } finally {
    b.close();
  }
});
