import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { loadCheckpoint } from '../../src/checkpoint/load.js';
import { readLabelled } from '../../src/data/labelled.js';
import { train, type TrainExample, type TrainOptions } from '../../src/train/trainer.js';
import { buildTrainingGraph } from '../../src/train/training-graph.js';
import { DATA, fixture } from '../helpers/fixtures.js';

const ckpt = loadCheckpoint(fixture('sst2-sibling-a'));
const graph = buildTrainingGraph(ckpt, { temperature: 2 });
const data = readLabelled(path.join(DATA, 'sst2_dev.tsv'), { labels: ['0', '1'] });
// 40 rows; soft targets lean towards the gold label; every 4th row also carries its label.
const examples: TrainExample[] = data.inputs.slice(0, 40).map((inp, i) => {
  const y = data.labels[i]!;
  const soft = Float32Array.from(y === 1 ? [0.2, 0.8] : [0.8, 0.2]);
  return { encoded: ckpt.tokenizer.encode(inp), soft, label: i % 4 === 0 ? y : null };
});
const base: TrainOptions = { epochs: 2, batchSize: 8, learningRate: 1e-3, seed: 3, runtime: { threads: 1 } };
const bytesOf = (ws: Float32Array[]): Buffer => Buffer.concat(ws.map((w) => Buffer.from(w.buffer, w.byteOffset, w.byteLength)));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bertfuse-train-'));

test('training lowers the loss, and the same seed gives the same bytes', async () => {
  const a = await train(graph, examples, ckpt.tokenizer.padId, base);
  const b = await train(graph, examples, ckpt.tokenizer.padId, base);
  assert.equal(a.steps, 10);
  assert.equal(a.stoppedBy, 'done');
  const first = a.losses.slice(0, 5).reduce((s, x) => s + x, 0);
  const last = a.losses.slice(-5).reduce((s, x) => s + x, 0);
  assert.ok(last < first, `loss did not fall: ${a.losses.join(', ')}`);
  assert.ok(bytesOf(a.weights).equals(bytesOf(b.weights)));
  // Clipping + AdamW across two threads: the same bytes as on one.
  const two = await train(graph, examples, ckpt.tokenizer.padId, { ...base, optimizerThreads: 2 });
  assert.ok(bytesOf(a.weights).equals(bytesOf(two.weights)), 'optimizer threads changed the bytes');
  const c = await train(graph, examples, ckpt.tokenizer.padId, { ...base, seed: 4 });
  assert.ok(!bytesOf(a.weights).equals(bytesOf(c.weights)), 'another seed orders batches differently');
});

test('an interrupted run resumed from its checkpoint ends with the same bytes as an uninterrupted one', async () => {
  const full = await train(graph, examples, ckpt.tokenizer.padId, base);
  const file = path.join(tmp, 'state.safetensors');
  const part = await train(graph, examples, ckpt.tokenizer.padId, { ...base, checkpoint: file, checkpointEvery: 2, stopAfter: 3 });
  assert.equal(part.steps, 3);
  assert.equal(part.checkpointStep, 3);
  // Resumed with the optimizer on two threads: still the uninterrupted run's bytes.
  const rest = await train(graph, examples, ckpt.tokenizer.padId, { ...base, checkpoint: file, resume: true, optimizerThreads: 2 });
  assert.equal(rest.resumedFrom, 3);
  assert.equal(rest.steps, 10);
  assert.ok(bytesOf(rest.weights).equals(bytesOf(full.weights)));
  // Another run's options: its checkpoint is refused, in one line naming the file.
  await assert.rejects(train(graph, examples, ckpt.tokenizer.padId, { ...base, seed: 9, checkpoint: file, resume: true }), /belongs to another run/);
});

test('a NaN loss stops training before the bad step; the last good checkpoint stays', async () => {
  const bad = examples.map((e, i) => (i === 30 ? { ...e, soft: Float32Array.from([NaN, 0.5]) } : e));
  const file = path.join(tmp, 'nan.safetensors');
  const r = await train(graph, bad, ckpt.tokenizer.padId, { ...base, checkpoint: file, checkpointEvery: 1 });
  assert.equal(r.stoppedBy, 'nonfinite');
  assert.ok(r.steps < 10);
  assert.equal(r.checkpointStep, r.steps);
  assert.ok(r.weights.every((w) => w.every(Number.isFinite)));
  assert.ok(fs.existsSync(file));
});

test('a time budget stops training early and says so', async () => {
  const r = await train(graph, examples, ckpt.tokenizer.padId, { ...base, epochs: 50, maxMinutes: 1e-6 });
  assert.equal(r.stoppedBy, 'time');
  assert.equal(r.steps, 1);
  assert.equal(r.totalSteps, 250);
});
