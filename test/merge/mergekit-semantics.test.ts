import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { resolveParams } from '../../src/merge/params.js';
import { mergeMethod } from '../../src/merge/registry.js';
import { A, B, BASE, assertClose, relabelled, runRecipe, tensors, zip } from './mergekit-helpers.js';
import { bf16, gta, magnitude, slerp, sub, type Vec } from './mergekit-reference.js';

const a = tensors(A);
const b = tensors(B);
const base = tensors(BASE);
const NAMES = [...a.keys()];

/** Every tensor against `want`; tensors base-mlm lacks (pooler, classifier) are the weighted average. */
function checkAll(got: Map<string, Float64Array>, want: (name: string, o: Vec, x: Vec, y: Vec) => Vec, weights: readonly [number, number], tol = 1e-6): void {
  for (const name of NAMES) {
    const x = a.get(name)!;
    const y = b.get(name)!;
    const o = base.get(name);
    const expected = o ? want(name, o, x, y) : zip([x, y], (p, q) => (weights[0] * p + weights[1] * q) / (weights[0] + weights[1]));
    assertClose(name, got.get(name), expected, tol);
  }
}

test('ties with mergekit defaults: density 1 keeps every entry, the disjoint mean is normalised', async () => {
  const { got } = await runRecipe({ merge_method: 'ties', base_model: BASE, models: [{ model: A, parameters: { weight: 0.6 } }, { model: B, parameters: { weight: 0.4 } }] });
  checkAll(got, (_, o, x, y) => gta(o, [{ tau: sub(x, o), weight: 0.6 }, { tau: sub(y, o), weight: 0.4 }], { consensus: true, normalize: true }), [0.6, 0.4]);
});

test('ties trims to floor(density · n) entries, as mergekit does (not round)', async () => {
  // 0.37 · 64 = 23.68 and 0.37 · 4096 = 1515.52: floor and round differ on every tensor size.
  const { got } = await runRecipe({ merge_method: 'ties', base_model: BASE, models: [{ model: A, parameters: { weight: 1, density: 0.37 } }, { model: B, parameters: { weight: 1, density: 0.37 } }], parameters: { lambda: 0.8 } });
  checkAll(got, (_, o, x, y) => gta(o, [{ tau: magnitude(sub(x, o), 0.37), weight: 1 }, { tau: magnitude(sub(y, o), 0.37), weight: 1 }], { consensus: true, normalize: true, lambda: 0.8 }), [1, 1]);
});

test('dare_ties defaults to normalize: false (mergekit), so with density 1 it is the elected sum', async () => {
  const { got } = await runRecipe({ merge_method: 'dare_ties', base_model: BASE, models: [{ model: A, parameters: { weight: 0.6 } }, { model: B, parameters: { weight: 0.7 } }] });
  checkAll(got, (_, o, x, y) => gta(o, [{ tau: sub(x, o), weight: 0.6 }, { tau: sub(y, o), weight: 0.7 }], { consensus: true, normalize: false }), [0.6, 0.7]);
});

/**
 * One member through DARE: per tensor, the kept fraction, and a check that every kept entry is
 * τ times one factor — `scale(l1Ratio)`, with l1Ratio = ‖τ‖₁ / ‖kept τ‖₁ — and every other is 0.
 */
function checkDare(got: Map<string, Float64Array>, scale: (l1Ratio: number) => number): Map<string, number> {
  const fractions = new Map<string, number>();
  for (const [name, o] of base) {
    if (!a.has(name)) continue; // base-mlm's own MLM head
    const tau = sub(a.get(name)!, o);
    const res = sub(got.get(name)!, o);
    const kept = Array.from(tau.keys()).filter((i) => res[i] !== 0);
    const l1 = (idx: Iterable<number>) => [...idx].reduce((acc, i) => acc + Math.abs(tau[i]!), 0);
    const f = scale(l1(tau.keys()) / l1(kept));
    tau.forEach((t, i) => assert.ok(Math.abs(res[i]! - (res[i] === 0 ? 0 : f * t)) <= 1e-6, `${name}[${i}]: ${res[i]} vs ${f} · ${t}`));
    fractions.set(name, kept.length / tau.length);
  }
  return fractions;
}

