import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { combine, type AutoCandidateSource } from '../../src/artifact/combine.js';
import { FUSION_METHODS } from '../../src/fusion/registry.js';
import { DATA, fixture, tempDir } from '../helpers/fixtures.js';

// The hook weight merges will use in `--method auto`: a candidate scored on the same rows as the
// fusion methods, in the same table, exported when it wins. Here a deliberately strong fake
// (it reads the gold labels, which no real candidate may do) proves the wiring, not a method.
test('auto: a registered candidate is scored beside the methods and writes its own folder when it wins', async () => {
  const root = tempDir();
  const data = path.join(root, 'd.tsv');
  fs.writeFileSync(data, fs.readFileSync(path.join(DATA, 'sst2_dev.tsv'), 'utf8').split('\n').slice(0, 121).join('\n') + '\n');
  let wrote: string | null = null;
  const fake: AutoCandidateSource = async () => [
    {
      name: 'fake-merge',
      async score(prepared) {
        const gold = prepared.fit.data.labels;
        const probs = new Float64Array(gold.length * 2);
        gold.forEach((g, i) => {
          probs[i * 2 + g] = 0.9;
          probs[i * 2 + 1 - g] = 0.1;
        });
        return { scoring: 'direct', probs, cost: 1 };
      },
      async write(out) {
        fs.mkdirSync(out);
        fs.writeFileSync(path.join(out, 'merged.txt'), 'merged');
        wrote = out;
      },
    },
  ];
  const out = path.join(root, 'out');
  const outcome = await combine(
    { members: [{ path: fixture('sst2-sibling-a') }, { path: fixture('sst2-sibling-b') }], data: { path: data }, evalData: null, labels: null, labelMap: {}, method: 'auto', options: {}, seed: 0, folds: 3, out },
    { registry: FUSION_METHODS.filter((m) => m.name === 'mean' || m.name === 'weighted'), autoCandidates: [fake] },
  );
  const row = outcome.result.rows.find((r) => r.name === 'fake-merge')!;
  assert.equal(row.kind, 'merge');
  assert.ok(Math.abs(row.logLoss + Math.log(0.9)) < 1e-12);
  assert.equal(row.accuracy, 1);
  assert.equal(outcome.result.selection!.winner, 'fake-merge');
  assert.equal(outcome.exported, 'fake-merge');
  assert.equal(outcome.manifest, null);
  assert.equal(wrote, out);
  assert.deepEqual(Object.keys(outcome.result.disagreements[0]?.fused ?? { mean: 0, weighted: 0, 'fake-merge': 0 }), ['mean', 'weighted', 'fake-merge']);
});
