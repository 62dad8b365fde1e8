import type { BertConfig } from '../checkpoint/config.js';

/**
 * Floating-point operations (2 per multiply-add) of one BERT classifier forward pass over `len`
 * tokens: Q/K/V/output projections (4·H²), the feed-forward pair (2·H·I), attention scores and
 * context (2·len·H), then pooler and classifier. Embedding lookups and LayerNorms are not counted:
 * they are memory-bound and small next to the matrix products.
 */
export function bertFlops(cfg: BertConfig, len: number, numLabels: number): number {
  const H = cfg.hiddenSize;
  const I = cfg.intermediateSize;
  const perLayer = 2 * len * (4 * H * H + 2 * H * I) + 2 * 2 * len * len * H;
  return cfg.numLayers * perLayer + 2 * H * H + 2 * H * numLabels;
}

/** FLOPs of running a member over rows of the given token lengths (its own tokenizer decides them). */
export function datasetFlops(cfg: BertConfig, lengths: readonly number[], numLabels: number): number {
  let total = 0;
  for (const len of lengths) total += bertFlops(cfg, len, numLabels);
  return total;
}

/** Costs relative to the cheapest (the cheapest is 1). */
export function relativeCosts(flops: readonly number[]): number[] {
  const min = Math.min(...flops);
  return flops.map((f) => (min > 0 ? f / min : 1));
}
