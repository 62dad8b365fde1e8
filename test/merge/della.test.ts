import assert from 'node:assert/strict';
import { test } from 'node:test';
import { A, B, BASE, assertClose, runRecipe, tensors, zip } from './mergekit-helpers.js';
import { gta, sub } from './mergekit-reference.js';

const a = tensors(A);
const b = tensors(B);
const base = tensors(BASE);
const EMB = 'bert.embeddings.word_embeddings.weight';

test('della_linear: MagPrune keeps an entry with probability density − ε … density + ε by its magnitude rank in its row', async () => {
  const { got } = await runRecipe({ merge_method: 'della_linear', base_model: BASE, models: [{ model: A, parameters: { weight: 1, density: 0.5, epsilon: 0.3 } }], parameters: { rescale: false } });
  const o = base.get(EMB)!;
  const tau = sub(a.get(EMB)!, o);
  const res = sub(got.get(EMB)!, o);
  // Without rescale each entry is τ or 0.
  tau.forEach((t, i) => assert.ok(Math.abs(res[i]!) <= 1e-6 || Math.abs(res[i]! - t) <= 1e-6, `[${i}]`));
  // Rows of 64: rank r (ascending |τ|) is kept with p = 0.2 + 0.6 · r / 63. Bin the ranks in thirds.
  const kept = [0, 0, 0];
  const seen = [0, 0, 0];
  for (let row = 0; row < tau.length / 64; row++) {
    const idx = Array.from({ length: 64 }, (_, j) => row * 64 + j).sort((x, y) => Math.abs(tau[x]!) - Math.abs(tau[y]!) || x - y);
    idx.forEach((i, r) => {
      if (tau[i] === 0) return;
      const bin = Math.min(2, Math.floor((r * 3) / 64));
      seen[bin]++;
      if (res[i] !== 0) kept[bin]++;
    });
  }
  const rate = kept.map((k, i) => k / seen[i]!);
  // Expected mean p per third: 0.2 + 0.6 · (mean of r/63 over the bin) ≈ 0.30, 0.50, 0.70.
  const expected = [0, 1, 2].map((bin) => {
    const rs = Array.from({ length: 64 }, (_, r) => r).filter((r) => Math.min(2, Math.floor((r * 3) / 64)) === bin);
    return rs.reduce((s, r) => s + 0.2 + (0.6 * r) / 63, 0) / rs.length;
  });
  rate.forEach((r, i) => assert.ok(Math.abs(r - expected[i]!) < 0.01, `third ${i}: kept ${r.toFixed(4)}, expected ${expected[i]!.toFixed(4)}`));
});

test('della rescales by the L1 norm (default) and elects signs; density 1 is TIES without trimming', async () => {
  const one = await runRecipe({ merge_method: 'della', base_model: BASE, models: [{ model: A, parameters: { weight: 1, density: 0.4, epsilon: 0.1 } }] });
  for (const [name, o] of base) {
    if (!a.has(name)) continue;
    const tau = sub(a.get(name)!, o);
    const res = sub(one.got.get(name)!, o);
    const kept = Array.from(tau.keys()).filter((i) => res[i] !== 0);
    const l1 = (idx: Iterable<number>) => [...idx].reduce((s, i) => s + Math.abs(tau[i]!), 0);
    const f = l1(tau.keys()) / l1(kept);
    tau.forEach((t, i) => assert.ok(Math.abs(res[i]! - (res[i] === 0 ? 0 : f * t)) <= 1e-6, `${name}[${i}]`));
  }
  const full = await runRecipe({ merge_method: 'della', base_model: BASE, models: [{ model: A, parameters: { weight: 0.6 } }, { model: B, parameters: { weight: 0.4 } }] });
  for (const [name, x] of a) {
    const y = b.get(name)!;
    const o = base.get(name);
    assertClose(name, full.got.get(name), o ? gta(o, [{ tau: sub(x, o), weight: 0.6 }, { tau: sub(y, o), weight: 0.4 }], { consensus: true, normalize: true }) : zip([x, y], (p, q) => 0.6 * p + 0.4 * q));
  }
});

test('della refuses density ± epsilon outside (0, 1), as mergekit does', async () => {
  await assert.rejects(
    runRecipe({ merge_method: 'della', base_model: BASE, models: [{ model: A, parameters: { weight: 1, density: 0.9, epsilon: 0.15 } }] }),
    (e: Error & { code?: string }) => e.code === 'E_BAD_RECIPE' && /density 0\.9 ± epsilon 0\.15 outside \(0, 1\)/.test(e.message),
  );
});
