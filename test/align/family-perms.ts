import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { headPermutation, identity, isIdentity } from '../../src/align/permutation.js';
import { permuteNamed } from '../../src/align/rules.js';
import type { Checkpoint } from '../../src/checkpoint/load.js';
import { writeSafetensorsFromMap } from '../../src/checkpoint/safetensors.js';
import type { Tensor } from '../../src/checkpoint/tensor-store.js';
import type { TextInput } from '../../src/checkpoint/tokenizer.js';
import { buildBertModel } from '../../src/graph/bert-model.js';
import { encodeModel } from '../../src/graph/onnx-builder.js';
import type { MergeSource } from '../../src/merge/sources.js';
import { GraphRunner } from '../../src/runtime/runner.js';
import { Rng } from '../../src/util/rng.js';

/* Random permutations of a family fixture by its own rules, and the runs that check them (align tests). */

/** The fixture's reference texts (a dozen of them: enough to exercise every unit, quick to run). */
export function referenceTexts(dir: string): TextInput[] {
  const ref = JSON.parse(fs.readFileSync(path.join(dir, 'reference.json'), 'utf8')) as { inputs: { text: string; text_pair: string | null }[] };
  return ref.inputs.slice(0, 12).map((r) => ({ text: r.text, textPair: r.text_pair }));
}

export async function logits(ckpt: Checkpoint, texts: readonly TextInput[]): Promise<Float32Array> {
  const runner = await GraphRunner.create(encodeModel(buildBertModel(ckpt)), [{ suffix: '', tokenizer: ckpt.tokenizer }], { threads: 1 });
  try {
    return (await runner.run(texts, { outputs: ['logits'] }))['logits']!.data;
  } finally {
    await runner.close();
  }
}

/** Every group the family's rules name for this checkpoint, with its size (an axis part's units). */
function groupSizes(src: MergeSource): Map<string, number> {
  const sizes = new Map<string, number>();
  for (const name of src.canonicalNames()) {
    const axes = src.alignment.axes(name);
    assert.ok(axes, `${src.ckpt.config.family}: no rule for ${name}`);
    const shape = src.readLabelAligned(name).shape;
    axes.forEach((parts, axis) => parts.forEach((g) => g !== null && sizes.set(g, shape[axis]! / parts.length)));
  }
  return sizes;
}

/**
 * A random permutation of every group, none the identity. Heads move as blocks in one order per
 * layer for q/k and v/o; inside a head the v/o units always shuffle, the q/k units only where the
 * family's rules say they may (ModernBERT's rotary: whole heads only).
 */
export function randomPerms(src: MergeSource, seed: number): Map<string, Int32Array> {
  const rng = new Rng(seed);
  const shuffle = (n: number): Int32Array => {
    for (;;) {
      const p = Int32Array.from(rng.shuffle(Array.from({ length: n }, (_, i) => i)));
      if (n < 2 || !isIdentity(p)) return p;
    }
  };
  const nh = src.ckpt.config.numHeads;
  const perms = new Map<string, Int32Array>();
  const heads = new Map<string, Int32Array>();
  for (const [g, n] of groupSizes(src)) {
    const m = /^(qk|vo)\.(\d+)$/.exec(g);
    if (!m) {
      perms.set(g, shuffle(n));
      continue;
    }
    const d = n / nh;
    if (!heads.has(m[2]!)) heads.set(m[2]!, shuffle(nh));
    const free = m[1] === 'vo' || src.alignment.qkWithinHead === 'free';
    perms.set(g, headPermutation(heads.get(m[2]!)!, Array.from({ length: nh }, () => (free ? shuffle(d) : identity(d))), d));
  }
  return perms;
}

/** The checkpoint with every tensor permuted by the family's rules, in memory (store names kept). */
export function permutedTensors(src: MergeSource, perms: ReadonlyMap<string, Int32Array>): Map<string, Tensor> {
  const map = new Map<string, Tensor>();
  for (const canonical of src.canonicalNames()) {
    const t = src.readLabelAligned(canonical);
    map.set(src.storeName(canonical), { shape: t.shape, data: permuteNamed(src.alignment, canonical, t, perms) });
  }
  return map;
}

/** A folder holding the fixture's config and tokenizer with the given weights. */
export function writeCopy(dir: string, tensors: Map<string, Tensor>, out: string): string {
  fs.mkdirSync(out, { recursive: true });
  for (const f of fs.readdirSync(dir)) if (f !== 'model.safetensors' && f !== 'reference.json') fs.copyFileSync(path.join(dir, f), path.join(out, f));
  writeSafetensorsFromMap(path.join(out, 'model.safetensors'), tensors);
  return out;
}
