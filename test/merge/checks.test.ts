import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { loadCheckpoint } from '../../src/checkpoint/load.js';
import { createRandomCheckpoint } from '../../src/checkpoint/random.js';
import { merge } from '../../src/merge/merge.js';
import { parseMergeRecipe } from '../../src/recipe/merge.js';
import { fixture, tempDir } from '../helpers/fixtures.js';

const work = tempDir('bertfuse-merge-checks-');
const A = fixture('sst2-sibling-a');

async function refused(models: string[], code: string, pattern: RegExp, extra: Record<string, unknown> = {}): Promise<void> {
  const out = path.join(work, `out-${Math.random().toString(36).slice(2)}`);
  const recipe = parseMergeRecipe({ merge_method: 'linear', models: models.map((model) => ({ model })), onnx: false, ...extra });
  await assert.rejects(merge(recipe, { out }), (e: Error & { code?: string }) => {
    assert.equal(e.code, code, e.message);
    assert.match(e.message, pattern);
    return true;
  });
  assert.ok(!fs.existsSync(out), 'nothing written');
}

test('different sizes are refused with the fields that differ', async () => {
  const small = path.join(work, 'hidden32');
  await createRandomCheckpoint(small, { hiddenSize: 32, numHeads: 4, intermediateSize: 128 });
  await refused([A, small], 'E_INCOMPATIBLE', /different architecture sizes \(hidden_size 32 vs 64, intermediate_size 128 vs 256 in sst2-sibling-a\)/);
  await refused([A, fixture('sst2-stranger-b')], 'E_INCOMPATIBLE', /vocab_size 4096 vs 8192/);
});

test('a vocabulary of the same size but other word pieces is refused, naming the token ids', async () => {
  const other = path.join(work, 'swapped-vocab');
  fs.cpSync(fixture('sst2-sibling-b'), other, { recursive: true });
  const tj = JSON.parse(fs.readFileSync(path.join(other, 'tokenizer.json'), 'utf8')) as { model: { vocab: Record<string, number> } };
  const v = tj.model.vocab;
  const [x, y] = [Object.keys(v).find((k) => v[k] === 2000)!, Object.keys(v).find((k) => v[k] === 2001)!];
  [v[x], v[y]] = [2001, 2000];
  fs.writeFileSync(path.join(other, 'tokenizer.json'), JSON.stringify(tj));
  await refused([A, other], 'E_INCOMPATIBLE', new RegExp(`differs from sst2-sibling-a at 2 token ids \\(id 2000 is "${y}" here but "${x}" in sst2-sibling-a; id 2001 is "${x}" here but "${y}"`));
});

test('members must be classifiers; methods with a base need one; the output folder is protected', async () => {
  await refused([fixture('base-mlm'), A], 'E_INCOMPATIBLE', /members must be BertForSequenceClassification models; this is a BertForMaskedLM \(use it as base_model instead\)/);
  assert.throws(() => parseMergeRecipe({ merge_method: 'ties', models: [{ model: A }] }), /ties needs a base_model/);
  const taken = path.join(work, 'not-a-merge');
  fs.mkdirSync(taken);
  fs.writeFileSync(path.join(taken, 'precious.txt'), 'keep me');
  await assert.rejects(merge(parseMergeRecipe({ merge_method: 'linear', models: [{ model: A }] }), { out: taken }), /not-a-merge: is not a bertfuse output \(no bertfuse-files\.json; it holds "precious\.txt"\); refusing to replace it/);
  assert.equal(fs.readFileSync(path.join(taken, 'precious.txt'), 'utf8'), 'keep me');
});

test('a single member merges to itself; an earlier merge output may be replaced', async () => {
  const out = path.join(work, 'self');
  const recipe = parseMergeRecipe({ merge_method: 'linear', models: [{ model: A }], onnx: false });
  await merge(recipe, { out });
  const again = await merge(recipe, { out });
  assert.ok(again.files.includes('merge.yaml'));
  const [src, got] = [loadCheckpoint(A), loadCheckpoint(out)];
  try {
    for (const n of src.tensors.names()) assert.deepEqual(got.tensors.read(n).data, src.tensors.read(n).data, n);
  } finally {
    src.close();
    got.close();
  }
});

test('parameters that overflow float32 are refused before anything is written', async () => {
  const out = path.join(work, 'overflow');
  const recipe = parseMergeRecipe({ merge_method: 'task_arithmetic', base_model: fixture('base-mlm'), models: [{ model: A }], parameters: { lambda: 1e300 }, onnx: false });
  await assert.rejects(merge(recipe, { out }), /task_arithmetic produced a non-finite value in "bert\.[^"]+" \(index \d+\); check the parameters/);
  assert.ok(!fs.existsSync(out));
});
