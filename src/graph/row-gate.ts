import type { EncoderInputs } from './bert-graph.js';
import { attr, type GraphBuilder } from './onnx-builder.js';

/**
 * Row gating inside ONE graph, without `If` (whose condition must be a scalar, so it cannot
 * choose per row): the rows a gate lets through are gathered into a smaller batch, a member runs
 * on that batch only, and its outputs are scattered back to their rows. A batch with no row let
 * through becomes a zero-row batch, which onnxruntime runs at no cost (checked for the plain and
 * the fused encoder).
 */
export interface GatedRows {
  /** Row indices [m] of the rows let through (int64). */
  readonly index: string;
  /** The same as [m, 1], as ScatterND wants it. */
  readonly scatterIndex: string;
}

/** Indices of the rows where `mask` (bool [batch]) is true. */
export function gatedRows(g: GraphBuilder, mask: string, hint: string): GatedRows {
  const nz = g.op('NonZero', [mask], {}, { name: `${hint}_nonzero` }); // [1, m]
  const index = g.op('Reshape', [nz, g.constInt64([-1], [1], `${hint}_flat`)], {}, { name: `${hint}_rows` });
  const scatterIndex = g.op('Unsqueeze', [index, g.constInt64([1], [1], `${hint}_axis1`)], {}, { name: `${hint}_scatter_rows` });
  return { index, scatterIndex };
}

/**
 * One tokenizer group's inputs restricted to the gated rows, and cut to the longest of those rows
 * (right padding: positions past every row's length are padding), so short escalated rows do not
 * pay for a long row that stayed behind. The length is at least 1, which also keeps a zero-row
 * batch well-formed.
 */
export function gatherInputs(g: GraphBuilder, inputs: EncoderInputs, rows: GatedRows, hint: string): EncoderInputs {
  const pick = (v: string, name: string): string => g.op('Gather', [v, rows.index], { axis: attr.int(0) }, { name: `${hint}_${name}` });
  const mask = pick(inputs.attentionMask, 'mask_rows');
  const lengths = g.op('ReduceSum', [mask, g.constInt64([1], [1], `${hint}_len_axis`)], { keepdims: attr.int(0) }, { name: `${hint}_lengths` });
  const withOne = g.op('Concat', [g.constInt64([1], [1], `${hint}_min_len`), lengths], { axis: attr.int(0) }, { name: `${hint}_lengths1` });
  const longest = g.op('ReduceMax', [withOne], { keepdims: attr.int(1) }, { name: `${hint}_longest` });
  const cut = (v: string, name: string): string =>
    g.op('Slice', [v, g.constInt64([0], [1], `${hint}_${name}_start`), longest, g.constInt64([1], [1], `${hint}_${name}_axis`)], {}, { name: `${hint}_${name}_cut` });
  return {
    inputIds: cut(pick(inputs.inputIds, 'ids_rows'), 'ids'),
    attentionMask: cut(mask, 'mask'),
    tokenTypeIds: inputs.tokenTypeIds === null ? null : cut(pick(inputs.tokenTypeIds, 'types_rows'), 'types'),
  };
}

/** [m, k] values of the gated rows placed into a [batch, k] tensor of zeros shaped like `like`. */
export function scatterRows(g: GraphBuilder, values: string, rows: GatedRows, like: string, hint: string): string {
  // ConstantOfShape without a `value` attribute is float32 zeros (ONNX default).
  const zeros = g.op('ConstantOfShape', [g.op('Shape', [like], {}, { name: `${hint}_shape` })], {}, { name: `${hint}_zeros` });
  return g.op('ScatterND', [zeros, rows.scatterIndex, values], {}, { name: `${hint}_scatter` });
}
