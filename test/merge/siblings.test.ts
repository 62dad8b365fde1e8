import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { loadCheckpoint } from '../../src/checkpoint/load.js';
import { readLabelled } from '../../src/data/labelled.js';
import { loadClassifier } from '../../src/runtime/classifier.js';
import { argmaxRow } from '../../src/util/math.js';
import { merge, type MergeResult } from '../../src/merge/merge.js';
import { loadMergeRecipe, parseMergeRecipe } from '../../src/recipe/merge.js';
import { fixture, tempDir } from '../helpers/fixtures.js';
import { maxAbsDiff } from '../align/helpers.js';
import { SST2_DEV, UNLABELLED, folderLogits, onnxLogits, readJson, referenceInputs } from './helpers.js';

const A = fixture('sst2-sibling-a');
const B = fixture('sst2-sibling-b');
const BASE = fixture('base-mlm');
const work = tempDir('bertfuse-merge-siblings-');
const a = loadCheckpoint(A);
const b = loadCheckpoint(B);
const base = loadCheckpoint(BASE);
after(() => [a, b, base].forEach((c) => c.close()));

/** The recipes the README table reports, one per method. */
const RECIPES: Record<string, Record<string, unknown>> = {
  linear: {},
  slerp: { parameters: { t: 0.5 } },
  task_arithmetic: { base_model: BASE, parameters: { lambda: 0.7 } },
  ties: { base_model: BASE, parameters: { density: 0.5 } },
  dare_linear: { base_model: BASE, parameters: { density: 0.5, weight: 0.5 } },
  dare_ties: { base_model: BASE, parameters: { density: 0.5, weight: 0.5 } },
  regmean: { texts: UNLABELLED, texts_encoding: 'latin1', max_texts: 256 },
};

const results = new Map<string, MergeResult>();

async function run(method: string): Promise<MergeResult> {
  const recipe = parseMergeRecipe({ merge_method: method, models: [{ model: A }, { model: B }], ...RECIPES[method] });
  // Members and their ensemble are scored with the two methods the README leads with; the rest score the merged model only.
  const withMembers = method === 'linear' || method === 'regmean';
  const r = await merge(recipe, { out: path.join(work, method), ...(withMembers ? { evaluate: [{ file: SST2_DEV }] } : {}), threads: 1 });
  results.set(method, r);
  return r;
}

/** Accuracy on the 872 SST-2 dev rows, labels compared by name. */
async function sst2Accuracy(dir: string): Promise<number> {
  const read = readLabelled(SST2_DEV, { labels: ['negative', 'positive'] });
  const data = { inputs: read.inputs, gold: Array.from(read.labels, (i) => read.labelNames[i]!) };
  const c = await loadClassifier(dir, { runtime: { threads: 1 } });
  try {
    const p = await c.predictProba(data.inputs);
    const k = c.labels.length;
    return data.gold.filter((g, i) => c.labels[argmaxRow(p, i, k)] === g).length / data.gold.length;
  } finally {
    await c.close();
  }
}

const acc = (r: MergeResult, kind: string): number => r.evaluation.find((e) => e.kind === kind)!.accuracy;

for (const method of Object.keys(RECIPES)) {
  test(`${method}: sst2-sibling-a + sst2-sibling-b → a plain HF folder whose reloaded logits equal its model.onnx`, async () => {
    const r = await run(method);
    assert.equal(r.heads, 'merged');
    for (const f of ['config.json', 'model.safetensors.index.json', 'model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors', 'tokenizer.json', 'merge.yaml', 'README.md', 'model.onnx']) {
      assert.ok(fs.existsSync(path.join(r.out, f)), `${f} written`);
    }
    assert.deepEqual(readJson<{ id2label: unknown }>(path.join(r.out, 'config.json')).id2label, { 0: 'negative', 1: 'positive' });
    // merge.yaml reproduces the recipe.
    assert.deepEqual(loadMergeRecipe(path.join(r.out, 'merge.yaml')), parseMergeRecipe({ merge_method: method, models: [{ model: A }, { model: B }], ...RECIPES[method] }));
    const inputs = referenceInputs();
    const [fromSafetensors, fromOnnx] = [await folderLogits(r.out, inputs), await onnxLogits(path.join(r.out, 'model.onnx'), r.out, 'logits', inputs)];
    assert.ok(maxAbsDiff(fromSafetensors, fromOnnx) <= 1e-4, `reloaded vs ONNX: ${maxAbsDiff(fromSafetensors, fromOnnx)}`);
    // Members score ~80.5%; every merge of these siblings should stay close (untuned parameters).
    const accuracy = await sst2Accuracy(r.out);
    assert.ok(accuracy >= 0.76, `${method}: merged accuracy ${accuracy}`);
  });
}

