import assert from 'node:assert/strict';
import { test } from 'node:test';
import { A, B, BASE, assertClose, relabelled, runRecipe, tensors, zip } from './mergekit-helpers.js';

const a = tensors(A);
const b = tensors(B);
const base = tensors(BASE);

test('filter "*" matches every tensor (mergekit), not only names containing a star', async () => {
  const { got } = await runRecipe({
    merge_method: 'linear',
    models: [
      { model: A, parameters: { weight: [{ filter: '*', value: 3 }] } },
      { model: B, parameters: { weight: 1 } },
    ],
  });
  for (const [name, va] of a) assertClose(name, got.get(name), zip([va, b.get(name)!], (x, y) => (3 * x + y) / 4));
});

test('heads the base lacks are the weighted average even when the method says normalize: false', async () => {
  const { got, result } = await runRecipe({
    merge_method: 'task_arithmetic',
    base_model: BASE,
    models: [
      { model: A, parameters: { weight: 0.3 } },
      { model: B, parameters: { weight: 0.5 } },
    ],
    parameters: { normalize: false },
  });
  for (const [name, va] of a) {
    const vb = b.get(name)!;
    const vbase = base.get(name);
    // base-mlm has no pooler or classifier: those are (0.3·a + 0.5·b) / 0.8, not 0.3·a + 0.5·b.
    const want = vbase ? zip([vbase, va, vb], (o, x, y) => o + 0.3 * (x - o) + 0.5 * (y - o)) : zip([va, vb], (x, y) => (0.3 * x + 0.5 * y) / 0.8);
    assertClose(name, got.get(name), want);
  }
  assert.match(result.notes.join('\n'), /classifier\.weight.*weighted average/);
});

test('a classifier base_model listing its labels in another order is aligned by name', async () => {
  // The base is sibling-a with its labels (and classifier rows) stored as [positive, negative].
  const swapped = relabelled('sst2-sibling-a', ['positive', 'negative'], [1, 0]);
  const { got, result } = await runRecipe({
    merge_method: 'task_arithmetic',
    base_model: swapped,
    models: [
      { model: A, parameters: { weight: 1 } },
      { model: B, parameters: { weight: 1 } },
    ],
  });
  // Aligned, the base is sibling-a itself: θ = a + (a − a) + (b − a) for every tensor, heads included.
  for (const [name, va] of a) assertClose(name, got.get(name), zip([va, va, b.get(name)!], (o, x, y) => o + (x - o) + (y - o)));
  assert.deepEqual(result.notes, []);
});

test('a classifier base_model with other label names lends its encoder, not its head', async () => {
  const other = relabelled('sst2-sibling-a', ['bad', 'good'], [0, 1]);
  const { got, result } = await runRecipe({
    merge_method: 'task_arithmetic',
    base_model: other,
    models: [
      { model: A, parameters: { weight: 1 } },
      { model: B, parameters: { weight: 3 } },
    ],
  });
  assertClose('bert.encoder.layer.1.output.dense.weight', got.get('bert.encoder.layer.1.output.dense.weight'), zip([a.get('bert.encoder.layer.1.output.dense.weight')!, b.get('bert.encoder.layer.1.output.dense.weight')!], (x, y) => x + 3 * (y - x)));
  assertClose('classifier.weight', got.get('classifier.weight'), zip([a.get('classifier.weight')!, b.get('classifier.weight')!], (x, y) => (x + 3 * y) / 4));
  assert.match(result.notes.join('\n'), /other labels \[bad, good\]/);
});
