import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { loadCheckpoint, type Checkpoint } from '../../src/checkpoint/load.js';
import { MemoryTensorStore, type Tensor } from '../../src/checkpoint/tensor-store.js';
import { merge } from '../../src/merge/merge.js';
import { MergeSource } from '../../src/merge/sources.js';
import { parseMergeRecipe } from '../../src/recipe/merge.js';
import { runCli } from '../helpers/cli.js';
import { fixture, tempDir } from '../helpers/fixtures.js';
import { logits, permutedTensors, randomPerms, referenceTexts, writeCopy } from './family-perms.js';
import { maxAbsDiff } from './helpers.js';

/**
 * Permutation alignment for every family, on the real fixtures, with the groups each family's
 * module declares (Family.alignment): (a) a random permutation of every group leaves the logits of
 * the fixture's reference texts unchanged (the model is run, not its tensors compared); (b) merging
 * a model with a permuted copy of itself under `align: weights` gives the model back. `align:
 * activations` for ModernBERT and DeBERTa: activations-families.test.ts.
 */

const TOL = 1e-5;

const FIXTURES: ReadonlyArray<{ readonly family: string; readonly dir: string }> = [
  { family: 'bert', dir: fixture('sst2-sibling-a') },
  { family: 'distilbert', dir: fixture('family/distilbert-sst2') },
  { family: 'roberta', dir: fixture('family/roberta-sst2-a') },
  { family: 'xlm-roberta', dir: fixture('family/xlmr-sst2') },
  { family: 'electra', dir: fixture('family/electra-sst2') },
  { family: 'modernbert', dir: fixture('family/modernbert-sst2') },
  { family: 'deberta-v2', dir: fixture('family/deberta-sst2') },
];

for (const { family, dir } of FIXTURES) {
  describe(`${family} (${path.basename(dir)})`, () => {
    const ckpt = loadCheckpoint(dir);
    after(() => ckpt.close());
    const src = new MergeSource(ckpt, 'member');
    const texts = referenceTexts(dir);
    const perms = randomPerms(src, 17);
    const permuted = permutedTensors(src, perms);

    test('(a) a random permutation of every group the rules name leaves the logits unchanged', async () => {
      assert.equal(ckpt.config.family, family);
      assert.ok([...perms.keys()].some((g) => g.startsWith('ffn.')) && perms.has('residual'), 'residual and FFN groups are permuted');
      const moved = [...permuted].filter(([n, t]) => maxAbsDiff(t.data, ckpt.tensors.read(n).data) > 1e-3).length;
      assert.ok(moved > permuted.size / 2, `only ${moved} of ${permuted.size} tensors moved`);
      const copy: Checkpoint = { ...ckpt, tensors: new MemoryTensorStore(permuted, `${ckpt.name} (permuted)`), close: () => {} };
      const [want, got] = [await logits(ckpt, texts), await logits(copy, texts)];
      assert.ok(maxAbsDiff(want, got) <= TOL, `max logit difference ${maxAbsDiff(want, got)}`);
    });

    test('(b) merge with a permuted copy of itself under align: weights gives the model back', async () => {
      const work = tempDir();
      const copy = writeCopy(dir, permuted, path.join(work, `${path.basename(dir)}-permuted`));
      const out = path.join(work, 'merged');
      const r = await merge(parseMergeRecipe({ merge_method: 'linear', models: [{ model: dir }, { model: copy }], align: 'weights', onnx: false }, 'test'), { out });
      const report = r.alignment[0]!;
      assert.ok(report.groups.every((g) => g.moved > 0), `every group had to move: ${report.groups.filter((g) => g.moved === 0).map((g) => g.group).join(', ')}`);
      const merged = loadCheckpoint(out);
      try {
        assert.equal(merged.config.architecture, ckpt.config.architecture);
        for (const n of ckpt.tensors.names()) if (merged.tensors.has(n)) assert.ok(maxAbsDiff(merged.tensors.read(n).data, ckpt.tensors.read(n).data) <= TOL, `${n} not recovered`);
        const [want, got] = [await logits(ckpt, texts), await logits(merged, texts)];
        assert.ok(maxAbsDiff(want, got) <= TOL, `max logit difference ${maxAbsDiff(want, got)}`);
      } finally {
        merged.close();
      }
    });
  });
}

