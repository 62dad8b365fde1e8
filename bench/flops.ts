import type { BertConfig } from '../src/checkpoint/config.js';

/**
 * Multiply-add FLOPs (2 per MAC) of one BERT encoder forward pass for `batch` sequences of
 * `seq` tokens, counting the matrix products only (they are >98% of the work at BERT-base):
 *
 *   per layer and token:  2·(4·H² + 2·H·I)       Q, K, V, attention-output and the two FFN dense layers
 *   per layer and token:  2·(2·S·H)              scores QKᵀ and probs·V
 *   heads (once per seq): 2·H² + 2·H·labels      pooler on [CLS] and the classifier
 *
 *   total = B · [ L · S · (8H² + 4HI + 4SH) + 2H² + 2H·labels ]
 *
 * Embedding gathers, LayerNorm, softmax and GELU are left out (they are memory-bound and cost a
 * few percent), so the achieved GFLOP/s is a slight underestimate of the work done.
 */
export function encoderFlops(cfg: Pick<BertConfig, 'hiddenSize' | 'intermediateSize' | 'numLayers'>, batch: number, seq: number, labels = 2): number {
  const H = cfg.hiddenSize;
  const I = cfg.intermediateSize;
  const L = cfg.numLayers;
  return batch * (L * seq * (8 * H * H + 4 * H * I + 4 * seq * H) + 2 * H * H + 2 * H * labels);
}

/** FLOPs of an [m, k] · [k, n] matrix product. */
export function matmulFlops(m: number, k: number, n: number): number {
  return 2 * m * k * n;
}
