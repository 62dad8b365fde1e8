import assert from 'node:assert/strict';
import type { TrainBatch } from '../../src/train/gradient-session.js';
import { toCheckpointLayout, type TrainableParam } from '../../src/train/training-graph.js';

// Shared by the PyTorch gradient-reference tests (BERT: fixtures/grad-reference; the other families:
// fixtures/family/grad-reference): the batch a reference JSON describes, and the comparison of our
// gradients with PyTorch's, element by element.

export type ReferenceLoss = 'ce' | 'kd';

/** The fields both reference JSON files share. */
export interface GradReference {
  input_ids: number[][];
  attention_mask: number[][];
  token_type_ids: number[][];
  labels: number[];
  losses: { ce: { value: number }; kd: { value: number; T: number; soft_targets: number[][] } };
  logits: number[][];
  grad_norms: { ce: number; kd: number };
}

/** The reference's batch for one loss: one-hot labels for `ce`, the soft targets at weight 1 for `kd`. */
export function referenceBatch(ref: GradReference, loss: ReferenceLoss): TrainBatch {
  const b = ref.input_ids.length;
  const s = ref.input_ids[0]!.length;
  const c = ref.logits[0]!.length;
  const flat = (rows: number[][]): BigInt64Array => BigInt64Array.from(rows.flat().map((v) => BigInt(v)));
  const hard = new Float32Array(b * c);
  if (loss === 'ce') ref.labels.forEach((y, i) => (hard[i * c + y] = 1));
  return {
    inputIds: flat(ref.input_ids),
    attentionMask: flat(ref.attention_mask),
    tokenTypeIds: flat(ref.token_type_ids),
    dims: [b, s],
    hardTargets: hard,
    softTargets: Float32Array.from(ref.losses.kd.soft_targets.flat()),
    kdWeight: new Float32Array(b).fill(loss === 'kd' ? 1 : 0),
  };
}

/** A stored gradient: the whole tensor, or (`rows`) only those rows of it, every other row being 0. */
export interface StoredGradient {
  readonly data: Float32Array;
  readonly rows?: readonly number[];
}

export interface Comparison {
  /** Largest |ours − PyTorch| over every element of every parameter. */
  readonly worstAbs: number;
  /** Global L2 norm of our gradient. */
  readonly norm: number;
  /** Checkpoint tensors compared. */
  readonly tensors: string[];
}

/**
 * Every parameter's gradient (graph layout, `grads[k]` for `params[k]`) against PyTorch's: each
 * element within 1e-4 absolute, or 1e-3 relative on large entries; fails naming the first element
 * that is not.
 */
export function compareGradients(params: readonly TrainableParam[], grads: readonly Float32Array[], expected: (tensor: string) => StoredGradient): Comparison {
  let worstAbs = 0;
  let sq = 0;
  const tensors: string[] = [];
  params.forEach((p, k) => {
    const got = toCheckpointLayout(p, grads[k]!);
    const want = expected(p.tensor);
    const width = got.length / (p.transposed ? p.dims[1]! : p.dims[0]!);
    // Row r of the checkpoint tensor is stored at `at.get(r)`; rows not stored must be 0.
    const at = new Map((want.rows ?? Array.from({ length: got.length / width }, (_, r) => r)).map((r, i) => [r, i]));
    assert.equal(want.data.length, at.size * width, `${p.tensor}: stored gradient has ${want.data.length} values`);
    for (let i = 0; i < got.length; i++) {
      const row = at.get(Math.floor(i / width));
      const ref = row === undefined ? 0 : want.data[row * width + (i % width)]!;
      const err = Math.abs(got[i]! - ref);
      worstAbs = Math.max(worstAbs, err);
      sq += got[i]! * got[i]!;
      if (!(err <= 1e-4 || err <= 1e-3 * Math.abs(ref))) assert.fail(`${p.tensor}[${i}]: ${got[i]} vs PyTorch ${ref}`);
    }
    tensors.push(p.tensor);
  });
  return { worstAbs, norm: Math.sqrt(sq), tensors };
}
