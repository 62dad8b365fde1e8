import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { env, pipeline } from '@huggingface/transformers';
import { emitDebertaV2, parseDebertaV2Config, debertaV2Prefix } from '../../src/architectures/deberta-v2.js';
import { emitModernBert, parseModernBertConfig, modernBertPrefix } from '../../src/architectures/modernbert.js';
import { SafetensorsFile } from '../../src/checkpoint/safetensors.js';
import { encodeModel, GraphBuilder } from '../../src/graph/onnx-builder.js';
import type { EncoderOutputs } from '../../src/graph/bert-graph.js';
import { tempDir } from '../helpers/fixtures.js';
import { familyFixture, familyReference, runPadded } from './family-reference.js';

type Emit = (g: GraphBuilder, inputs: { inputIds: string; attentionMask: string }) => EncoderOutputs;

const FAMILIES: readonly { name: string; emit: (dir: string, t: SafetensorsFile) => Emit }[] = [
  {
    name: 'modernbert-sst2-mean',
    emit: (dir, t) => (g, i) => emitModernBert(g, { config: parseModernBertConfig(readJson(path.join(dir, 'config.json')), dir), tensors: t, prefix: modernBertPrefix(t) }, i),
  },
  {
    name: 'deberta-sst2',
    emit: (dir, t) => (g, i) => emitDebertaV2(g, { config: parseDebertaV2Config(readJson(path.join(dir, 'config.json')), dir), tensors: t, prefix: debertaV2Prefix(t) }, i),
  },
];

function readJson(file: string): Record<string, unknown> {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
}

for (const { name, emit } of FAMILIES) {
  describe(`${name}: our graph in the transformers.js layout loads in @huggingface/transformers`, () => {
    test("pipeline('text-classification') gives bertfuse's probabilities (≤ 1e-4)", async () => {
      const src = familyFixture(name);
      const t = SafetensorsFile.open(path.join(src, 'model.safetensors'));
      const out = path.join(tempDir(), name);
      let bytes: Uint8Array;
      try {
        const g = new GraphBuilder(name);
        // The inputs transformers.js feeds are the ones the graph declares: no token_type_ids here.
        const inputs = { inputIds: g.input('input_ids', 'int64', ['batch', 'sequence']), attentionMask: g.input('attention_mask', 'int64', ['batch', 'sequence']) };
        g.output(emit(src, t)(g, inputs).logits!, 'logits', 'float', ['batch', 2]);
        bytes = encodeModel(g.toModel());
      } finally {
        t.close();
      }
      fs.mkdirSync(path.join(out, 'onnx'), { recursive: true });
      fs.writeFileSync(path.join(out, 'onnx', 'model.onnx'), bytes);
      for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json']) fs.copyFileSync(path.join(src, f), path.join(out, f));

      env.allowRemoteModels = false;
      const classify = await pipeline('text-classification', out, { local_files_only: true });
      try {
        const ref = familyReference(name);
        const labels = Object.keys(ref.id2label).map((i) => ref.id2label[i]!);
        // Single texts that fit (transformers.js truncates differently; pairs are not a pipeline input).
        const rows = ref.inputs.filter((x) => x.text_pair === null && x.input_ids.length < 128);
        const ours = await runPadded(bytes, rows.map((x) => x.input_ids), 0);
        const got = (await classify(rows.map((x) => x.text), { top_k: null })) as { label: string; score: number }[][];
        assert.equal(got.length, rows.length);
        got.forEach((row, b) => {
          const l = ours.out['logits']!.data.subarray(b * 2, b * 2 + 2);
          const m = Math.max(l[0]!, l[1]!);
          const z = Math.exp(l[0]! - m) + Math.exp(l[1]! - m);
          for (const { label, score } of row) {
            const j = labels.indexOf(label);
            assert.ok(j >= 0, `unknown label ${label}`);
            const want = Math.exp(l[j]! - m) / z;
            assert.ok(Math.abs(score - want) <= 1e-4, `${rows[b]!.id} ${label}: transformers.js ${score} vs bertfuse ${want}`);
            assert.ok(Math.abs(score - rows[b]!.probs![j]!) <= 1e-4, `${rows[b]!.id} ${label}: vs PyTorch ${rows[b]!.probs![j]}`);
          }
        });
      } finally {
        await classify.dispose();
      }
    });
  });
}
