import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test } from 'node:test';
import { loadCheckpoint } from '../../src/checkpoint/load.js';
import { isBertfuseError } from '../../src/errors.js';
import { merge } from '../../src/merge/merge.js';
import { readUnlabelledTexts } from '../../src/merge/texts.js';
import { diagonalFisher } from '../../src/train/fisher.js';
import { MERGE_METHODS } from '../../src/merge/registry.js';
import { parseMergeRecipe } from '../../src/recipe/merge.js';
import { fixture, tempDir } from '../helpers/fixtures.js';
import { folderLogits, referenceInputs, UNLABELLED } from './helpers.js';

/**
 * Merging within a family on the RoBERTa siblings (roberta-sst2-a / -b, parent roberta-mlm):
 * every method runs and writes a RoBERTa checkpoint under RoBERTa's names; the math is checked on
 * cases with a known answer; across families, one clear error (alignment of every family:
 * test/align/families.test.ts).
 */
const A = fixture('family/roberta-sst2-a');
const B = fixture('family/roberta-sst2-b');
const BASE = fixture('family/roberta-mlm');

function recipe(fields: Record<string, unknown>): ReturnType<typeof parseMergeRecipe> {
  return parseMergeRecipe({ onnx: false, texts: UNLABELLED, texts_encoding: 'latin1', max_texts: 64, ...fields }, 'test');
}

async function refused(r: Record<string, unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(merge(recipe(r), { out: path.join(tempDir(), 'out') }), (e: unknown) => {
    assert.ok(isBertfuseError(e), String(e));
    assert.equal(e.code, 'E_INCOMPATIBLE');
    assert.match(e.message, pattern);
    assert.ok(!e.message.includes('\n'));
    return true;
  });
}

describe('RoBERTa siblings', () => {
  const inputs = referenceInputs().slice(0, 12);
  const params: Record<string, Record<string, unknown>> = { slerp: { t: 0.5 } };

  for (const method of MERGE_METHODS.filter((m) => m.name !== 'fisher')) {
    test(`${method.name}: a RoBERTa checkpoint under RoBERTa's names that loads and predicts`, async () => {
      const out = path.join(tempDir(), method.name);
      const needsBase = method.base === 'required';
      const weight = method.params.some((p) => p.name === 'weight') ? { parameters: { weight: 0.5 } } : {};
      await merge(recipe({ merge_method: method.name, models: [{ model: A, ...weight }, { model: B, ...weight }], ...(needsBase ? { base_model: BASE } : {}), parameters: params[method.name] ?? {} }), { out });
      const ckpt = loadCheckpoint(out);
      try {
        assert.equal(ckpt.config.architecture, 'RobertaForSequenceClassification');
        assert.equal(ckpt.prefix, 'roberta.');
        assert.ok(ckpt.tensors.has('classifier.out_proj.weight') && ckpt.tensors.has('roberta.encoder.layer.1.output.dense.weight'));
        assert.ok(!ckpt.tensors.names().some((n) => n.startsWith('bert.')));
      } finally {
        ckpt.close();
      }
      const logits = await folderLogits(out, inputs);
      assert.ok(logits.every(Number.isFinite));
    });
  }

  test('linear of a model with itself is that model; linear of a and b is their tensor average', async () => {
    const same = path.join(tempDir(), 'same');
    await merge(recipe({ merge_method: 'linear', models: [{ model: A }, { model: A }] }), { out: same });
    const got = await folderLogits(same, inputs);
    const want = await folderLogits(A, inputs);
    for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i]! - want[i]!) < 1e-5);
    const avg = path.join(tempDir(), 'avg');
    await merge(recipe({ merge_method: 'linear', models: [{ model: A }, { model: B }] }), { out: avg });
    const [ca, cb, cm] = [A, B, avg].map((d) => loadCheckpoint(d));
    try {
      for (const name of ['classifier.out_proj.weight', 'classifier.dense.bias', 'roberta.embeddings.position_embeddings.weight', 'roberta.encoder.layer.0.attention.self.query.weight']) {
        const [x, y, m] = [ca!, cb!, cm!].map((c) => c.tensors.read(name).data);
        for (let i = 0; i < m!.length; i++) assert.ok(Math.abs(m![i]! - (x![i]! + y![i]!) / 2) < 1e-6, `${name}[${i}]`);
      }
    } finally {
      for (const c of [ca, cb, cm]) c!.close();
    }
  });

  test('weight matching on siblings from one parent keeps every encoder unit in place; the head is aligned too', async () => {
    const out = path.join(tempDir(), 'aligned');
    const r = await merge(recipe({ merge_method: 'linear', models: [{ model: A }, { model: B }], align: 'weights' }), { out });
    const groups = r.alignment[0]!.groups;
    assert.ok(groups.some((g) => g.group === 'pooler'), 'the RoBERTa head (classifier.dense) is aligned as the pooler group');
    // The head (64 units, fine-tuned from one initial head) may trade a couple of near-equal units.
    for (const g of groups) if (g.group !== 'pooler') assert.equal(g.moved, 0, `${g.group} moved ${g.moved} units`);
  });
});

test('across families: one clear error naming both', async () => {
  await refused({ merge_method: 'linear', models: [{ model: A }, { model: fixture('sst2-sibling-a') }] }, /cannot merge sst2-sibling-a \(BertForSequenceClassification, family bert\) with roberta-sst2-a \(RobertaForSequenceClassification, family roberta\)/);
});

test('fisher on the RoBERTa siblings: each merged weight is the Fisher-weighted average of the members\' (Fisher from the training graph)', async () => {
  const out = path.join(tempDir(), 'fisher');
  await merge(recipe({ merge_method: 'fisher', models: [{ model: A }, { model: B }], max_texts: 6 }), { out, threads: 1 });
  const texts = readUnlabelledTexts(UNLABELLED, 6, 'latin1');
  const [ca, cb, cm] = [A, B, out].map((d) => loadCheckpoint(d));
  try {
    const [fa, fb] = await Promise.all([ca!, cb!].map((c) => diagonalFisher(c, texts.map((t) => c.tokenizer.encode(t)), c.tokenizer.padId, { runtime: { threads: 1 } })));
    for (const name of ['classifier.out_proj.bias', 'roberta.embeddings.token_type_embeddings.weight', 'roberta.encoder.layer.1.output.dense.bias']) {
      const [wa, wb, wm] = [ca!, cb!, cm!].map((c) => c.tensors.read(name).data);
      for (let j = 0; j < wm!.length; j++) {
        const ga = Math.max(fa!.get(name)![j]!, 1e-6);
        const gb = Math.max(fb!.get(name)![j]!, 1e-6);
        const want = (ga * wa![j]! + gb * wb![j]!) / (ga + gb);
        assert.ok(Math.abs(wm![j]! - want) < 1e-6 + 1e-5 * Math.abs(want), `${name}[${j}]: ${wm![j]} vs ${want}`);
      }
    }
  } finally {
    for (const c of [ca, cb, cm]) c!.close();
  }
});
