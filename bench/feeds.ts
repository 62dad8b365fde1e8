import ort from 'onnxruntime-node';
import { Rng } from '../src/util/rng.js';

/**
 * Random token ids, every position attended: the benchmark measures the graph, not the
 * tokenizer, and a fixed batch×seq shape keeps each timing comparable.
 */
export function syntheticFeeds(batch: number, seq: number, vocab: number, opts: { suffixes?: readonly string[]; seed?: number; tokenTypes?: boolean } = {}): Record<string, ort.Tensor> {
  const rng = new Rng(opts.seed ?? 7);
  const feeds: Record<string, ort.Tensor> = {};
  for (const suffix of opts.suffixes ?? ['']) {
    const ids = new BigInt64Array(batch * seq);
    for (let i = 0; i < ids.length; i++) ids[i] = BigInt(1000 + Math.floor(rng.next() * (vocab - 1000)));
    feeds[`input_ids${suffix}`] = new ort.Tensor('int64', ids, [batch, seq]);
    feeds[`attention_mask${suffix}`] = new ort.Tensor('int64', new BigInt64Array(batch * seq).fill(1n), [batch, seq]);
    if (opts.tokenTypes ?? true) feeds[`token_type_ids${suffix}`] = new ort.Tensor('int64', new BigInt64Array(batch * seq), [batch, seq]);
  }
  return feeds;
}