test("dare rescale: mergekit's L1 norm by default, the paper's 1/density as rescale: density", async () => {
  const recipe = (rescale?: string | boolean) => ({ merge_method: 'dare_linear', base_model: BASE, models: [{ model: A, parameters: { weight: 1, density: 0.5 } }], ...(rescale === undefined ? {} : { parameters: { rescale } }) });
  const kept = checkDare((await runRecipe(recipe())).got, (r) => r);
  const big = kept.get('bert.embeddings.word_embeddings.weight')!;
  assert.ok(Math.abs(big - 0.5) < 0.01, `kept fraction ${big}`);
  checkDare((await runRecipe(recipe('density'))).got, () => 2);
  checkDare((await runRecipe(recipe(false))).got, () => 1);
});

test("layer gradients: a list of numbers spans the layers (t = i / (L − 1)), outside the layers t = 0 — mergekit's placement", () => {
  const linear = mergeMethod('linear');
  const w = (name: string, layers: number, g: unknown) => resolveParams(linear, { weight: g as number[] }, [{}], name, layerT(name, layers)).modelParams[0]!['weight'];
  const layerT = (name: string, L: number) => {
    const m = /layer\.(\d+)\./.exec(name);
    return m ? (L > 1 ? Number(m[1]) / (L - 1) : 1) : 0;
  };
  // [0, 0.5, 1] over 5 layers: t = 0, 0.25, 0.5, 0.75, 1.
  assert.deepEqual([0, 1, 2, 3, 4].map((i) => w(`bert.encoder.layer.${i}.output.dense.weight`, 5, [0, 0.5, 1])), [0, 0.25, 0.5, 0.75, 1]);
  // mergekit's gradient-slerp values over 4 layers: t = 1/3 → 0.5 + (0.3 − 0.5)/3, t = 2/3 → 0.3 + 2·(0.7 − 0.3)/3.
  const g = [0, 0.5, 0.3, 0.7, 1];
  const got = [0, 1, 2, 3].map((i) => w(`bert.encoder.layer.${i}.attention.self.query.weight`, 4, g) as number);
  [0, 0.5 - 0.2 / 3, 0.3 + 0.8 / 3, 1].forEach((v, i) => assert.ok(Math.abs(got[i]! - v) < 1e-12, `layer ${i}: ${got[i]} vs ${v}`));
  assert.equal(w('bert.embeddings.word_embeddings.weight', 4, g), 0);
  assert.equal(w('classifier.weight', 4, g), 0);
});

test('layer gradients and filters on the bundled 2-layer models: layer 0 takes the first value, layer 1 the last, the rest t = 0', async () => {
  const { got } = await runRecipe({
    merge_method: 'linear',
    models: [
      { model: A, parameters: { weight: [1, 3] } },
      { model: B, parameters: { weight: [{ filter: 'attention', value: [2, 4] }, { filter: '*', value: 1 }] } },
    ],
  });
  for (const name of NAMES) {
    const layer = /layer\.(\d)\./.exec(name)?.[1];
    const wa = layer === '1' ? 3 : 1;
    const wb = name.includes('attention') ? (layer === '1' ? 4 : 2) : 1;
    assertClose(name, got.get(name), zip([a.get(name)!, b.get(name)!], (x, y) => (wa * x + wb * y) / (wa + wb)));
  }
});

test("slerp: base_model is v0, t may be a filtered gradient (mergekit's gradient-slerp)", async () => {
  const { got } = await runRecipe({
    merge_method: 'slerp',
    base_model: B,
    models: [{ model: A }, { model: B }],
    parameters: { t: [{ filter: 'attention', value: [0.2, 0.8] }, { value: 0.3 }] },
  });
  for (const name of NAMES) {
    const layer = /layer\.(\d)\./.exec(name)?.[1];
    const t = name.includes('attention') ? (layer === '1' ? 0.8 : 0.2) : 0.3;
    assertClose(name, got.get(name), slerp(t, b.get(name)!, a.get(name)!));
  }
});

