import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { env, pipeline } from '@huggingface/transformers';
import { readManifest } from '../../src/artifact/manifest.js';
import { loadCombined } from '../../src/artifact/read.js';
import { writeCombined } from '../../src/artifact/write.js';
import { loadCheckpoint } from '../../src/checkpoint/load.js';
import { readLabelled } from '../../src/data/labelled.js';
import { buildBertModel } from '../../src/graph/bert-model.js';
import { encodeModel } from '../../src/graph/onnx-builder.js';
import { getFusionMethod } from '../../src/fusion/registry.js';
import { loadMembers, type MemberSet } from '../../src/members/load.js';
import { runMembers } from '../../src/members/run.js';
import { DATA, tempDir } from '../helpers/fixtures.js';
import { familyFixture, familyReference } from './family-fixture.js';

// transformers.js supports model_type modernbert and deberta-v2. A single model: the graph bertfuse
// builds for it (what `predict` runs), in the transformers.js layout beside the model's own
// config and tokenizer files, gives PyTorch's probabilities there. Two members sharing a tokenizer:
// bertfuse's combined folder loads there with bertfuse's probabilities.
for (const name of ['modernbert-sst2', 'modernbert-sst2-mean', 'deberta-sst2']) {
  test(`${name}: bertfuse's graph loads in @huggingface/transformers with PyTorch's probabilities (≤ 1e-4)`, async () => {
    const src = familyFixture(name);
    const out = path.join(tempDir(), name);
    const ckpt = loadCheckpoint(src);
    try {
      fs.mkdirSync(path.join(out, 'onnx'), { recursive: true });
      fs.writeFileSync(path.join(out, 'onnx', 'model.onnx'), encodeModel(buildBertModel(ckpt)));
    } finally {
      ckpt.close();
    }
    for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json']) fs.copyFileSync(path.join(src, f), path.join(out, f));
    env.allowRemoteModels = false;
    const classify = await pipeline('text-classification', out, { local_files_only: true });
    try {
      const ref = familyReference(name);
      const labels = Object.values(ref.id2label!);
      // Single texts that fit (transformers.js truncates pairs differently; pairs are not a pipeline input).
      const rows = ref.inputs.filter((x) => x.text_pair === null && x.input_ids.length < 128);
      const got = (await classify(rows.map((x) => x.text), { top_k: null })) as { label: string; score: number }[][];
      got.forEach((row, b) => {
        for (const { label, score } of row) {
          const j = labels.indexOf(label);
          assert.ok(j >= 0, `unknown label ${label}`);
          assert.ok(Math.abs(score - rows[b]!.probs![j]!) <= 1e-4, `${rows[b]!.id} ${label}: transformers.js ${score} vs PyTorch ${rows[b]!.probs![j]}`);
        }
      });
    } finally {
      await classify.dispose();
    }
  });
}

const CASES: readonly { title: string; members: string[]; labels: string[] }[] = [
  { title: 'modernbert-sst2 + modernbert-sst2-mean (one BPE tokenizer)', members: ['modernbert-sst2', 'modernbert-sst2-mean'], labels: ['negative', 'positive'] },
];

for (const c of CASES) {
  describe(`${c.title}: the bertfuse folder loads in @huggingface/transformers`, () => {
    const out = path.join(tempDir(), 'folder');
    const all = readLabelled(path.join(DATA, 'sst2_dev.tsv'), { labels: c.labels });
    const rows = all.inputs.slice(0, 40);
    let set: MemberSet;
    before(async () => {
      set = loadMembers(c.members.map(familyFixture));
      const mean = getFusionMethod('mean');
      const run = await runMembers(set, rows.slice(0, 8));
      const params = mean.fit(run.outputs, { labels: all.labels.slice(0, 8), seed: 0, folds: 2 }, {});
      await writeCombined(out, { set, method: mean, options: {}, params, metrics: null });
    });
    after(() => set.close());

    test("no token_type_ids input; pipeline('text-classification') gives bertfuse's probabilities (≤ 1e-4)", async () => {
      const man = readManifest(out);
      assert.equal(man.model.transformersLayout, true);
      assert.deepEqual(man.model.inputs, ['input_ids', 'attention_mask']);
      env.allowRemoteModels = false;
      const classify = await pipeline('text-classification', out, { local_files_only: true });
      const ours = await loadCombined(out);
      try {
        const want = await ours.predictProba(rows);
        const got = (await classify(rows.map((x) => x.text), { top_k: null })) as { label: string; score: number }[][];
        assert.equal(got.length, rows.length);
        got.forEach((row, i) => {
          assert.equal(row.length, 2);
          for (const { label, score } of row) {
            const j = ours.labels.indexOf(label);
            assert.ok(j >= 0, `unknown label ${label}`);
            assert.ok(Math.abs(score - want[i * 2 + j]!) <= 1e-4, `row ${i} ${label}: transformers.js ${score} vs bertfuse ${want[i * 2 + j]}`);
          }
        });
      } finally {
        await ours.close();
        await classify.dispose();
      }
    });
  });
}
