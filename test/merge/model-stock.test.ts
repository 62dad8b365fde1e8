import { test } from 'node:test';
import { A, B, BASE, assertClose, runRecipe, shapeOf, tensors, zip } from './mergekit-helpers.js';
import { modelStock, rows } from './mergekit-reference.js';
import { fixture } from '../helpers/fixtures.js';

const C = fixture('subj-sibling');
const a = tensors(A);
const b = tensors(B);
const c = tensors(C);
const base = tensors(BASE);

/** The encoder tensors (the heads differ in task; they are kept per member). */
const ENCODER = [...a.keys()].filter((n) => n.startsWith('bert.') && !n.startsWith('bert.pooler'));

test('model_stock: t = N·cos / (1 + (N − 1)·cos) from the offsets\' mean pairwise cosine, θ = t·mean + (1 − t)·base', async () => {
  const { got } = await runRecipe({ merge_method: 'model_stock', base_model: BASE, models: [{ model: A }, { model: B }, { model: C }], heads: 'separate' });
  for (const name of ENCODER) assertClose(name, got.get(name), modelStock(base.get(name)!, [a.get(name)!, b.get(name)!, c.get(name)!]));
});

test('model_stock filter_wise: one cosine per row; heads the base lacks are the members\' average', async () => {
  const { got } = await runRecipe({ merge_method: 'model_stock', base_model: BASE, models: [{ model: A }, { model: B }], parameters: { filter_wise: true } });
  for (const [name, x] of a) {
    const o = base.get(name);
    const y = b.get(name)!;
    if (!o) {
      assertClose(name, got.get(name), zip([x, y], (p, q) => (p + q) / 2));
      continue;
    }
    const shape = shapeOf(A, name);
    const cols = shape.length === 2 ? shape[1]! : x.length;
    const [xs, ys] = [rows(x, cols), rows(y, cols)];
    const want = rows(o, cols).flatMap((r, i) => Array.from(modelStock(r, [xs[i]!, ys[i]!])));
    assertClose(name, got.get(name), want);
  }
});