test('linear writes exactly the mean of the members; task arithmetic base + λ Στ, with the base-less head averaged', () => {
  const lin = loadCheckpoint(results.get('linear')!.out);
  const ta = loadCheckpoint(results.get('task_arithmetic')!.out);
  try {
    for (const name of ['bert.encoder.layer.1.intermediate.dense.weight', 'bert.embeddings.LayerNorm.weight', 'classifier.weight']) {
      const [x, y] = [a.tensors.read(name).data, b.tensors.read(name).data];
      assert.ok(maxAbsDiff(lin.tensors.read(name).data, x.map((v, i) => (v + y[i]!) / 2)) < 1e-6, name);
    }
    const name = 'bert.encoder.layer.0.attention.self.value.weight';
    const [x, y, z] = [a.tensors.read(name).data, b.tensors.read(name).data, base.tensors.read(name).data];
    assert.ok(maxAbsDiff(ta.tensors.read(name).data, z.map((v, i) => v + 0.7 * (x[i]! - v + (y[i]! - v)))) < 1e-6);
    // base-mlm has no pooler/classifier: those fall back to the members' average, and the result says so.
    const [pa, pb] = [a.tensors.read('bert.pooler.dense.weight').data, b.tensors.read('bert.pooler.dense.weight').data];
    assert.ok(maxAbsDiff(ta.tensors.read('bert.pooler.dense.weight').data, pa.map((v, i) => (v + pb[i]!) / 2)) < 1e-6);
    assert.match(results.get('task_arithmetic')!.notes.join('\n'), /base_model has no bert\.pooler\.dense\.bias, bert\.pooler\.dense\.weight, classifier\.bias, classifier\.weight/);
  } finally {
    lin.close();
    ta.close();
  }
});

test('the merged models keep the members\' accuracy (linear, RegMean) and report the ensemble next to them', () => {
  const lin = results.get('linear')!;
  assert.deepEqual(lin.evaluation.map((e) => e.kind), ['member', 'member', 'ensemble', 'merged']);
  assert.equal(lin.evaluation[0]!.n, 872);
  assert.ok(Math.abs(acc(lin, 'member') - 0.805) < 0.001, 'sibling-a as in its metrics.json');
  assert.ok(acc(lin, 'merged') >= 0.8);
  assert.ok(acc(results.get('regmean')!, 'merged') >= 0.8);
});

test('same recipe, same bytes (DARE masks are seeded); another seed, other bytes', async () => {
  const recipe = (seed: number) => parseMergeRecipe({ merge_method: 'dare_ties', models: [{ model: A }, { model: B }], ...RECIPES['dare_ties'], seed, onnx: false });
  const again = await merge(recipe(0), { out: path.join(work, 'dare-again') });
  const other = await merge(recipe(1), { out: path.join(work, 'dare-other') });
  const shard = 'model-00001-of-00002.safetensors';
  const first = fs.readFileSync(path.join(results.get('dare_ties')!.out, shard));
  assert.ok(first.equals(fs.readFileSync(path.join(again.out, shard))));
  assert.ok(!first.equals(fs.readFileSync(path.join(other.out, shard))));
});

test('label order is matched by name: a member with reversed labels merges like the original', async () => {
  // sibling-b with its classes swapped (config and classifier rows), like sst2-stranger-b's order.
  const rev = path.join(work, 'sibling-b-reversed');
  fs.cpSync(B, rev, { recursive: true });
  const cfg = readJson<Record<string, unknown>>(path.join(B, 'config.json'));
  fs.writeFileSync(path.join(rev, 'config.json'), JSON.stringify({ ...cfg, id2label: { 0: 'positive', 1: 'negative' }, label2id: { positive: 0, negative: 1 } }));
  const { writeSafetensorsFromMap } = await import('../../src/checkpoint/safetensors.js');
  const tensors = new Map(b.tensors.names().map((n) => [n, b.tensors.read(n)]));
  const swap = (n: string, width: number): void => {
    const t = tensors.get(n)!;
    tensors.set(n, { shape: t.shape, data: Float32Array.from([...t.data.subarray(width), ...t.data.subarray(0, width)]) });
  };
  swap('classifier.weight', 64);
  swap('classifier.bias', 1);
  writeSafetensorsFromMap(path.join(rev, 'model.safetensors'), tensors);
  const r = await merge(parseMergeRecipe({ merge_method: 'linear', models: [{ model: A }, { model: rev }], onnx: false }), { out: path.join(work, 'reversed') });
  const got = loadCheckpoint(r.out);
  const want = loadCheckpoint(results.get('linear')!.out);
  try {
    for (const n of ['classifier.weight', 'classifier.bias', 'bert.pooler.dense.weight']) assert.equal(maxAbsDiff(got.tensors.read(n).data, want.tensors.read(n).data), 0, n);
    assert.deepEqual(got.config.labels, ['negative', 'positive']);
  } finally {
    got.close();
    want.close();
  }
});

test('small shard_size splits the encoder over several shards; the index maps every tensor and the folder reloads', async () => {
  const r = await merge(parseMergeRecipe({ merge_method: 'linear', models: [{ model: A }, { model: B }], shard_size: '1MB', dtype: 'float16' }), { out: path.join(work, 'sharded') });
  const index = readJson<{ metadata: { total_size: number }; weight_map: Record<string, string> }>(path.join(r.out, 'model.safetensors.index.json'));
  const shards = [...new Set(Object.values(index.weight_map))].sort();
  assert.ok(shards.length >= 3, `shards: ${shards.join(', ')}`);
  assert.equal(shards[shards.length - 1], `model-0000${shards.length}-of-0000${shards.length}.safetensors`);
  assert.equal(Object.keys(index.weight_map).length, 41);
  // float16: two bytes per value of the 41 tensors.
  const values = a.tensors.names().reduce((n, t) => n + a.tensors.info(t).shape.reduce((x, d) => x * d, 1), 0);
  assert.equal(index.metadata.total_size, 2 * values);
  assert.equal(readJson<{ torch_dtype: string }>(path.join(r.out, 'config.json')).torch_dtype, 'float16');
  const inputs = referenceInputs();
  assert.ok(maxAbsDiff(await folderLogits(r.out, inputs), await onnxLogits(path.join(r.out, 'model.onnx'), r.out, 'logits', inputs)) <= 1e-4);
});
