import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { loadCheckpoint } from '../../src/checkpoint/load.js';
import { readLabelled } from '../../src/data/labelled.js';
import { padBatch } from '../../src/runtime/batch.js';
import { drawMasks, dropoutRates, maskDims } from '../../src/train/dropout.js';
import { GradientSession, type TrainBatch } from '../../src/train/gradient-session.js';
import { train, type TrainExample, type TrainOptions } from '../../src/train/trainer.js';
import { buildTrainingGraph } from '../../src/train/training-graph.js';
import { Rng } from '../../src/util/rng.js';
import { DATA, fixture } from '../helpers/fixtures.js';

const ckpt = loadCheckpoint(fixture('family/roberta-sst2-a'));
const rates = dropoutRates(ckpt.config);
const data = readLabelled(path.join(DATA, 'sst2_dev.tsv'), { labels: ['0', '1'] });
const examples: TrainExample[] = data.inputs.slice(0, 24).map((inp, i) => ({
  encoded: ckpt.tokenizer.encode(inp),
  soft: Float32Array.from(data.labels[i] === 1 ? [0.2, 0.8] : [0.8, 0.2]),
  label: null,
}));
const base: TrainOptions = { epochs: 1, batchSize: 8, learningRate: 1e-3, seed: 5, runtime: { threads: 1 } };
const bytesOf = (ws: Float32Array[]): Buffer => Buffer.concat(ws.map((w) => Buffer.from(w.buffer, w.byteOffset, w.byteLength)));

test('dropout rates come from config.json under each family\'s names', () => {
  assert.deepEqual(rates, { hidden: 0.1, attention: 0.1, classifier: 0.1 });
  const d = loadCheckpoint(fixture('family/distilbert-sst2'));
  assert.deepEqual(dropoutRates(d.config), { hidden: 0.1, attention: 0.1, classifier: 0.2 });
  d.close();
});

test('DistilBERT drops out where HF does: attention probabilities and FFN output per layer, none after out_lin', () => {
  const d = loadCheckpoint(fixture('family/distilbert-sst2'));
  const graph = buildTrainingGraph(d, { temperature: 2, dropout: dropoutRates(d.config) });
  const L = d.config.numLayers;
  // embeddings + per layer (attention probabilities, FFN output) + before the classifier
  assert.equal(graph.dropout.length, 1 + 2 * L + 1);
  d.close();
});

test('a RoBERTa training graph drops out where HF does; masks of ones give exactly the graph without dropout', async () => {
  const plain = buildTrainingGraph(ckpt, { temperature: 2 });
  const dropped = buildTrainingGraph(ckpt, { temperature: 2, dropout: rates });
  const L = ckpt.config.numLayers;
  // embeddings + per layer (attention probabilities, attention output, FFN output) + the head's two
  assert.equal(dropped.dropout.length, 1 + 3 * L + 2);
  assert.equal(plain.dropout.length, 0);
  const padded = padBatch(examples.slice(0, 3).map((e) => e.encoded), ckpt.tokenizer.padId);
  const [b, s] = padded.dims;
  const batch: TrainBatch = { ...padded, hardTargets: new Float32Array(6), softTargets: Float32Array.of(0.2, 0.8, 0.7, 0.3, 0.5, 0.5), kdWeight: new Float32Array(3).fill(1) };
  const weights = plain.params.map((p) => p.data);
  const [sp, sd] = [await GradientSession.create(plain, { threads: 1 }), await GradientSession.create(dropped, { threads: 1 })];
  const ones = dropped.dropout.map((m) => new Float32Array(maskDims(m, b, s).reduce((x, y) => x * y, 1)).fill(1));
  const [a, c] = [await sp.compute(batch, weights), await sd.compute(batch, weights, ones)];
  assert.equal(a.loss, c.loss);
  a.grads.forEach((g, i) => assert.ok(Buffer.from(g.buffer).equals(Buffer.from(c.grads[i]!.buffer)), plain.params[i]!.tensor));
  // Drawn masks: zeros at the rate, survivors scaled by 1/(1 − p); the loss changes.
  const masks = drawMasks(dropped.dropout, b, s, new Rng(1));
  const all = masks.flatMap((m) => Array.from(m));
  const zeros = all.filter((v) => v === 0).length / all.length;
  assert.ok(Math.abs(zeros - 0.1) < 0.01, `zero fraction ${zeros}`);
  assert.ok(all.every((v) => v === 0 || Math.abs(v - 1 / 0.9) < 1e-6));
  assert.notEqual((await sd.compute(batch, weights, masks)).loss, a.loss);
  await Promise.all([sp.release(), sd.release()]);
});

test('with dropout the same seed gives the same bytes, a resumed run too; without dropout they differ', async () => {
  const graph = buildTrainingGraph(ckpt, { temperature: 2, dropout: rates });
  const x = await train(graph, examples, ckpt.tokenizer.padId, base);
  const y = await train(graph, examples, ckpt.tokenizer.padId, base);
  assert.ok(bytesOf(x.weights).equals(bytesOf(y.weights)));
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'bertfuse-dropout-')), 'state.safetensors');
  await train(graph, examples, ckpt.tokenizer.padId, { ...base, checkpoint: file, checkpointEvery: 1, stopAfter: 2 });
  const resumed = await train(graph, examples, ckpt.tokenizer.padId, { ...base, checkpoint: file, resume: true });
  assert.equal(resumed.resumedFrom, 2);
  assert.ok(bytesOf(resumed.weights).equals(bytesOf(x.weights)), 'resumed = uninterrupted');
  const off = await train(buildTrainingGraph(ckpt, { temperature: 2 }), examples, ckpt.tokenizer.padId, base);
  assert.ok(!bytesOf(off.weights).equals(bytesOf(x.weights)));
});
