import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { loadCheckpoint } from '../../src/checkpoint/load.js';
import { readLabelled } from '../../src/data/labelled.js';
import { padBatch } from '../../src/runtime/batch.js';
import { drawMasks, dropoutRates, MaskBuffers, maskDims, type DropoutRates } from '../../src/train/dropout.js';
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
  const dropped = buildTrainingGraph(ckpt, { temperature: 2, dropout: rates });
  const L = ckpt.config.numLayers;
  // embeddings + per layer (attention probabilities, attention output, FFN output) + the head's two
  assert.equal(dropped.dropout.length, 1 + 3 * L + 2);
  assert.equal(buildTrainingGraph(ckpt, { temperature: 2 }).dropout.length, 0);
  // Drawn masks: zeros at the rate, survivors scaled by 1/(1 − p).
  const all = drawMasks(dropped.dropout, 3, 20, new Rng(1)).flatMap((m) => Array.from(m));
  const zeros = all.filter((v) => v === 0).length / all.length;
  assert.ok(Math.abs(zeros - 0.1) < 0.01, `zero fraction ${zeros}`);
  assert.ok(all.every((v) => v === 0 || Math.abs(v - 1 / 0.9) < 1e-6));
  await onesAreNoDropout(ckpt, rates);
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

/**
 * Masks of ones give exactly the gradients of the graph without dropout (same loss, same bytes);
 * `regrouped` tensors only within float32 rounding: a tensor read by several dropout points (DeBERTa's
 * relative rows, one mask per layer) sums its gradient in another grouping.
 */
async function onesAreNoDropout(model: typeof ckpt, rates: DropoutRates, regrouped: readonly string[] = []): Promise<void> {
  const plain = buildTrainingGraph(model, { temperature: 2 });
  const dropped = buildTrainingGraph(model, { temperature: 2, dropout: rates });
  const inputs = data.inputs.slice(0, 3).map((inp) => model.tokenizer.encode(inp));
  const padded = padBatch(inputs, model.tokenizer.padId);
  const [b, s] = padded.dims;
  const batch: TrainBatch = { ...padded, hardTargets: new Float32Array(6), softTargets: Float32Array.of(0.2, 0.8, 0.7, 0.3, 0.5, 0.5), kdWeight: new Float32Array(3).fill(1) };
  const weights = plain.params.map((p) => p.data);
  const [sp, sd] = [await GradientSession.create(plain, { threads: 1 }), await GradientSession.create(dropped, { threads: 1 })];
  const ones = dropped.dropout.map((m) => new Float32Array(maskDims(m, b, s).reduce((x, y) => x * y, 1)).fill(1));
  const [a, c] = [await sp.compute(batch, weights), await sd.compute(batch, weights, ones)];
  assert.equal(a.loss, c.loss);
  a.grads.forEach((g, i) => {
    const t = plain.params[i]!.tensor;
    if (!regrouped.includes(t)) return assert.ok(Buffer.from(g.buffer).equals(Buffer.from(c.grads[i]!.buffer)), t);
    const scale = g.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    g.forEach((v, j) => assert.ok(Math.abs(v - c.grads[i]![j]!) <= 1e-6 * scale, `${t}[${j}]: ${v} vs ${c.grads[i]![j]}`));
  });
  assert.notEqual((await sd.compute(batch, weights, drawMasks(dropped.dropout, b, s, new Rng(3)))).loss, a.loss);
  await Promise.all([sp.release(), sd.release()]);
}

test('ModernBERT drops out where HF does: embeddings, attention probabilities and output per layer, the GeGLU product, the classifier input', async () => {
  const m = loadCheckpoint(fixture('family/modernbert-sst2'));
  try {
    const rates = dropoutRates(m.config);
    assert.deepEqual(rates, { embedding: 0.1, attention: 0.1, mlp: 0.1, classifier: 0.1 });
    // HF's ModernBertConfig defaults every probability to 0: no dropout point at all, the very graph without dropout.
    const zero = dropoutRates({ ...m.config, raw: {} });
    assert.deepEqual(zero, { embedding: 0, attention: 0, mlp: 0, classifier: 0 });
    assert.ok(Buffer.from(buildTrainingGraph(m, { temperature: 2, dropout: zero }).bytes).equals(Buffer.from(buildTrainingGraph(m, { temperature: 2 }).bytes)));
    const graph = buildTrainingGraph(m, { temperature: 2, dropout: rates });
    const L = m.config.numLayers;
    assert.deepEqual(
      graph.dropout.map((d) => d.kind),
      ['embedding', ...Array.from({ length: L }, () => ['attention', 'attention', 'mlp'] as const).flat(), 'classifier'],
    );
    // Only the kind at a non-zero rate gets masks.
    assert.equal(buildTrainingGraph(m, { temperature: 2, dropout: { ...zero, mlp: 0.2 } }).dropout.length, L);
    await onesAreNoDropout(m, rates);
  } finally {
    m.close();
  }
});

