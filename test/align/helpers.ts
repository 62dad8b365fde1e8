import { loadCheckpoint, type Checkpoint } from '../../src/checkpoint/load.js';
import { MemoryTensorStore, type Tensor } from '../../src/checkpoint/tensor-store.js';
import { buildBertModel } from '../../src/graph/bert-model.js';
import { encodeModel } from '../../src/graph/onnx-builder.js';
import { GraphRunner } from '../../src/runtime/runner.js';
import { headPermutation, type Permutations } from '../../src/align/permutation.js';
import { permuteNamed } from '../../src/align/rules.js';
import { MergeSource } from '../../src/merge/sources.js';
import { Rng } from '../../src/util/rng.js';
import { fixture, reference } from '../helpers/fixtures.js';

/** Random permutations of every group of a fixture-sized classifier, heads kept as blocks. */
export function randomPermutations(ckpt: Checkpoint, seed: number): Map<string, Int32Array> {
  const rng = new Rng(seed);
  const c = ckpt.config;
  const shuffle = (n: number): Int32Array => Int32Array.from(rng.shuffle(Array.from({ length: n }, (_, i) => i)));
  const d = c.hiddenSize / c.numHeads;
  const perms = new Map<string, Int32Array>([['residual', shuffle(c.hiddenSize)], ['pooler', shuffle(c.hiddenSize)]]);
  for (let i = 0; i < c.numLayers; i++) {
    const heads = shuffle(c.numHeads);
    perms.set(`qk.${i}`, headPermutation(heads, Array.from({ length: c.numHeads }, () => shuffle(d)), d));
    perms.set(`vo.${i}`, headPermutation(heads, Array.from({ length: c.numHeads }, () => shuffle(d)), d));
    perms.set(`ffn.${i}`, shuffle(c.intermediateSize));
  }
  return perms;
}

/** The checkpoint with every tensor permuted, in memory (same config, tokenizer, store names). */
export function permutedCheckpoint(ckpt: Checkpoint, perms: Permutations): Checkpoint {
  const src = new MergeSource(ckpt, 'member');
  const map = new Map<string, Tensor>();
  for (const canonical of src.canonicalNames()) {
    const t = src.readLabelAligned(canonical);
    map.set(src.storeName(canonical), { shape: t.shape, data: permuteNamed(src.alignment, canonical, t, perms) });
  }
  return { ...ckpt, tensors: new MemoryTensorStore(map, `${ckpt.name} (permuted)`), close: () => {} };
}

/** Logits of the reference inputs through our ONNX graph (rows in reference order). */
export async function referenceLogits(ckpt: Checkpoint): Promise<Float32Array> {
  const runner = await GraphRunner.create(encodeModel(buildBertModel(ckpt)), [{ suffix: '', tokenizer: ckpt.tokenizer }], { threads: 1 });
  try {
    const inputs = reference('sst2-sibling-a').inputs.map((r) => ({ text: r.text, textPair: r.text_pair }));
    return (await runner.run(inputs, { outputs: ['logits'] }))['logits']!.data;
  } finally {
    await runner.close();
  }
}

export function openFixture(name: string): Checkpoint {
  return loadCheckpoint(fixture(name));
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}
