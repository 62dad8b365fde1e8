import type { Tensor } from '../checkpoint/tensor-store.js';
import { gather, type Permutations } from './permutation.js';

/**
 * Permutation rules for fused tensors. An axis is described by the permutation groups it holds, in
 * equal consecutive parts: `['qk.0']` is a query weight's rows, `['qk.0', 'qk.0', 'vo.0']` the rows
 * of a fused Wqkv (q, k and v one after the other), `['ffn.0', 'ffn.0']` a GeGLU input whose
 * activated half and gate half must move together; `null` marks a part (or an axis) that stays.
 */
export type AxisParts = readonly (string | null)[];
/** One entry per tensor axis. */
export type TensorAxes = readonly AxisParts[];

/** The gather index of one axis of `size` units under `perms`, or null when nothing moves. */
export function axisIndex(parts: AxisParts, size: number, perms: Permutations): Int32Array | null {
  if (size % parts.length !== 0) throw new Error(`axis of ${size} units does not split into ${parts.length} parts`);
  const part = size / parts.length;
  if (parts.every((g) => g === null || !perms.has(g))) return null;
  const out = new Int32Array(size);
  parts.forEach((g, k) => {
    const p = g === null ? undefined : perms.get(g);
    if (p && p.length !== part) throw new Error(`group ${g} permutes ${p.length} units, the axis part has ${part}`);
    for (let i = 0; i < part; i++) out[k * part + i] = k * part + (p ? p[i]! : i);
  });
  return out;
}

/** The tensor with every axis permuted as its parts say. */
export function permuteByParts(t: Tensor, axes: TensorAxes, perms: Permutations): Float32Array {
  if (axes.length !== t.shape.length) throw new Error(`rule has ${axes.length} axes, tensor has ${t.shape.length}`);
  const p0 = axisIndex(axes[0]!, t.shape[0]!, perms);
  const p1 = axes.length > 1 ? axisIndex(axes[1]!, t.shape[1]!, perms) : null;
  return gather(t, p0, p1);
}

/**
 * What a family tells the aligner. Groups: `residual` (the hidden size everywhere), `qk.{i}` /
 * `vo.{i}` (layer i's heads: one head order shared by both, units inside a head free or fixed),
 * `ffn.{i}` (layer i's feed-forward units), and head groups named by the family.
 */
export interface FamilyAlignment {
  /** The groups on each axis of a tensor (by its name in the checkpoint), or null for a tensor no rule covers. */
  axes(name: string): TensorAxes | null;
  /**
   * `free`: inside a head, the query/key units may take any order shared by q and k. `fixed`:
   * only whole heads move (rotary embeddings tie each q/k unit to its position in the head).
   */
  readonly qkWithinHead: 'free' | 'fixed';
  /** What the alignment leaves in place and why, said to the user whenever it runs (one line). */
  readonly note?: string;
}

/** The groups on each axis of `name`; throws for a tensor no rule covers (callers refuse before that). */
export function tensorAxes(alignment: FamilyAlignment, name: string): TensorAxes {
  const axes = alignment.axes(name);
  if (!axes) throw new Error(`no permutation rule for tensor "${name}"`);
  return axes;
}

/** Rules: the first pattern that matches a name gives its axes (`$1` is the layer index). */
export type AxisRules = ReadonlyArray<readonly [RegExp, (layer: string) => TensorAxes]>;

/** A rule table's lookup. */
export function ruleTable(rules: AxisRules): (name: string) => TensorAxes | null {
  return (name) => {
    for (const [re, axes] of rules) {
      const m = re.exec(name);
      if (m) return axes(m[1] ?? '');
    }
    return null;
  };
}
