import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { modernBertPrefix, modernBertTensors, emitModernBert, parseModernBertConfig, type ModernBertOps, type ModernBertWeights } from '../../src/architectures/modernbert.js';
import { SafetensorsFile } from '../../src/checkpoint/safetensors.js';
import { buildGraph, checkRow, familyFixture, familyReference, fixtureTokenizer, runPadded } from './family-reference.js';

const TOL = 1e-4;

function open(name: string): ModernBertWeights & { close(): void } {
  const dir = familyFixture(name);
  const config = parseModernBertConfig(JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as Record<string, unknown>, path.join(dir, 'config.json'));
  const tensors = SafetensorsFile.open(path.join(dir, 'model.safetensors'));
  return { config, tensors, prefix: modernBertPrefix(tensors), close: () => tensors.close() };
}

for (const [name, pooling] of [['modernbert-sst2', 'cls'], ['modernbert-sst2-mean', 'mean']] as const) {
  describe(`${name} (ModernBERT, ${pooling} pooling) matches PyTorch reference.json`, () => {
    const ref = familyReference(name);
    const w = open(name);
    after(() => w.close());
    const labels = Object.keys(ref.id2label).map((i) => ref.id2label[i]!);
    const model = (ops: Partial<ModernBertOps> = {}, quantize = false): Uint8Array =>
      buildGraph((g, inputs) => emitModernBert(g, w, inputs, { ops }), w.config.hiddenSize, labels.length, quantize);

    test('config: HF fields, layer types from global_attn_every_n_layers, and the tensors it implies', () => {
      const c = w.config;
      assert.equal(c.pooling, pooling);
      assert.deepEqual(c.layerTypes, ['full_attention', 'sliding_attention', 'sliding_attention']);
      assert.deepEqual([c.globalRopeTheta, c.localRopeTheta, c.localAttention, c.normEps, c.normBias], [160000, 10000, 16, 1e-5, false]);
      const expected = modernBertTensors(c, w.prefix);
      assert.deepEqual([...expected.keys()].sort(), w.tensors.names().sort());
      for (const [t, shape] of expected) assert.deepEqual(w.tensors.info(t).shape, shape, t);
      // The transformers 5 form of the same config reads the same.
      const v5 = { ...c.raw, layer_types: c.layerTypes, rope_parameters: { full_attention: { rope_type: 'default', rope_theta: 160000 }, sliding_attention: { rope_type: 'default', rope_theta: 10000 } } };
      delete (v5 as Record<string, unknown>)['global_attn_every_n_layers'];
      const c5 = parseModernBertConfig(v5, 'config.json');
      assert.deepEqual([c5.layerTypes, c5.globalRopeTheta, c5.localRopeTheta], [c.layerTypes, 160000, 10000]);
    });

    test('token ids equal reference.json exactly (byte-level BPE, NFC, [MASK] lstrip)', () => {
      const tok = fixtureTokenizer(name);
      for (const x of ref.inputs) {
        const enc = tok.encode({ text: x.text, textPair: x.text_pair });
        assert.deepEqual(enc.inputIds, x.input_ids, `${x.id}: input_ids`);
        assert.deepEqual(tok.tokens(enc.inputIds), x.tokens, `${x.id}: tokens`);
      }
    });

    test('each input alone: logits, probs, [CLS], pooled, and every token\'s hidden values within 1e-4', async () => {
      const bytes = model();
      let worst = 0;
      for (const x of ref.inputs) worst = Math.max(worst, checkRow(await runPadded(bytes, [x.input_ids], 0), 0, x, labels, TOL));
      assert.ok(worst < TOL);
    });

    test('one right-padded batch of all 36 (dynamic shapes, sliding window over 128 tokens) gives the same', async () => {
      assert.ok(ref.inputs.some((x) => x.input_ids.length > 2 * w.config.localAttention), 'an input longer than the local window');
      const run = await runPadded(model(), ref.inputs.map((x) => x.input_ids), w.config.padTokenId);
      assert.equal(run.seq, 128);
      ref.inputs.forEach((x, b) => checkRow(run, b, x, labels, TOL));
    });

    test('the fused com.microsoft RotaryEmbedding variant agrees with the plain graph', async () => {
      const rows = ref.inputs.slice(30).map((x) => x.input_ids);
      const plain = await runPadded(model(), rows, w.config.padTokenId);
      const fused = await runPadded(model({ rotary: 'fused' }), rows, w.config.padTokenId);
      const a = plain.out['hidden']!.data;
      const b = fused.out['hidden']!.data;
      let worst = 0;
      for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
      assert.ok(worst < 1e-5, `fused vs plain hidden: ${worst}`);
      ref.inputs.slice(30).forEach((x, r) => checkRow(fused, r, x, labels, TOL));
    });

    test('int8 quantisation runs on the graph and keeps the predictions close', async () => {
      const rows = ref.inputs.map((x) => x.input_ids);
      const q = await runPadded(model({}, true), rows, w.config.padTokenId);
      let agree = 0;
      let worst = 0;
      ref.inputs.forEach((x, b) => {
        const l = q.out['logits']!.data.subarray(b * 2, b * 2 + 2);
        worst = Math.max(worst, Math.abs(l[0]! - x.logits![0]!), Math.abs(l[1]! - x.logits![1]!));
        if ((l[1]! > l[0]! ? labels[1] : labels[0]) === x.predicted_label) agree++;
      });
      assert.ok(agree >= 34, `int8 agrees on ${agree}/36 labels`);
      assert.ok(worst < 0.5, `int8 logit error ${worst}`);
    });
  });
}
