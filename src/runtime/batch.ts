import type { Encoded } from '../checkpoint/tokenizer.js';

/** One padded batch as int64 arrays [batch, seq], padded to the longest row in it. */
export interface PaddedBatch {
  readonly inputIds: BigInt64Array;
  readonly attentionMask: BigInt64Array;
  readonly tokenTypeIds: BigInt64Array;
  readonly dims: readonly [number, number];
}

export function padBatch(rows: readonly Encoded[], padId: number, padTo?: number): PaddedBatch {
  const seq = padTo ?? Math.max(1, ...rows.map((r) => r.inputIds.length));
  const n = rows.length;
  const ids = new BigInt64Array(n * seq).fill(BigInt(padId));
  const mask = new BigInt64Array(n * seq);
  const types = new BigInt64Array(n * seq);
  rows.forEach((r, b) => {
    for (let t = 0; t < r.inputIds.length; t++) {
      ids[b * seq + t] = BigInt(r.inputIds[t]!);
      mask[b * seq + t] = 1n;
      types[b * seq + t] = BigInt(r.tokenTypeIds[t]!);
    }
  });
  return { inputIds: ids, attentionMask: mask, tokenTypeIds: types, dims: [n, seq] };
}

/**
 * Batches of row indices. With `bucket`, rows are sorted by length first so each batch pads to
 * a similar length (dynamic padding wastes little); callers restore order by index. `maxTokens`
 * bounds rows × padded length, so one batch's run time is bounded whatever the texts' lengths.
 */
export function planBatches(lengths: readonly number[], batchSize: number, bucket = true, maxTokens = Infinity): number[][] {
  const order = lengths.map((_, i) => i);
  if (bucket) order.sort((a, b) => lengths[a]! - lengths[b]! || a - b);
  const out: number[][] = [];
  let cur: number[] = [];
  let longest = 0;
  for (const i of order) {
    // A batch costs about rows × its longest row (everything pads to it): start a new one before
    // adding a row would pass either bound. One row alone may pass maxTokens; it cannot be split.
    const next = Math.max(longest, lengths[i]!);
    if (cur.length > 0 && (cur.length >= batchSize || (cur.length + 1) * next > maxTokens)) {
      out.push(cur);
      cur = [];
      longest = 0;
    }
    cur.push(i);
    longest = Math.max(longest, lengths[i]!);
  }
  if (cur.length > 0) out.push(cur);
  return out;
}