/** dtype of every tensor in a merged folder's shards, read from the safetensors headers. */
function storedDtypes(dir: string): Set<string> {
  const out = new Set<string>();
  for (const f of fs.readdirSync(dir).filter((x) => x.endsWith('.safetensors'))) {
    const buf = fs.readFileSync(path.join(dir, f));
    const header = JSON.parse(buf.subarray(8, 8 + Number(buf.readBigUInt64LE(0))).toString('utf8')) as Record<string, { dtype?: string }>;
    for (const [k, v] of Object.entries(header)) if (k !== '__metadata__') out.add(v.dtype!);
  }
  return out;
}

test('dtype is the compute dtype (inputs and result rounded to it), out_dtype the stored one', async () => {
  const models = [{ model: A, parameters: { weight: 1 } }, { model: B, parameters: { weight: 3 } }];
  const compute = await runRecipe({ merge_method: 'linear', models, dtype: 'bfloat16', out_dtype: 'float32' });
  assert.deepEqual(storedDtypes(compute.out), new Set(['F32']));
  for (const name of NAMES) assertClose(name, compute.got.get(name), zip([a.get(name)!, b.get(name)!], (x, y) => bf16((bf16(x) + 3 * bf16(y)) / 4)), 0);
  const stored = await runRecipe({ merge_method: 'linear', models, dtype: 'float32', out_dtype: 'bfloat16' });
  assert.deepEqual(storedDtypes(stored.out), new Set(['BF16']));
  for (const name of NAMES) assertClose(name, stored.got.get(name), zip([a.get(name)!, b.get(name)!], (x, y) => bf16(Math.fround((x + 3 * y) / 4))), 0);
});

test('int8_mask and tokenizer_source are accepted, change no value, and say so', async () => {
  const models = [{ model: A, parameters: { weight: 0.5, density: 0.5 } }, { model: B, parameters: { weight: 0.5, density: 0.5 } }];
  const plain = await runRecipe({ merge_method: 'ties', base_model: BASE, models });
  const flagged = await runRecipe({ merge_method: 'ties', base_model: BASE, models, parameters: { int8_mask: true }, tokenizer_source: 'base' });
  for (const name of NAMES) assert.deepEqual(flagged.got.get(name), plain.got.get(name), name);
  const notes = flagged.result.notes.join('\n');
  assert.match(notes, /int8_mask: true only changes the memory type/);
  assert.match(notes, /tokenizer_source: base — every model has the same vocabulary \(checked\).*base-mlm's/);
  assert.deepEqual(fs.readFileSync(path.join(flagged.out, 'vocab.txt')), fs.readFileSync(path.join(BASE, 'vocab.txt')));
  const union = await runRecipe({ merge_method: 'ties', base_model: BASE, models, tokenizer_source: 'union' });
  assert.match(union.result.notes.join('\n'), /tokenizer_source: union/);
});

test('classifier rows: by label name (bertfuse, default) or by position (mergekit, label_match: position)', async () => {
  const swapped = relabelled('sst2-sibling-a', ['positive', 'negative'], [1, 0]);
  const s = tensors(swapped);
  const models = [{ model: A, parameters: { weight: 1 } }, { model: swapped, parameters: { weight: 1 } }];
  const byName = await runRecipe({ merge_method: 'linear', models });
  // Aligned by name, the two are the same model.
  assertClose('classifier.weight', byName.got.get('classifier.weight'), a.get('classifier.weight')!);
  const byPosition = await runRecipe({ merge_method: 'linear', models, label_match: 'position' });
  assertClose('classifier.weight', byPosition.got.get('classifier.weight'), zip([a.get('classifier.weight')!, s.get('classifier.weight')!], (x, y) => (x + y) / 2));
  assertClose('classifier.bias', byPosition.got.get('classifier.bias'), zip([a.get('classifier.bias')!, s.get('classifier.bias')!], (x, y) => (x + y) / 2));
  assert.deepEqual(byPosition.result.tasks[0]!.labels, ['negative', 'positive']);
});
