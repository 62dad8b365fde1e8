import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { permuteByParts, type FamilyAlignment } from '../../src/align/axis-parts.js';
import { headPermutation, identity } from '../../src/align/permutation.js';
import { debertaV2Alignment, emitDebertaV2, parseDebertaV2Config } from '../../src/architectures/deberta-v2.js';
import { emitModernBert, modernBertAlignment, parseModernBertConfig } from '../../src/architectures/modernbert.js';
import { SafetensorsFile } from '../../src/checkpoint/safetensors.js';
import { MemoryTensorStore, type Tensor, type TensorStore } from '../../src/checkpoint/tensor-store.js';
import { Rng } from '../../src/util/rng.js';
import { buildGraph, familyFixture, familyReference, runPadded, type Emit } from './family-reference.js';

interface Sizes {
  hidden: number;
  heads: number;
  layers: number;
  ffn: number;
  headGroup: string;
}

function shuffled(rng: Rng, n: number): Int32Array {
  const p = identity(n);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    [p[i], p[j]] = [p[j]!, p[i]!];
  }
  return p;
}

/** Random permutations of every group; q/k units inside a head move only when `qkWithin` says so. */
function randomPerms(s: Sizes, qkWithin: boolean, seed: number): Map<string, Int32Array> {
  const rng = new Rng(seed);
  const d = s.hidden / s.heads;
  const perms = new Map<string, Int32Array>([['residual', shuffled(rng, s.hidden)], [s.headGroup, shuffled(rng, s.hidden)]]);
  for (let i = 0; i < s.layers; i++) {
    const heads = shuffled(rng, s.heads);
    const within = (free: boolean): Int32Array[] => Array.from({ length: s.heads }, () => (free ? shuffled(rng, d) : identity(d)));
    perms.set(`qk.${i}`, headPermutation(heads, within(qkWithin), d));
    perms.set(`vo.${i}`, headPermutation(heads, within(true), d));
    perms.set(`ffn.${i}`, shuffled(rng, s.ffn));
  }
  return perms;
}

function permuted(store: TensorStore, alignment: FamilyAlignment, perms: Map<string, Int32Array>, override?: (name: string) => ReturnType<FamilyAlignment['axes']>): TensorStore {
  const out = new Map<string, Tensor>();
  for (const name of store.names()) {
    const axes = override?.(name) ?? alignment.axes(name);
    assert.ok(axes, `no permutation rule for ${name}`);
    const t = store.read(name);
    out.set(name, { shape: t.shape, data: permuteByParts(t, axes, perms) });
  }
  return new MemoryTensorStore(out);
}

async function maxLogitDiff(emit: (t: TensorStore) => Emit, a: TensorStore, b: TensorStore, rows: number[][]): Promise<number> {
  const [x, y] = await Promise.all([a, b].map((t) => runPadded(buildGraph(emit(t), 64, 2), rows, 0)));
  const la = x!.out['logits']!.data;
  const lb = y!.out['logits']!.data;
  let worst = 0;
  for (let i = 0; i < la.length; i++) worst = Math.max(worst, Math.abs(la[i]! - lb[i]!));
  return worst;
}

const readConfig = (name: string): Record<string, unknown> => JSON.parse(fs.readFileSync(path.join(familyFixture(name), 'config.json'), 'utf8')) as Record<string, unknown>;
const rowsOf = (name: string): number[][] => familyReference(name).inputs.filter((_, i) => i % 4 === 0).map((x) => x.input_ids);

describe('ModernBERT alignment: which permutations keep the function', () => {
  const name = 'modernbert-sst2';
  const config = parseModernBertConfig(readConfig(name), name);
  const store = SafetensorsFile.open(path.join(familyFixture(name), 'model.safetensors'));
  const emit = (tensors: TensorStore): Emit => (g, i) => emitModernBert(g, { config, tensors, prefix: 'model.' }, i);
  const sizes: Sizes = { hidden: 64, heads: 4, layers: 3, ffn: config.intermediateSize, headGroup: 'head' };
  const rows = rowsOf(name);

  test('residual, whole heads (q, k, v, Wo together), value units inside heads, GeGLU units (both halves), head units: logits unchanged', async () => {
    assert.equal(modernBertAlignment.qkWithinHead, 'fixed');
    const d = await maxLogitDiff(emit, store, permuted(store, modernBertAlignment, randomPerms(sizes, false, 7)), rows);
    assert.ok(d < 1e-4, `permuted model's logits differ by ${d}`);
  });

  test('refused: q/k units moved inside a head (rotary pairs) change the function', async () => {
    const d = await maxLogitDiff(emit, store, permuted(store, modernBertAlignment, randomPerms(sizes, true, 7)), rows);
    assert.ok(d > 1e-2, `within-head q/k permutation only moved logits by ${d}`);
  });

  test('refused: a GeGLU half permuted without its gate changes the function', async () => {
    const perms = randomPerms(sizes, false, 7);
    const halfOnly = (n: string): ReturnType<FamilyAlignment['axes']> => {
      const m = /layers\.(\d+)\.mlp\.Wi\.weight$/.exec(n);
      return m ? [[`ffn.${m[1]}`, null], ['residual']] : null;
    };
    const d = await maxLogitDiff(emit, store, permuted(store, modernBertAlignment, perms, halfOnly), rows);
    assert.ok(d > 1e-2, `half-permuted GeGLU only moved logits by ${d}`);
  });
});

describe('DeBERTa-v3 alignment: which permutations keep the function', () => {
  const name = 'deberta-sst2';
  const config = parseDebertaV2Config(readConfig(name), name);
  const store = SafetensorsFile.open(path.join(familyFixture(name), 'model.safetensors'));
  const emit = (tensors: TensorStore): Emit => (g, i) => emitDebertaV2(g, { config, tensors, prefix: 'deberta.' }, i);
  const sizes: Sizes = { hidden: 64, heads: 4, layers: 2, ffn: config.intermediateSize, headGroup: 'pooler' };

  test('residual (with rel_embeddings), heads, q/k and v/o units inside heads, FFN and pooler units: logits unchanged', async () => {
    assert.equal(debertaV2Alignment.qkWithinHead, 'free');
    const d = await maxLogitDiff(emit, store, permuted(store, debertaV2Alignment, randomPerms(sizes, true, 11)), rowsOf(name));
    assert.ok(d < 1e-4, `permuted model's logits differ by ${d}`);
  });

  test('refused: leaving rel_embeddings out of the residual permutation changes the function', async () => {
    const keep = (n: string): ReturnType<FamilyAlignment['axes']> => (/rel_embeddings|encoder\.LayerNorm/.test(n) ? (n.endsWith('rel_embeddings.weight') ? [[null], [null]] : [[null]]) : null);
    const d = await maxLogitDiff(emit, store, permuted(store, debertaV2Alignment, randomPerms(sizes, true, 11), keep), rowsOf(name));
    assert.ok(d > 1e-2, `rel_embeddings left unpermuted only moved logits by ${d}`);
  });
});
