import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { env, pipeline } from '@huggingface/transformers';
import { loadCheckpoint } from '../../src/checkpoint/load.js';
import { buildBertModel } from '../../src/graph/bert-model.js';
import { encodeModel } from '../../src/graph/onnx-builder.js';
import { classifierFromCheckpoint } from '../../src/runtime/classifier.js';
import { tempDir } from '../helpers/fixtures.js';
import { familyFixture, familyReference } from './family-fixture.js';

/**
 * The single-model graph bertfuse builds for each BERT-shaped family, in the transformers.js
 * layout (onnx/model.onnx + the folder's config and tokenizer files), loads in
 * @huggingface/transformers and gives bertfuse's probabilities: transformers.js feeds the inputs
 * the graph declares (no token_type_ids for DistilBERT, RoBERTa, XLM-R).
 */
for (const name of ['distilbert-sst2', 'roberta-sst2-a', 'xlmr-sst2', 'electra-sst2']) {
  describe(`${name}: bertfuse's graph loads in @huggingface/transformers`, () => {
    test("pipeline('text-classification') gives bertfuse's and PyTorch's probabilities (≤ 1e-4)", async () => {
      const src = familyFixture(name);
      const out = path.join(tempDir(), name);
      const ckpt = loadCheckpoint(src);
      fs.mkdirSync(path.join(out, 'onnx'), { recursive: true });
      fs.writeFileSync(path.join(out, 'onnx', 'model.onnx'), encodeModel(buildBertModel(ckpt)));
      for (const f of fs.readdirSync(src)) if (f !== 'model.safetensors' && f !== 'reference.json' && f !== 'metrics.json') fs.copyFileSync(path.join(src, f), path.join(out, f));
      const ours = await classifierFromCheckpoint(ckpt);
      env.allowRemoteModels = false;
      const classify = await pipeline('text-classification', out, { local_files_only: true });
      try {
        const rows = familyReference(name).inputs.filter((x) => x.id.startsWith('sst2_dev_'));
        const want = await ours.predictProba(rows.map((x) => ({ text: x.text })));
        const got = (await classify(rows.map((x) => x.text), { top_k: null })) as { label: string; score: number }[][];
        got.forEach((row, b) => {
          for (const { label, score } of row) {
            const j = ours.labels.indexOf(label);
            assert.ok(j >= 0, `unknown label ${label}`);
            assert.ok(Math.abs(score - want[b * 2 + j]!) <= 1e-4, `${rows[b]!.id} ${label}: transformers.js ${score} vs bertfuse ${want[b * 2 + j]}`);
            assert.ok(Math.abs(score - rows[b]!.probs![j]!) <= 1e-4, `${rows[b]!.id} ${label}: vs PyTorch ${rows[b]!.probs![j]}`);
          }
        });
      } finally {
        await classify.dispose();
        await ours.close();
      }
    });
  });
}
