import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { buildCombinedGraph } from '../../src/graph/combine.js';
import { encodeModel } from '../../src/graph/onnx-builder.js';
import { loadMembers, type MemberSet } from '../../src/members/load.js';
import { runMembers, type MemberRun } from '../../src/members/run.js';
import { GraphRunner } from '../../src/runtime/runner.js';
import { fixture } from '../helpers/fixtures.js';
import { readSst2Dev, testWeightedMean } from '../members/shared.js';

// sibling-a (tokenizer A, negative/positive) + stranger-b (tokenizer B, positive/negative):
// two input groups and a real label permutation.
describe('combined graph: two members with different tokenizers and label orders', () => {
  const data = readSst2Dev(96);
  let set: MemberSet;
  let run: MemberRun;
  before(async () => {
    set = loadMembers([fixture('sst2-sibling-a'), fixture('sst2-stranger-b')]);
    run = await runMembers(set, data.inputs);
  });
  after(() => set.close());

  test('inputs per tokenizer group, unsuffixed first; outputs logits + logits_<member>', async () => {
    const params = testWeightedMean.fit(run.outputs, { labels: new Int32Array(0), seed: 0, folds: 2 }, {});
    const g = buildCombinedGraph({
      members: set.members.map((m) => ({ name: m.name, weights: m.checkpoint, group: m.group, alignment: m.alignment })),
      labels: set.labels,
      method: testWeightedMean,
      params,
    });
    const bytes = encodeModel(g.toModel());
    const runner = await GraphRunner.create(bytes, set.groups.map((gr) => ({ suffix: gr.suffix, tokenizer: gr.tokenizer })));
    try {
      assert.deepEqual([...runner.session.inputNames].sort(), ['attention_mask', 'attention_mask_1', 'input_ids', 'input_ids_1', 'token_type_ids', 'token_type_ids_1']);
      assert.deepEqual([...runner.outputNames], ['logits', 'logits_sst2-sibling-a', 'logits_sst2-stranger-b']);
      const out = await runner.run(data.inputs, { batchSize: 16 });
      const k = 2;
      const expected = testWeightedMean.apply(run.outputs, params);
      let worst = 0;
      for (let i = 0; i < data.inputs.length * k; i++) {
        worst = Math.max(worst, Math.abs(Math.exp(out['logits']!.data[i]!) - expected[i]!));
        for (const [mi, m] of set.members.entries()) {
          worst = Math.max(worst, Math.abs(out[`logits_${m.name}`]!.data[i]! - run.outputs.members[mi]!.logits[i]!));
        }
      }
      assert.ok(worst <= 1e-5, `combined graph vs in-process: max |diff| ${worst}`);
    } finally {
      await runner.close();
    }
  });

  test('stranger-b is gathered into the common order: both members agree on what "positive" means', () => {
    const k = 2;
    assert.deepEqual(set.labels, ['negative', 'positive']);
    assert.deepEqual(set.members[1]!.alignment, [1, 0]);
    const [a, b] = run.outputs.members;
    let agree = 0;
    for (let i = 0; i < run.outputs.n; i++) {
      const pa = a!.logits[i * k + 1]! > a!.logits[i * k]!;
      const pb = b!.logits[i * k + 1]! > b!.logits[i * k]!;
      if (pa === pb) agree++;
    }
    // Two ~80% accurate sentiment models agree on most rows only if the columns mean the same.
    assert.ok(agree / run.outputs.n > 0.7, `agreement ${agree}/${run.outputs.n}`);
  });
});