test('DeBERTa drops out each layer\'s relative rows (pos_dropout), before the ContextPooler at pooler_dropout (0 by default: no point) and before the classifier at cls_dropout', async () => {
  const d = loadCheckpoint(fixture('family/deberta-sst2'));
  try {
    const rates = dropoutRates(d.config);
    assert.deepEqual(rates, { hidden: 0.1, attention: 0.1, classifier: 0.1, pooler: 0 });
    assert.deepEqual(dropoutRates({ ...d.config, raw: { ...d.config.raw, pooler_dropout: 0.3, cls_dropout: 0.2 } }), { hidden: 0.1, attention: 0.1, classifier: 0.2, pooler: 0.3 });
    const L = d.config.numLayers;
    const kinds = (r: DropoutRates): string[] => buildTrainingGraph(d, { temperature: 2, dropout: r }).dropout.map((m) => m.kind);
    // Per layer: the relative rows (HF's DisentangledSelfAttention.pos_dropout, one [2·span, H] mask
    // for the whole batch), the attention probabilities, the two sub-layer outputs.
    const layers = Array.from({ length: L }, () => ['hidden', 'attention', 'hidden', 'hidden']).flat();
    assert.deepEqual(kinds(rates), ['hidden', ...layers, 'classifier']);
    assert.deepEqual(kinds({ ...rates, pooler: 0.1 }), ['hidden', ...layers, 'pooler', 'classifier']);
    await onesAreNoDropout(d, { ...rates, pooler: 0.1 }, ['deberta.encoder.rel_embeddings.weight', 'deberta.encoder.LayerNorm.weight', 'deberta.encoder.LayerNorm.bias']);
  } finally {
    d.close();
  }
});

test('ModernBERT with dropout: the same seed gives the same bytes; a different seed does not', async () => {
  const m = loadCheckpoint(fixture('family/modernbert-sst2'));
  try {
    const ex: TrainExample[] = examples.map((e, i) => ({ ...e, encoded: m.tokenizer.encode(data.inputs[i]!) }));
    const graph = buildTrainingGraph(m, { temperature: 2, dropout: dropoutRates(m.config) });
    const x = await train(graph, ex, m.tokenizer.padId, base);
    const y = await train(graph, ex, m.tokenizer.padId, base);
    assert.ok(bytesOf(x.weights).equals(bytesOf(y.weights)));
    const z = await train(graph, ex, m.tokenizer.padId, { ...base, seed: 6 });
    assert.ok(!bytesOf(z.weights).equals(bytesOf(x.weights)));
  } finally {
    m.close();
  }
});

test('masks drawn in one pass equal the draw-per-entry definition, and reused buffers give the same bytes step after step', () => {
  // Rng.fillBelow: the same draws, in order, and the same state afterwards as calling next() per entry.
  const [a, b] = [new Rng(42), new Rng(42)];
  const fast = new Float32Array(10_001);
  a.fillBelow(fast, 0.3, 0, 1 / 0.7);
  const slow = Float32Array.from({ length: fast.length }, () => (b.next() < 0.3 ? 0 : 1 / 0.7));
  assert.ok(Buffer.from(fast.buffer).equals(Buffer.from(slow.buffer)));
  assert.equal(a.next(), b.next());
  // Edge rates: p = 0 keeps everything, p = 1 drops everything.
  const edge = new Float32Array(100);
  new Rng(1).fillBelow(edge, 0, 0, 2);
  assert.ok(edge.every((v) => v === 2));
  new Rng(1).fillBelow(edge, 1, 0, 2);
  assert.ok(edge.every((v) => v === 0));

  const graph = buildTrainingGraph(ckpt, { temperature: 2, dropout: rates });
  const buffers = new MaskBuffers();
  // Sequence lengths that grow and shrink, as length-bucketed batches do.
  for (const [step, s] of [[0, 12], [1, 30], [2, 7], [3, 30]] as const) {
    const fresh = drawMasks(graph.dropout, 4, s, new Rng(100 + step));
    const reused = drawMasks(graph.dropout, 4, s, new Rng(100 + step), buffers);
    assert.deepEqual(reused.map((m) => m.length), fresh.map((m) => m.length));
    fresh.forEach((m, i) => assert.ok(Buffer.from(m.buffer, m.byteOffset, m.byteLength).equals(Buffer.from(reused[i]!.buffer, reused[i]!.byteOffset, reused[i]!.byteLength)), `step ${step} mask ${i}`));
  }
});
