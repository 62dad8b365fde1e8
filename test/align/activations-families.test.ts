import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test } from 'node:test';
import { alignSources } from '../../src/align/align.js';
import { loadCheckpoint, type Checkpoint } from '../../src/checkpoint/load.js';
import { MemoryTensorStore } from '../../src/checkpoint/tensor-store.js';
import { isBertfuseError } from '../../src/errors.js';
import { merge } from '../../src/merge/merge.js';
import { MergeSource } from '../../src/merge/sources.js';
import { readUnlabelledTexts } from '../../src/merge/texts.js';
import { parseMergeRecipe } from '../../src/recipe/merge.js';
import { familyReference } from '../architectures/family-fixture.js';
import { fixture, tempDir } from '../helpers/fixtures.js';
import { UNLABELLED } from '../merge/helpers.js';
import { logits, permutedTensors, randomPerms, referenceTexts, writeCopy } from './family-perms.js';
import { maxAbsDiff } from './helpers.js';

/*
 * `align: activations` for ModernBERT (fused Wqkv, rotary q/k, GeGLU MLP, pre-LN) and DeBERTa-v3
 * (disentangled attention whose c2p/p2c terms reuse query_proj/key_proj on the relative rows): the
 * probe reads each family's units where its module says (Family.probes), and the permutation found
 * is applied by the family's own rules, so (a) the aligned model computes the same function — its
 * logits before and after equal each other and reference.json (PyTorch) — and (b) a model merged
 * with a randomly permuted copy of itself comes back, every group having moved.
 */

const TOL = 1e-5;
const texts = readUnlabelledTexts(UNLABELLED, 200, 'latin1');

/** The checkpoint as the aligner left `src`: every tensor permuted by src.perms under the family's rules. */
function aligned(src: MergeSource): Checkpoint {
  return { ...src.ckpt, tensors: new MemoryTensorStore(permutedTensors(src, src.perms), `${src.ckpt.name} (aligned)`), close: () => {} };
}

const CASES = [
  // Two ModernBERTs from different random starts (cls and mean pooling): a real alignment problem.
  { family: 'modernbert', ref: 'modernbert-sst2', other: 'modernbert-sst2-mean', headGroup: 'head' },
  // The one DeBERTa fixture against itself is the identity; (b) below permutes it first.
  { family: 'deberta-v2', ref: 'deberta-sst2', other: 'deberta-sst2', headGroup: 'pooler' },
] as const;

for (const c of CASES) {
  describe(`${c.family}: align: activations`, () => {
    test('(a) the permutation it finds keeps the aligned model\'s function (logits = before = reference.json)', async () => {
      const refDir = fixture(`family/${c.ref}`);
      const otherDir = fixture(`family/${c.other}`);
      const [ref, other] = [loadCheckpoint(refDir), loadCheckpoint(otherDir)];
      try {
        const refSrc = new MergeSource(ref, 'member');
        const otherSrc = new MergeSource(other, 'member');
        const [report] = await alignSources(refSrc, [otherSrc], 'activations', texts, { threads: 1 });
        const groups = new Set(report!.groups.map((g) => g.group));
        for (const g of ['residual', 'qk.0', 'vo.0', 'ffn.0', c.headGroup]) assert.ok(groups.has(g), `${g} solved (${[...groups].join(', ')})`);
        if (c.ref !== c.other) {
          assert.ok(report!.groups.some((g) => g.group === 'residual' && g.moved > 0), 'different models: the residual stream moved');
          // Every group scores at least what the identity did; a layer's heads are chosen for q/k and v/o together, so there the pair's sum does.
          const score = (g: string, k: 'before' | 'after'): number => report!.groups.find((x) => x.group === g)![k];
          for (const g of report!.groups.filter((x) => !/^(qk|vo)\./.test(x.group))) assert.ok(g.after >= g.before - 1e-9, JSON.stringify(g));
          for (let i = 0; i < ref.config.numLayers; i++) assert.ok(score(`qk.${i}`, 'after') + score(`vo.${i}`, 'after') >= score(`qk.${i}`, 'before') + score(`vo.${i}`, 'before') - 1e-9, `layer ${i}`);
        }
        const inputs = referenceTexts(otherDir);
        const before = await logits(other, inputs);
        const after = await logits(aligned(otherSrc), inputs);
        assert.ok(maxAbsDiff(before, after) <= TOL, `aligned vs original ${maxAbsDiff(before, after)}`);
        const torch = Float32Array.from(familyReference(c.other).inputs.slice(0, inputs.length).flatMap((x) => x.logits!));
        assert.ok(maxAbsDiff(after, torch) <= 1e-4, `aligned vs PyTorch ${maxAbsDiff(after, torch)}`);
      } finally {
        ref.close();
        other.close();
      }
    });

    test('(b) merged with a randomly permuted copy of itself, it gives the model back', async () => {
      const dir = fixture(`family/${c.ref}`);
      const ckpt = loadCheckpoint(dir);
      try {
        const src = new MergeSource(ckpt, 'member');
        const work = tempDir();
        const copy = writeCopy(dir, permutedTensors(src, randomPerms(src, 23)), path.join(work, `${c.ref}-permuted`));
        const r = await merge(parseMergeRecipe({ merge_method: 'linear', models: [{ model: dir }, { model: copy }], align: 'activations', texts: UNLABELLED, texts_encoding: 'latin1', onnx: false }, 'test'), { out: path.join(work, 'merged'), threads: 1 });
        const groups = r.alignment[0]!.groups;
        assert.ok(groups.every((g) => g.moved > 0 && g.after > 0.999), JSON.stringify(groups));
        // Rotary (ModernBERT): q/k units move with their whole head only.
        const d = ckpt.config.hiddenSize / ckpt.config.numHeads;
        if (c.family === 'modernbert') for (const g of groups.filter((x) => x.group.startsWith('qk.'))) assert.equal(g.moved % d, 0, `${g.group}: ${g.moved} units moved`);
        const merged = loadCheckpoint(path.join(work, 'merged'));
        try {
          for (const n of ckpt.tensors.names()) if (merged.tensors.has(n)) assert.ok(maxAbsDiff(merged.tensors.read(n).data, ckpt.tensors.read(n).data) <= TOL, `${n} not recovered`);
          const inputs = referenceTexts(dir);
          assert.ok(maxAbsDiff(await logits(merged, inputs), await logits(ckpt, inputs)) <= TOL);
        } finally {
          merged.close();
        }
      } finally {
        ckpt.close();
      }
    });
  });
}

test('RegMean still needs BERT-shaped layers: ModernBERT and DeBERTa are refused in one line naming the folder', async () => {
  for (const name of ['modernbert-sst2', 'deberta-sst2']) {
    const dir = fixture(`family/${name}`);
    const recipe = parseMergeRecipe({ merge_method: 'regmean', models: [{ model: dir }, { model: dir }], texts: UNLABELLED, texts_encoding: 'latin1', onnx: false }, 'test');
    await assert.rejects(merge(recipe, { out: path.join(tempDir(), 'out') }), (e: unknown) => {
      assert.ok(isBertfuseError(e), String(e));
      assert.equal(e.code, 'E_INCOMPATIBLE');
      assert.equal(e.file, dir);
      assert.match(e.message, /has no BERT-shaped layers to collect statistics from \(RegMean\); use another method$/);
      return true;
    });
  }
});
