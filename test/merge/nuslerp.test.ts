import { test } from 'node:test';
import { A, B, BASE, assertClose, runRecipe, shapeOf, tensors, zip } from './mergekit-helpers.js';
import { nuslerpVectors, rows, sub, type Vec } from './mergekit-reference.js';

const a = tensors(A);
const b = tensors(B);
const base = tensors(BASE);

/** Columns of a row-major [r, cols] array. */
function columns(v: Vec, cols: number): Vec[] {
  const r = v.length / cols;
  return Array.from({ length: cols }, (_, c) => Float64Array.from({ length: r }, (_, i) => v[i * cols + c]!));
}

function fromColumns(cs: readonly Vec[], r: number): Vec {
  const out = new Float64Array(cs.length * r);
  cs.forEach((col, c) => col.forEach((x, i) => (out[i * cs.length + c] = x)));
  return out;
}

test('nuslerp: t = w2 / (w1 + w2), one great circle over the whole tensor (flatten, the default)', async () => {
  const { got } = await runRecipe({ merge_method: 'nuslerp', models: [{ model: A, parameters: { weight: 0.3 } }, { model: B, parameters: { weight: 0.7 } }] });
  for (const [name, x] of a) assertClose(name, got.get(name), nuslerpVectors(0.7, [x], [b.get(name)!])[0]!);
});

for (const rowWise of [false, true]) {
  test(`nuslerp with base_model: task vectors interpolated per ${rowWise ? 'column (nuslerp_row_wise)' : 'row'} and added to the base`, async () => {
    const { got } = await runRecipe({
      merge_method: 'nuslerp',
      base_model: BASE,
      models: [{ model: A, parameters: { weight: 2 } }, { model: B, parameters: { weight: 1 } }],
      parameters: { nuslerp_flatten: false, nuslerp_row_wise: rowWise },
    });
    const t = 1 / 3;
    for (const [name, x] of a) {
      const y = b.get(name)!;
      const o = base.get(name);
      if (!o) {
        assertClose(name, got.get(name), zip([x, y], (p, q) => (2 * p + q) / 3));
        continue;
      }
      const shape = shapeOf(A, name);
      const [u, v] = [sub(x, o), sub(y, o)];
      let delta: Vec;
      if (shape.length < 2) delta = nuslerpVectors(t, [u], [v])[0]!;
      else if (rowWise) delta = fromColumns(nuslerpVectors(t, columns(u, shape[1]!), columns(v, shape[1]!)), shape[0]!);
      else delta = Float64Array.from(nuslerpVectors(t, rows(u, shape[1]!), rows(v, shape[1]!)).flatMap((r) => Array.from(r)));
      assertClose(name, got.get(name), zip([o, delta], (p, d) => p + d));
    }
  });
}
