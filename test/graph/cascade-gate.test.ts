import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { readLabelled } from '../../src/data/labelled.js';
import { cascade, type CascadeParams } from '../../src/fusion/cascade.js';
import { buildCombinedGraph, memberOutputName, memberRanName } from '../../src/graph/combine.js';
import { encodeModel } from '../../src/graph/onnx-builder.js';
import { loadMembers, type MemberSet } from '../../src/members/load.js';
import { runMembers, type MemberRun } from '../../src/members/run.js';
import { GraphRunner } from '../../src/runtime/runner.js';
import { DATA, fixture } from '../helpers/fixtures.js';

const TOL = 1e-5;

// The cascade graph runs the second member only on the rows below τ (gathered, run, scattered back).
// Whatever τ, its probabilities equal the in-process cascade; the skipped member's logits are its
// real logits on escalated rows and 0 on rows it never saw, and ran_<member> says which rows those are.
describe('cascade graph that skips work = in-process cascade (sibling-a + stranger-b: two tokenizers)', () => {
  const data = readLabelled(path.join(DATA, 'sst2_dev.tsv'), { labels: ['negative', 'positive'] });
  const rows = data.inputs.slice(0, 160);
  let set: MemberSet;
  let run: MemberRun;
  before(async () => {
    set = loadMembers([fixture('sst2-sibling-a'), fixture('sst2-stranger-b')]);
    run = await runMembers(set, rows);
  });
  after(() => set.close());

  const cases: [string, number, CascadeParams['fallback']][] = [
    ['no row escalates (τ = 0)', 0, 'mean'],
    ['every row escalates (τ above 1)', 2, 'mean'],
    ['some rows escalate (τ = 0.9), fallback mean', 0.9, 'mean'],
    ['some rows escalate (τ = 0.8), fallback second', 0.8, 'second'],
  ];
  for (const [name, threshold, fallback] of cases) {
    test(name, async () => {
      const params: CascadeParams = { temperatures: [1, 1], threshold, fallback };
      const want = cascade.apply(run.outputs, params);
      const g = buildCombinedGraph({ members: set.members.map((m) => ({ name: m.name, weights: m.checkpoint, group: m.group, alignment: m.alignment })), labels: set.labels, method: cascade, params });
      const runner = await GraphRunner.create(encodeModel(g.toModel()), set.groups.map((gr) => ({ suffix: gr.suffix, tokenizer: gr.tokenizer })));
      try {
        // Small batches: within one run some batches escalate no row and some every row.
        const out = await runner.run(rows, { batchSize: 8 });
        const logp = out['logits']!.data;
        let worst = 0;
        for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(Math.exp(logp[i]!) - want[i]!));
        assert.ok(worst <= TOL, `max |p_onnx − p_apply| = ${worst.toExponential(2)}`);
        const stats = cascade.stats!(run.outputs, params);
        const second = out[memberOutputName(set.members[1]!.name)]!.data;
        const ran = out[memberRanName(set.members[1]!.name)]!.data;
        assert.equal(out[memberRanName(set.members[0]!.name)], undefined, 'the first member runs on every row: no ran_ output');
        const truth = run.outputs.members[1]!.logits;
        const first = run.outputs.members[0]!.logits;
        let escalated = 0;
        for (let r = 0; r < rows.length; r++) {
          const conf = Math.max(...[0, 1].map((j) => Math.exp(first[r * 2 + j]!) / (Math.exp(first[r * 2]!) + Math.exp(first[r * 2 + 1]!))));
          const up = conf < Math.fround(threshold);
          if (up) escalated++;
          assert.equal(ran[r], up ? 1 : 0, `row ${r}: ran_<member> says whether the second member ran`);
          for (let j = 0; j < 2; j++) {
            const got = second[r * 2 + j]!;
            if (up) assert.ok(Math.abs(got - truth[r * 2 + j]!) < 1e-4, `row ${r}: escalated member logits ${got} vs ${truth[r * 2 + j]}`);
            else assert.equal(got, 0, `row ${r}: the second member never ran on it`);
          }
        }
        assert.ok(Math.abs(escalated / rows.length - stats['fallback_fraction']!) < 1e-12, 'the graph escalates exactly the rows stats counts');
      } finally {
        await runner.close();
      }
    });
  }
});
