import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { readLabelled } from '../../src/data/labelled.js';
import { BertfuseError } from '../../src/errors.js';
import { alignLabels, mapLabels, parseLabelMap } from '../../src/members/labels.js';
import { loadMembers, type MemberSet } from '../../src/members/load.js';
import { runMembers, selectRows, type MemberRun } from '../../src/members/run.js';
import { bertFlops } from '../../src/members/cost.js';
import { DATA, fixture } from '../helpers/fixtures.js';
import { readSst2Dev } from './shared.js';

const metricsAccuracy = (name: string): number => (JSON.parse(fs.readFileSync(path.join(fixture(name), 'metrics.json'), 'utf8')) as { sst2_dev: { accuracy: number } }).sst2_dev.accuracy;

describe('labels are aligned by name', () => {
  test('alignment indices, and mismatches name what is missing and extra', () => {
    assert.deepEqual(alignLabels(['positive', 'negative'], ['negative', 'positive'], 'b'), [1, 0]);
    assert.deepEqual(alignLabels(['a', 'b', 'c'], ['c', 'a', 'b'], 'x'), [2, 0, 1]);
    assert.throws(
      () => alignLabels(['subjective', 'objective'], ['negative', 'positive'], 'subj/config.json'),
      (e: BertfuseError) =>
        e.code === 'E_LABEL_MISMATCH' && /subj\/config\.json: .*missing "negative", "positive"; extra "subjective", "objective" \(map names with --label-map subjective=negative\)/.test(e.message),
    );
    assert.throws(() => alignLabels(['negative', 'positive', 'neutral'], ['negative', 'positive'], 'm'), /extra "neutral"/);
  });

  test('--label-map parsing and renaming', () => {
    assert.deepEqual(parseLabelMap('NEG=negative, POS=positive'), { NEG: 'negative', POS: 'positive' });
    assert.deepEqual(parseLabelMap(['NEG=negative', 'POS=positive']), { NEG: 'negative', POS: 'positive' });
    assert.throws(() => parseLabelMap('NEG'), /"NEG" is not FROM=TO/);
    assert.throws(() => parseLabelMap('A=x,A=y'), /maps "A" twice/);
    assert.deepEqual(mapLabels(['NEG', 'POS'], { NEG: 'negative' }, 'm'), ['negative', 'POS']);
    assert.throws(() => mapLabels(['NEG', 'negative'], { NEG: 'negative' }, 'm'), /both called "negative"/);
  });

  test('members that cannot be matched fail before anything runs; a label map fixes them', () => {
    assert.throws(() => loadMembers([fixture('sst2-sibling-a'), fixture('subj-sibling')]), (e: BertfuseError) => e.code === 'E_LABEL_MISMATCH' && e.message.includes('subj-sibling'));
    const set = loadMembers([fixture('sst2-sibling-a'), fixture('subj-sibling')], { labelMap: { subjective: 'negative', objective: 'positive' } });
    assert.deepEqual(set.members[1]!.alignment, [0, 1]);
    set.close();
    assert.throws(() => loadMembers([fixture('sst2-sibling-a')]), /at least two members/);
    assert.throws(() => loadMembers([fixture('sst2-sibling-a'), fixture('base-mlm')]), /BertForMaskedLM has no classification head/);
    assert.throws(() => loadMembers([fixture('sst2-sibling-a'), fixture('sst2-sibling-b')], { labels: ['negative', 'neutral'] }), /missing "neutral"/);
  });

  test('tokenizer groups follow the tokenizer fingerprint; names stay unique', () => {
    const set = loadMembers([fixture('sst2-sibling-a'), fixture('sst2-stranger-b'), fixture('sst2-sibling-b'), fixture('sst2-sibling-a')]);
    try {
      assert.deepEqual(set.members.map((m) => m.group), [0, 1, 0, 0]);
      assert.deepEqual(set.groups.map((g) => [g.suffix, g.members]), [['', [0, 2, 3]], ['_1', [1]]]);
      assert.deepEqual(set.members.map((m) => m.name), ['sst2-sibling-a', 'sst2-stranger-b', 'sst2-sibling-b', 'sst2-sibling-a_2']);
    } finally {
      set.close();
    }
  });
});

describe('sst2-sibling-a + sst2-stranger-b on sst2_dev (stranger-b has the reversed label order)', () => {
  let set: MemberSet;
  let run: MemberRun;
  const data = readLabelled(path.join(DATA, 'sst2_dev.tsv'), { labels: ['negative', 'positive'] });
  before(async () => {
    set = loadMembers([fixture('sst2-sibling-a'), fixture('sst2-stranger-b')]);
    run = await runMembers(set, data.inputs);
  });
  after(() => set.close());

  test("member accuracies equal their metrics.json (80.50% and 84.86%), gold read independently", () => {
    const gold = readSst2Dev().gold;
    assert.equal(run.outputs.n, 872);
    const names = ['sst2-sibling-a', 'sst2-stranger-b'];
    run.outputs.members.forEach((m, mi) => {
      let right = 0;
      for (let i = 0; i < 872; i++) {
        const pred = set.labels[m.logits[i * 2 + 1]! > m.logits[i * 2]! ? 1 : 0];
        if (pred === gold[i]) right++;
      }
      assert.equal(right, Math.round(metricsAccuracy(names[mi]!) * 872), `${names[mi]}: ${right}/872`);
    });
    assert.equal(((100 * Math.round(metricsAccuracy('sst2-stranger-b') * 872)) / 872).toFixed(2), '84.86');
  });

  test('embeddings are cached with the logits; costs count FLOPs on each tokenizer\'s own lengths', () => {
    for (const m of run.outputs.members) {
      assert.equal(m.pooled!.length, 872 * 64);
      assert.equal(m.cls!.length, 872 * 64);
    }
    // stranger-b's smaller vocabulary splits words into more pieces: more tokens, more FLOPs.
    assert.ok(run.meanTokens[1]! > run.meanTokens[0]!);
    const cfg = set.members[0]!.checkpoint.config;
    const lengths = data.inputs.map((x) => set.members[0]!.checkpoint.tokenizer.encode(x).inputIds.length);
    assert.equal(run.flops[0], lengths.reduce((a, L) => a + bertFlops(cfg, L, 2), 0));
    // 2 layers × (2·L·(4·64² + 2·64·256) + 4·L²·64) + 2·64² + 2·64·2 at L = 10:
    assert.equal(bertFlops(cfg, 10, 2), 2 * (2 * 10 * (4 * 4096 + 2 * 64 * 256) + 4 * 100 * 64) + 2 * 4096 + 256);
    assert.equal(run.outputs.members[0]!.cost, 1);
    assert.ok(Math.abs(run.outputs.members[1]!.cost - run.flops[1]! / run.flops[0]!) < 1e-12);
  });

  test('selectRows keeps rows together across logits and embeddings', () => {
    const sub = selectRows(run.outputs, [5, 0]);
    const m = run.outputs.members[1]!;
    assert.deepEqual(Array.from(sub.members[1]!.logits), [m.logits[10], m.logits[11], m.logits[0], m.logits[1]]);
    assert.deepEqual(Array.from(sub.members[1]!.pooled!.subarray(0, 64)), Array.from(m.pooled!.subarray(5 * 64, 6 * 64)));
  });
});