describe('what alignment leaves in place is said', () => {
  test('ModernBERT: q/k units stay inside their head (rotary) and the merge result says so', async () => {
    const out = path.join(tempDir(), 'mb');
    const r = await merge(parseMergeRecipe({ merge_method: 'linear', models: [{ model: fixture('family/modernbert-sst2') }, { model: fixture('family/modernbert-sst2-mean') }], align: 'weights', onnx: false }, 'test'), { out });
    assert.ok(r.notes.some((n) => /ModernBERT alignment: query\/key units move only with their whole head \(rotary/.test(n)), r.notes.join('\n'));
    // Whole heads only: a q/k permutation moves a head's 16 units together, in order, or none of them.
    for (const g of r.alignment[0]!.groups.filter((x) => x.group.startsWith('qk.'))) assert.equal(g.moved % 16, 0, `${g.group}: ${g.moved} units moved`);
  });

  test('ELECTRA (embedding_size 32 < hidden 64): the embeddings stay, the projection\'s outputs move; the merge result says so', async () => {
    const dir = fixture('family/electra-sst2');
    const ckpt = loadCheckpoint(dir);
    try {
      const rules = new MergeSource(ckpt, 'member').alignment;
      assert.deepEqual(rules.axes('bert.embeddings.word_embeddings.weight'), [[null], [null]]);
      assert.deepEqual(rules.axes('bert.embeddings.LayerNorm.weight'), [[null]]);
      assert.deepEqual(rules.axes('bert.embeddings_project.weight'), [['residual'], [null]]);
      assert.deepEqual(rules.axes('bert.pooler.dense.weight'), [['pooler'], ['residual']], 'classifier.dense is the pooler group');
    } finally {
      ckpt.close();
    }
    const r = await merge(parseMergeRecipe({ merge_method: 'linear', models: [{ model: dir }, { model: dir }], align: 'weights', onnx: false }, 'test'), { out: path.join(tempDir(), 'el') });
    assert.ok(r.notes.some((n) => /ELECTRA alignment: the embeddings and their LayerNorm .* stay in place/.test(n)), r.notes.join('\n'));
  });
});

test('CLI: bertfuse merge --align weights on the two ModernBERT fixtures writes a folder that loads and predicts', async () => {
  const out = path.join(tempDir(), 'modernbert-aligned');
  const a = fixture('family/modernbert-sst2');
  const r = await runCli(['merge', a, fixture('family/modernbert-sst2-mean'), '--align', 'weights', '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /alignment of modernbert-sst2-mean \(weights, \d+ sweeps?\)/);
  assert.match(r.stdout, /note: ModernBERT alignment: query\/key units move only with their whole head/);
  const ckpt = loadCheckpoint(out);
  try {
    assert.equal(ckpt.config.architecture, 'ModernBertForSequenceClassification');
    const l = await logits(ckpt, referenceTexts(a));
    assert.ok(l.length === 24 && l.every(Number.isFinite));
  } finally {
    ckpt.close();
  }
  assert.ok(fs.existsSync(path.join(out, 'model.onnx')));
  const p = await runCli(['predict', out, '--text', 'a gripping, beautifully made film']);
  assert.equal(p.code, 0, p.stderr);
  assert.match(p.stdout, /negative|positive/);
});

test('separate heads over other label sets: alignment matches the shared tensors and leaves the odd-shaped classifier out', async () => {
  const a = fixture('sst2-stranger-a');
  const ckpt = loadCheckpoint(a);
  const work = tempDir();
  let three: string;
  try {
    // A three-label copy of the first member: one more classifier row, labels renamed.
    const tensors = new Map<string, Tensor>(ckpt.tensors.names().map((n) => [n, ckpt.tensors.read(n)] as const));
    const w = tensors.get('classifier.weight')!;
    const b = tensors.get('classifier.bias')!;
    tensors.set('classifier.weight', { shape: [3, w.shape[1]!], data: Float32Array.from([...w.data, ...w.data.subarray(0, w.shape[1]!)]) });
    tensors.set('classifier.bias', { shape: [3], data: Float32Array.from([...b.data, 0]) });
    three = writeCopy(a, tensors, path.join(work, 'three-labels'));
    const cfg = JSON.parse(fs.readFileSync(path.join(three, 'config.json'), 'utf8')) as Record<string, unknown>;
    const labels = ['low', 'mid', 'high'];
    fs.writeFileSync(path.join(three, 'config.json'), JSON.stringify({ ...cfg, id2label: Object.fromEntries(labels.map((l, i) => [String(i), l])), label2id: Object.fromEntries(labels.map((l, i) => [l, i])) }));
  } finally {
    ckpt.close();
  }
  const r = await merge(parseMergeRecipe({ merge_method: 'linear', models: [{ model: three }, { model: fixture('sst2-stranger-d') }], align: 'weights', onnx: false }, 'test'), { out: path.join(work, 'out') });
  assert.equal(r.heads, 'separate');
  const groups = r.alignment[0]!.groups;
  assert.ok(groups.every((g) => Number.isFinite(g.after) && g.after >= g.before - 1e-9), JSON.stringify(groups));
  assert.ok(groups.some((g) => g.group === 'residual' && g.moved > 0), 'strangers: the residual stream was matched');
});
