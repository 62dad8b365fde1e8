import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { permuteByParts, type FamilyAlignment } from '../../src/align/axis-parts.js';
import { headPermutation, identity } from '../../src/align/permutation.js';
import { debertaV2Alignment } from '../../src/architectures/deberta-v2.js';
import { modernBertAlignment } from '../../src/architectures/modernbert.js';
import { familyOf } from '../../src/architectures/registry.js';
import { loadCheckpoint, type Checkpoint } from '../../src/checkpoint/load.js';
import { MemoryTensorStore, type Tensor, type TensorStore } from '../../src/checkpoint/tensor-store.js';
import { PLAIN_OPS } from '../../src/graph/bert-graph.js';
import { encodeModel, GraphBuilder } from '../../src/graph/onnx-builder.js';
import { createSession, int64Tensor, runSession } from '../../src/runtime/session.js';
import { Rng } from '../../src/util/rng.js';
import { familyFixture, familyReference } from './family-fixture.js';

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

/** Logits of the checkpoint's graph with `tensors` in place of its own, for the given id rows (batch 1 each). */
async function logits(ckpt: Checkpoint, tensors: TensorStore, rows: readonly number[][]): Promise<number[]> {
  const g = new GraphBuilder('alignment');
  const inputs = { inputIds: g.input('input_ids', 'int64', ['batch', 'sequence']), attentionMask: g.input('attention_mask', 'int64', ['batch', 'sequence']), tokenTypeIds: null };
  const out = familyOf(ckpt.config).emit(g, { config: ckpt.config, prefix: ckpt.prefix, tensors }, inputs, { ops: PLAIN_OPS });
  g.output(out.logits!, 'logits', 'float', ['batch', 2]);
  const session = await createSession(encodeModel(g.toModel()), { threads: 1 });
  try {
    const all: number[] = [];
    for (const ids of rows) {
      const dims = [1, ids.length];
      const res = await runSession(session, { input_ids: int64Tensor(BigInt64Array.from(ids, BigInt), dims), attention_mask: int64Tensor(new BigInt64Array(ids.length).fill(1n), dims) });
      all.push(...res['logits']!.data);
    }
    return all;
  } finally {
    await session.release();
  }
}

async function maxLogitDiff(ckpt: Checkpoint, permutedStore: TensorStore, rows: number[][]): Promise<number> {
  const [a, b] = [await logits(ckpt, ckpt.tensors, rows), await logits(ckpt, permutedStore, rows)];
  return Math.max(...a.map((v, i) => Math.abs(v - b[i]!)));
}

const rowsOf = (name: string): number[][] => familyReference(name).inputs.filter((_, i) => i % 4 === 0).map((x) => x.input_ids);

describe('ModernBERT alignment: which permutations keep the function', () => {
  const name = 'modernbert-sst2';
  const ckpt = loadCheckpoint(familyFixture(name));
  after(() => ckpt.close());
  const store = ckpt.tensors;
  const sizes: Sizes = { hidden: 64, heads: 4, layers: 3, ffn: ckpt.config.intermediateSize, headGroup: 'head' };
  const rows = rowsOf(name);

  test('residual, whole heads (q, k, v, Wo together), value units inside heads, GeGLU units (both halves), head units: logits unchanged', async () => {
    assert.equal(modernBertAlignment.qkWithinHead, 'fixed');
    const d = await maxLogitDiff(ckpt, permuted(store, modernBertAlignment, randomPerms(sizes, false, 7)), rows);
    assert.ok(d < 1e-4, `permuted model's logits differ by ${d}`);
  });

  test('refused: q/k units moved inside a head (rotary pairs) change the function', async () => {
    const d = await maxLogitDiff(ckpt, permuted(store, modernBertAlignment, randomPerms(sizes, true, 7)), rows);
    assert.ok(d > 1e-2, `within-head q/k permutation only moved logits by ${d}`);
  });

  test('refused: a GeGLU half permuted without its gate changes the function', async () => {
    const perms = randomPerms(sizes, false, 7);
    const halfOnly = (n: string): ReturnType<FamilyAlignment['axes']> => {
      const m = /layers\.(\d+)\.mlp\.Wi\.weight$/.exec(n);
      return m ? [[`ffn.${m[1]}`, null], ['residual']] : null;
    };
    const d = await maxLogitDiff(ckpt, permuted(store, modernBertAlignment, perms, halfOnly), rows);
    assert.ok(d > 1e-2, `half-permuted GeGLU only moved logits by ${d}`);
  });
});

describe('DeBERTa-v3 alignment: which permutations keep the function', () => {
  const name = 'deberta-sst2';
  const ckpt = loadCheckpoint(familyFixture(name));
  after(() => ckpt.close());
  const store = ckpt.tensors;
  const sizes: Sizes = { hidden: 64, heads: 4, layers: 2, ffn: ckpt.config.intermediateSize, headGroup: 'pooler' };

  test('residual (with rel_embeddings), heads, q/k and v/o units inside heads, FFN and pooler units: logits unchanged', async () => {
    assert.equal(debertaV2Alignment.qkWithinHead, 'free');
    const d = await maxLogitDiff(ckpt, permuted(store, debertaV2Alignment, randomPerms(sizes, true, 11)), rowsOf(name));
    assert.ok(d < 1e-4, `permuted model's logits differ by ${d}`);
  });

  test('refused: leaving rel_embeddings out of the residual permutation changes the function', async () => {
    const keep = (n: string): ReturnType<FamilyAlignment['axes']> => (/rel_embeddings|encoder\.LayerNorm/.test(n) ? (n.endsWith('rel_embeddings.weight') ? [[null], [null]] : [[null]]) : null);
    const d = await maxLogitDiff(ckpt, permuted(store, debertaV2Alignment, randomPerms(sizes, true, 11), keep), rowsOf(name));
    assert.ok(d > 1e-2, `rel_embeddings left unpermuted only moved logits by ${d}`);
  });
});
