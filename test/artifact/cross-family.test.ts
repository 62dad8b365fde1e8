import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { readManifest } from '../../src/artifact/manifest.js';
import { CombinedClassifier, registerCombinedLoader } from '../../src/artifact/read.js';
import { writeCombined } from '../../src/artifact/write.js';
import { isBertfuseError } from '../../src/errors.js';
import { getFusionMethod } from '../../src/fusion/registry.js';
import { loadMembers, type MemberSet } from '../../src/members/load.js';
import { runMembers, type MemberRun } from '../../src/members/run.js';
import { loadClassifier } from '../../src/runtime/classifier.js';
import { fixture, tempDir } from '../helpers/fixtures.js';
import { readSst2Dev } from '../members/shared.js';

const weighted = getFusionMethod('weighted');
const UPPER = { POSITIVE: 'positive', NEGATIVE: 'negative' };

describe('combined folder across families: BERT + RoBERTa + XLM-R (three tokenizers) + DistilBERT (shares BERT\'s)', () => {
  const data = readSst2Dev(48);
  const out = path.join(tempDir(), 'combined');
  const sources = [fixture('sst2-sibling-a'), fixture('family/roberta-sst2-a'), fixture('family/xlmr-sst2'), fixture('family/distilbert-sst2')];
  let set: MemberSet;
  let run: MemberRun;
  before(async () => {
    registerCombinedLoader();
    set = loadMembers(sources, { labelMap: UPPER });
    run = await runMembers(set, data.inputs);
  });
  after(() => set.close());

  test('labels are matched by name: xlmr-sst2 says POSITIVE/NEGATIVE in reversed order and needs the label map, which the error suggests', () => {
    assert.throws(() => loadMembers(sources), (e: unknown) => {
      assert.ok(isBertfuseError(e));
      assert.equal(e.code, 'E_LABEL_MISMATCH');
      assert.match(e.message, /xlmr-sst2\/config\.json: labels \[POSITIVE, NEGATIVE\] do not match \[negative, positive\].*--label-map POSITIVE=positive,NEGATIVE=negative/);
      return true;
    });
    assert.deepEqual(set.members.map((m) => m.alignment), [[0, 1], [0, 1], [1, 0], [0, 1]]);
  });

  test('tokenizer groups and graph inputs: token_type_ids only for the group whose members read them', async () => {
    assert.equal(set.groups.length, 3);
    assert.deepEqual(set.members.map((m) => m.group), [0, 1, 2, 0]);
    const gold = Int32Array.from(data.gold, (g) => (g === 'positive' ? 1 : 0));
    const params = weighted.fit(run.outputs, { labels: gold, seed: 0, folds: 2 }, {});
    await writeCombined(out, { set, method: weighted, options: {}, params, metrics: null });
    const man = readManifest(out);
    assert.deepEqual(man.model.inputs, ['input_ids', 'attention_mask', 'token_type_ids', 'input_ids_1', 'attention_mask_1', 'input_ids_2', 'attention_mask_2']);
    assert.deepEqual(man.tokenizers.map((t) => t.family), ['bert', 'roberta', 'xlm-roberta']);
    assert.deepEqual(man.members.map((m) => m.architecture), ['BertForSequenceClassification', 'RobertaForSequenceClassification', 'XLMRobertaForSequenceClassification', 'DistilBertForSequenceClassification']);

    const model = await loadClassifier(out);
    try {
      assert.ok(model instanceof CombinedClassifier);
      const got = await model.predictProba(data.inputs);
      const want = weighted.apply(run.outputs, params);
      for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i]! - want[i]!) <= 1e-5, `row ${i >> 1}: ${got[i]} vs ${want[i]}`);
      // Each member inside the one graph gives what it gives alone (its own tokenizer, its own family).
      const detail = await model.predictDetailed!(data.inputs);
      run.outputs.members.forEach((m) => {
        const p = detail.members[m.name]!;
        for (let i = 0; i < data.inputs.length; i++) {
          const l = [m.logits[2 * i]!, m.logits[2 * i + 1]!];
          const mx = Math.max(...l);
          const z = Math.exp(l[0]! - mx) + Math.exp(l[1]! - mx);
          assert.ok(Math.abs(p[2 * i]! - Math.exp(l[0]! - mx) / z) < 1e-5, `${m.name} row ${i}`);
        }
      });
    } finally {
      await model.close();
    }
  });
});
