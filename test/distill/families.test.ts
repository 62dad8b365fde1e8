import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { loadCheckpoint } from '../../src/checkpoint/load.js';
import { distill } from '../../src/distill/distill.js';
import { loadClassifier } from '../../src/runtime/classifier.js';
import { DATA, fixture } from '../helpers/fixtures.js';

// Distillation beyond BERT: RoBERTa students (from a member, from a merge of the siblings), a
// student whose tokenizer differs from the teacher's, and shallower students of families that
// number their layers differently. Short runs: what is checked is that each path trains every
// weight and writes a model of the student's family that loads and predicts.

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'bertfuse-distill-families-'));
const texts = path.join(work, 'texts.txt');
fs.writeFileSync(texts, fs.readFileSync(path.join(DATA, 'sst2_transfer.txt'), 'utf8').split('\n').slice(0, 24).join('\n') + '\n');
const evalData = path.join(work, 'dev.tsv');
fs.writeFileSync(evalData, fs.readFileSync(path.join(DATA, 'sst2_dev.tsv'), 'utf8').split('\n').slice(0, 41).join('\n') + '\n');
const RA = fixture('family/roberta-sst2-a');
const RB = fixture('family/roberta-sst2-b');
const common = { texts, epochs: 1, batchSize: 8, learningRate: 3e-4, runtime: { threads: 1 } } as const;

/** Max |Δ| of one tensor between two folders. */
function moved(a: string, b: string, name: string): number {
  const [x, y] = [loadCheckpoint(a), loadCheckpoint(b)];
  try {
    const [u, v] = [x.tensors.read(name).data, y.tensors.read(name).data];
    let d = 0;
    for (let i = 0; i < u.length; i++) d = Math.max(d, Math.abs(u[i]! - v[i]!));
    return d;
  } finally {
    x.close();
    y.close();
  }
}

test('a RoBERTa student distilled from the RoBERTa siblings: every weight trains (the type row and positions too), scored beside its teacher', async () => {
  const out = path.join(work, 'roberta-student');
  const r = await distill({ ...common, teacher: [RA, RB], method: 'mean', student: RA, evalData: { path: evalData }, labels: ['negative', 'positive'], out });
  assert.equal(r.train.steps, 3);
  assert.ok(Number.isFinite(r.train.lastLoss));
  // Dropout at the config's probabilities (hidden_dropout_prob etc.), recorded in the manifest.
  assert.deepEqual(r.dropout, { hidden: 0.1, attention: 0.1, classifier: 0.1 });
  const manifest = JSON.parse(fs.readFileSync(path.join(out, 'bertfuse-distill.json'), 'utf8')) as { options: { dropout: unknown } };
  assert.deepEqual(manifest.options.dropout, r.dropout);
  const ckpt = loadCheckpoint(out);
  try {
    assert.equal(ckpt.config.architecture, 'RobertaForSequenceClassification');
    assert.equal(r.student.parameters, ckpt.tensors.names().reduce((n, t) => n + ckpt.tensors.read(t).data.length, 0));
  } finally {
    ckpt.close();
  }
  for (const name of ['roberta.embeddings.token_type_embeddings.weight', 'roberta.embeddings.position_embeddings.weight', 'roberta.encoder.layer.1.attention.self.query.weight', 'classifier.out_proj.bias']) {
    const d = moved(RA, out, name);
    assert.ok(d > 0 && d < 0.05, `${name} moved ${d}`);
  }
  assert.ok(r.evaluation && r.retention, 'scored next to the members and the teacher');
  assert.equal(r.retention.rows, 40);
});

