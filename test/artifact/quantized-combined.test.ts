import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { combine } from '../../src/artifact/combine.js';
import { readManifest } from '../../src/artifact/manifest.js';
import { registerCombinedLoader } from '../../src/artifact/read.js';
import { readLabelled } from '../../src/data/labelled.js';
import { FUSION_METHODS } from '../../src/fusion/registry.js';
import { mean } from '../../src/fusion/mean.js';
import { loadMembers } from '../../src/members/load.js';
import { runMembers } from '../../src/members/run.js';
import { loadClassifier } from '../../src/runtime/classifier.js';
import { DATA, fixture, tempDir } from '../helpers/fixtures.js';

registerCombinedLoader(); // loadClassifier opens combined folders

describe('combine --quantize int8', () => {
  test('the exported graph has int8 members, its probabilities equal the method on int8 members, and the table has its int8 row', async () => {
    const dir = tempDir();
    const lines = fs.readFileSync(path.join(DATA, 'sst2_dev.tsv'), 'utf8').split('\n');
    const data = path.join(dir, 'dev.tsv');
    fs.writeFileSync(data, lines.slice(0, 201).join('\n') + '\n');
    const members = [{ path: fixture('sst2-sibling-a') }, { path: fixture('sst2-stranger-b') }];
    const common = { members, data: { path: data }, evalData: null, labels: ['negative', 'positive'], labelMap: {}, method: 'mean', options: {}, seed: 0, folds: 5, resamples: 0 };
    const float = await combine({ ...common, out: path.join(dir, 'float') }, { registry: FUSION_METHODS });
    const q = await combine({ ...common, out: path.join(dir, 'int8'), quantize: 'int8' }, { registry: FUSION_METHODS });
    assert.equal(readManifest(q.out).model.quantize, 'int8');
    assert.equal(readManifest(float.out).model.quantize, undefined);
    const sizeQ = fs.statSync(path.join(q.out, 'model.onnx')).size;
    const sizeF = fs.statSync(path.join(float.out, 'model.onnx')).size;
    // The encoder layers' linear weights (2 members × 2 layers × 49,152 floats) shrink 4× (scales aside);
    // embeddings and heads stay float.
    assert.ok(sizeF - sizeQ > 0.5e6, `int8 graph is smaller by the layers' weights (${sizeQ} vs ${sizeF} bytes)`);
    const row = q.result.rows.find((r) => r.name === 'mean (int8)')!;
    const floatRow = q.result.rows.find((r) => r.name === 'mean')!;
    assert.equal(row.scoring, floatRow.scoring);
    assert.ok(Math.abs(row.stats!['int8_accuracy_change']! - (row.accuracy - floatRow.accuracy)) < 1e-12);

    // Independent: each member alone as an int8 single model, averaged in probability space by label name.
    // Dynamic quantisation scales activations per batch, so both sides run one row at a time.
    const rows = readLabelled(data, { labels: ['negative', 'positive'] });
    const set = loadMembers(members.map((m) => m.path), { labels: ['negative', 'positive'] });
    try {
      const int8 = await runMembers(set, rows.inputs, { quantize: 'int8', batchSize: 1 });
      const want = mean.apply(int8.outputs, mean.fit(int8.outputs, { labels: rows.labels, seed: 0, folds: 5 }, {}));
      const model = await loadClassifier(q.out);
      try {
        const got = await model.predictProba(rows.inputs, { batchSize: 1 });
        let worst = 0;
        for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
        assert.ok(worst < 1e-4, `combined int8 vs members int8: max |Δp| ${worst}`);
      } finally {
        await model.close();
      }
    } finally {
      set.close();
    }
  });
});
