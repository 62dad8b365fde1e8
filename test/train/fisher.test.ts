import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { loadCheckpoint } from '../../src/checkpoint/load.js';
import { readLabelled } from '../../src/data/labelled.js';
import { classifierFromCheckpoint } from '../../src/runtime/classifier.js';
import { diagonalFisher } from '../../src/train/fisher.js';
import { DATA, fixture } from '../helpers/fixtures.js';

// Every family the training graph covers; the final classifier's bias is where the closed form lives.
const models: Array<[string, string]> = [
  ['sst2-sibling-a', 'classifier.bias'],
  ['family/roberta-sst2-a', 'classifier.out_proj.bias'],
  ['family/xlmr-sst2', 'classifier.out_proj.bias'],
  ['family/distilbert-sst2', 'classifier.bias'],
  ['family/electra-sst2', 'classifier.out_proj.bias'],
  ['family/modernbert-sst2', 'classifier.bias'],
  ['family/deberta-sst2', 'classifier.bias'],
];

for (const [model, bias] of models) {
  test(`diagonal Fisher of ${model}: the classifier bias entries equal the closed form E_y[(p − e_y)²] from the model's own probabilities`, async () => {
    const ckpt = loadCheckpoint(fixture(model));
    const inputs = readLabelled(path.join(DATA, 'sst2_dev.tsv'), { labels: ['0', '1'] }).inputs.slice(0, 6);
    const rows = inputs.map((t) => ckpt.tokenizer.encode(t));
    const fisher = await diagonalFisher(ckpt, rows, ckpt.tokenizer.padId, { runtime: { threads: 1 } });
    // Independent: ∂(−log p_c)/∂b_j = p_j − δ_cj, so F_j = mean_x Σ_c p_c (p_j − δ_cj)².
    const clf = await classifierFromCheckpoint(loadCheckpoint(fixture(model)), { runtime: { threads: 1 } });
    const p = await clf.predictProba(inputs);
    await clf.close();
    const expected = [0, 0];
    for (let i = 0; i < inputs.length; i++) {
      for (let c = 0; c < 2; c++) for (let j = 0; j < 2; j++) expected[j]! += (p[i * 2 + c]! * (p[i * 2 + j]! - (c === j ? 1 : 0)) ** 2) / inputs.length;
    }
    const got = fisher.get(bias)!;
    expected.forEach((e, j) => assert.ok(Math.abs(got[j]! - e) < 1e-5, `bias ${j}: ${got[j]} vs ${e}`));
    // Every parameter has a non-negative Fisher of its own shape.
    for (const name of ckpt.tensors.names()) {
      const f = fisher.get(name)!;
      assert.equal(f.length, ckpt.tensors.read(name).data.length, name);
      assert.ok(f.every((v) => v >= 0 && Number.isFinite(v)), name);
    }
    ckpt.close();
  });
}
