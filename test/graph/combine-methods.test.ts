import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { readLabelled } from '../../src/data/labelled.js';
import { FUSION_METHODS } from '../../src/fusion/registry.js';
import { buildCombinedGraph } from '../../src/graph/combine.js';
import { encodeModel } from '../../src/graph/onnx-builder.js';
import { loadMembers, type MemberSet } from '../../src/members/load.js';
import { runMembers, selectRows, type MemberRun } from '../../src/members/run.js';
import { GraphRunner } from '../../src/runtime/runner.js';
import { DATA, fixture } from '../helpers/fixtures.js';

const TOL = 1e-5;

// For EVERY registered method: params fit in-process, the ONE exported graph (two encoders with
// their own tokenizers, label Gather, fusion head) gives the same probabilities as `apply`.
describe('exported combined model = in-process fusion, every method (sibling-a + stranger-b, sst2_dev)', () => {
  const data = readLabelled(path.join(DATA, 'sst2_dev.tsv'), { labels: ['negative', 'positive'] });
  const FIT_ROWS = 300;
  let set: MemberSet;
  let run: MemberRun;
  before(async () => {
    set = loadMembers([fixture('sst2-sibling-a'), fixture('sst2-stranger-b')]);
    run = await runMembers(set, data.inputs);
  });
  after(() => set.close());

  for (const method of FUSION_METHODS) {
    test(method.name, async () => {
      const fitRows = Array.from({ length: FIT_ROWS }, (_, i) => i);
      const params = method.fit(selectRows(run.outputs, fitRows), { labels: data.labels.slice(0, FIT_ROWS), seed: 0, folds: 3 }, {});
      const want = method.apply(run.outputs, params);
      const g = buildCombinedGraph({
        members: set.members.map((m) => ({ name: m.name, weights: m.checkpoint, group: m.group, alignment: m.alignment })),
        labels: set.labels,
        method,
        params,
      });
      const runner = await GraphRunner.create(encodeModel(g.toModel()), set.groups.map((gr) => ({ suffix: gr.suffix, tokenizer: gr.tokenizer })));
      try {
        const out = await runner.run(data.inputs, { batchSize: 64 });
        const logp = out['logits']!.data;
        let worst = 0;
        let at = 0;
        for (let i = 0; i < want.length; i++) {
          const d = Math.abs(Math.exp(logp[i]!) - want[i]!);
          if (d > worst) [worst, at] = [d, i];
        }
        assert.ok(worst <= TOL, `${method.name}: max |p_onnx − p_apply| = ${worst.toExponential(2)} at row ${at >> 1}`);
        // Fused log-probabilities: each row's probabilities sum to 1.
        for (let r = 0; r < data.inputs.length; r++) assert.ok(Math.abs(Math.exp(logp[2 * r]!) + Math.exp(logp[2 * r + 1]!) - 1) < 1e-5);
      } finally {
        await runner.close();
      }
    });
  }
});