test('merge, then heal on the RoBERTa siblings: the student starts from the recipe\'s merge', async () => {
  const recipe = path.join(work, 'recipe.yaml');
  fs.writeFileSync(recipe, `merge_method: linear\nmodels:\n  - model: ${RA}\n    parameters: { weight: 1 }\n  - model: ${RB}\n    parameters: { weight: 1 }\n`);
  const out = path.join(work, 'healed');
  const r = await distill({ ...common, teacher: [RA, RB], method: 'mean', student: `merge:${recipe}`, out });
  assert.equal(r.train.steps, 3);
  // The healed weights sit next to the average of the siblings, not next to either sibling.
  const name = 'roberta.encoder.layer.0.intermediate.dense.weight';
  const [a, b, h] = [RA, RB, out].map((d) => loadCheckpoint(d));
  try {
    const [x, y, z] = [a!, b!, h!].map((c) => c.tensors.read(name).data);
    let toMean = 0;
    let toA = 0;
    for (let i = 0; i < z!.length; i++) {
      toMean = Math.max(toMean, Math.abs(z![i]! - (x![i]! + y![i]!) / 2));
      toA = Math.max(toA, Math.abs(z![i]! - x![i]!));
    }
    assert.ok(toMean > 0 && toMean < toA, `|healed − mean| ${toMean} vs |healed − a| ${toA}`);
    assert.equal(h!.config.architecture, 'RobertaForSequenceClassification');
  } finally {
    for (const c of [a, b, h]) c!.close();
  }
});

test('a RoBERTa student of BERT teachers keeps its own tokenizer (the teachers read the texts with theirs)', async () => {
  const out = path.join(work, 'cross');
  const r = await distill({ ...common, teacher: [fixture('sst2-sibling-a'), fixture('sst2-stranger-b')], method: 'mean', student: RA, out });
  assert.ok(Number.isFinite(r.train.lastLoss));
  assert.deepEqual(fs.readFileSync(path.join(out, 'tokenizer.json')), fs.readFileSync(path.join(RA, 'tokenizer.json')));
  const clf = await loadClassifier(out, { runtime: { threads: 1 } });
  try {
    assert.deepEqual(clf.labels, ['negative', 'positive']);
    const p = await clf.predictProba([{ text: 'a gorgeous , witty , seductive movie .' }]);
    assert.ok(Math.abs(p[0]! + p[1]! - 1) < 1e-5);
  } finally {
    await clf.close();
  }
});

for (const [name, layerTensor] of [
  ['distilbert-sst2', 'distilbert.transformer.layer.0.ffn.lin1.weight'],
  ['modernbert-sst2', 'model.layers.0.mlp.Wi.weight'],
  ['deberta-sst2', 'deberta.encoder.layer.0.intermediate.dense.weight'],
  ['electra-sst2', 'electra.encoder.layer.0.intermediate.dense.weight'],
] as const) {
  test(`${name}: a one-layer student (--student-layers 1) trains and writes a one-layer ${name.split('-')[0]} that loads`, async () => {
    const src = fixture(`family/${name}`);
    const out = path.join(work, `${name}-1`);
    const r = await distill({ ...common, teacher: [src], student: src, studentLayers: 1, out, dropout: name !== 'electra-sst2' });
    assert.deepEqual(r.student.keptLayers, [0]);
    // Dropout at the config's probabilities (ModernBERT's own fields too); --no-dropout (ELECTRA here) records none.
    assert.equal(r.dropout === null, name === 'electra-sst2');
    if (name === 'modernbert-sst2') assert.deepEqual(r.dropout, { embedding: 0.1, attention: 0.1, mlp: 0.1, classifier: 0.1 });
    if (name === 'distilbert-sst2') assert.equal(r.dropout?.classifier, 0.2);
    const ckpt = loadCheckpoint(out);
    try {
      assert.equal(ckpt.config.numLayers, 1);
      assert.ok(!ckpt.tensors.names().some((n) => /layers?\.1\./.test(n)), 'layer 1 is gone');
    } finally {
      ckpt.close();
    }
    const d = moved(src, out, layerTensor);
    assert.ok(d > 0 && d < 0.05, `${layerTensor} moved ${d}`);
    const clf = await loadClassifier(out, { runtime: { threads: 1 } });
    try {
      const p = await clf.predictProba([{ text: 'dull .' }]);
      assert.ok(p.every(Number.isFinite));
    } finally {
      await clf.close();
    }
  });
}
