import { forwardFlops } from '../src/architectures/flops.js';
import type { ModelConfig } from '../src/architectures/types.js';

/**
 * Matrix-product FLOPs (2 per multiply-add) of one forward pass for `batch` sequences of `seq`
 * tokens, by the per-family formula in src/architectures/flops.ts (the same one eval's cost column
 * uses). For BERT:
 *
 *   total = B · [ L · S · (8H² + 4HI + 4SH) + 2H² + 2H·labels ]
 *
 * Embedding gathers, LayerNorm, softmax and GELU are left out (they are memory-bound and cost a
 * few percent), so the achieved GFLOP/s is a slight underestimate of the work done.
 */
export function encoderFlops(cfg: ModelConfig, batch: number, seq: number, labels = 2): number {
  return batch * forwardFlops(cfg, seq, labels);
}

