import { attr, type GraphBuilder } from './onnx-builder.js';

/**
 * DeBERTa's relative positions. The attention between query i and key j reads row
 * c(i, j) = clamp(bucket(i − j) + span, 0, 2·span − 1) of the relative embeddings.
 *
 * c depends only on δ = i − j, and saturates (0 below, 2·span − 1 above) once |δ| reaches some
 * `reach`. So the graph gathers c from a small exact integer table over δ ∈ [−reach, reach] with δ
 * clamped to that range: every sequence length works (dynamic axes, no max_position cap), and the
 * bucket arithmetic — whose float32 logarithms decide boundary cases such as |δ| = 127 — is done
 * once here with PyTorch's float32 rounding instead of by onnxruntime's Log kernel.
 */

const f = Math.fround;

/**
 * Hugging Face's make_log_bucket_position for one δ, evaluated with float32 rounding at each step
 * as PyTorch does: distances up to mid = buckets/2 stay themselves, larger ones are compressed
 * logarithmically so that max_position − 1 maps to mid + (mid − 1).
 */
export function logBucket(delta: number, buckets: number, maxPosition: number): number {
  const mid = Math.floor(buckets / 2);
  const abs = Math.abs(delta);
  if (abs <= mid) return delta;
  const ratio = f(f(Math.log(f(abs / mid))) / f(Math.log(f((maxPosition - 1) / mid))));
  const logPos = Math.ceil(f(ratio * (mid - 1))) + mid;
  return Math.sign(delta) * logPos;
}

export interface RelativePositionSpec {
  /** `position_buckets` (> 0: log buckets; ≤ 0: plain distances). */
  readonly buckets: number;
  /** `max_relative_positions` after defaulting (−1 → max_position_embeddings). */
  readonly maxRelativePositions: number;
}

/** Rows of the relative embedding table used (2·span), and span itself. */
export function attentionSpan(spec: RelativePositionSpec): number {
  return spec.buckets > 0 ? spec.buckets : spec.maxRelativePositions;
}

/** c(δ) for δ = −reach..reach (index δ + reach), and reach: beyond it c no longer changes. */
export function relativeIndexTable(spec: RelativePositionSpec): { table: number[]; reach: number } {
  const span = attentionSpan(spec);
  const index = (d: number): number => {
    const b = spec.buckets > 0 ? logBucket(d, spec.buckets, spec.maxRelativePositions) : d;
    return Math.min(Math.max(b + span, 0), 2 * span - 1);
  };
  let reach = 0;
  // The bucket grows with |δ| (logarithmically at worst), so both ends saturate; the bound only
  // guards against a config that never does (e.g. max_position ≤ mid).
  while ((index(reach) !== 2 * span - 1 || index(-reach) !== 0) && reach < 1 << 20) reach++;
  const table: number[] = [];
  for (let d = -reach; d <= reach; d++) table.push(index(d));
  return { table, reach };
}

/** The int64 [S, S] matrix c(i, j) from the int64 positions [S] = 0..S−1. */
export function emitRelativeIndex(g: GraphBuilder, pos: string, spec: RelativePositionSpec, name: string): string {
  const { table, reach } = relativeIndexTable(spec);
  const rows = g.op('Unsqueeze', [pos, g.constInt64([1], [1], `${name}_axis1`)], {}, { name: `${name}_rows` });
  const cols = g.op('Unsqueeze', [pos, g.constInt64([0], [1], `${name}_axis0`)], {}, { name: `${name}_cols` });
  const delta = g.op('Sub', [rows, cols], {}, { name: `${name}_delta` });
  const clipped = g.op('Clip', [delta, g.constInt64([-reach], [], `${name}_lo`), g.constInt64([reach], [], `${name}_hi`)], {}, { name: `${name}_clip` });
  const at = g.op('Add', [clipped, g.constInt64([reach], [], `${name}_reach`)], {}, { name: `${name}_at` });
  return g.op('Gather', [g.constInt64(table, [table.length], `${name}_table`), at], { axis: attr.int(0) }, { name });
}
