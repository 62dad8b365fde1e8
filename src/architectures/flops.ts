import { attentionSpan } from '../graph/relative-position.js';
import { debertaV2Settings } from './deberta-v2.js';
import { modernBertSettings } from './modernbert.js';
import type { ModelConfig } from './types.js';

/**
 * Floating-point operations (2 per multiply-add) of one forward pass over one sequence of `len`
 * tokens, counting the matrix products only: they are nearly all the work, while embedding
 * gathers, LayerNorm, softmax, activations and biases are memory-bound and cost a few percent.
 * One function for every family, so the cost column of eval/combine and the bench's share of the
 * MatMul ceiling count the same work.
 *
 * BERT, RoBERTa, XLM-R, DistilBERT (post-LN layers; ModelConfig already maps DistilBERT's `dim`,
 * `hidden_dim`, `n_layers`), per layer and token:
 *   Q, K, V and attention output 4·H², feed-forward 2·H·I, scores QKᵀ and probs·V 2·len·H (MACs).
 * ELECTRA adds the embedding projection E·H per token when embedding_size E ≠ H.
 * ModernBERT: Wqkv 3·H², Wo H², GeGLU Wi H·2I (activated half and gate) and Wo I·H; a sliding-window
 *   layer's query attends only to keys within ⌊local_attention / 2⌋ positions (our graph computes the
 *   full scores and masks them; the count is the work the model needs, not what a kernel wastes).
 * DeBERTa-v3: BERT's layer plus, per attention kind in pos_att_type (c2p, p2c), one product of every
 *   query (key) against the 2k relative rows, k = position_buckets (or max_relative_positions):
 *   len·H·2k MACs each. The relative rows' own projections through query_proj/key_proj depend on the
 *   weights only (onnxruntime folds them at load), so they are not per-sequence work.
 * Heads, once per sequence: a classifier's hidden Linear (pooler, pre_classifier, classifier.dense,
 *   head.dense) H·P and its output P·labels; a masked-LM head per token H² + H·vocab; a bare encoder none.
 */
export function forwardFlops(cfg: ModelConfig, len: number, numLabels: number = cfg.labels?.length ?? 2): number {
  const H = cfg.hiddenSize;
  const I = cfg.intermediateSize;
  const L = cfg.numLayers;
  // Multiply-adds; doubled at the end.
  let macs = 0;
  let headWidth = H;
  switch (cfg.family) {
    case 'modernbert': {
      const m = modernBertSettings(cfg);
      const local = windowPairs(len, Math.floor(m.localAttention / 2));
      for (const type of m.layerTypes) {
        const pairs = type === 'full_attention' ? len * len : local;
        macs += len * (4 * H * H + 3 * H * I) + 2 * pairs * H;
      }
      break;
    }
    case 'deberta-v2': {
      const d = debertaV2Settings(cfg);
      headWidth = d.poolerHiddenSize;
      const relative = d.posAttType.length * len * H * 2 * attentionSpan(d.relative);
      macs += L * (len * (4 * H * H + 2 * H * I) + 2 * len * len * H + relative);
      break;
    }
    default: {
      const E = cfg.family === 'electra' ? ((cfg.extra['embeddingSize'] as number | undefined) ?? H) : H;
      if (E !== H) macs += len * E * H;
      macs += L * (len * (4 * H * H + 2 * H * I) + 2 * len * len * H);
    }
  }
  if (cfg.task === 'classify') macs += H * headWidth + headWidth * numLabels;
  else if (cfg.task === 'mlm') macs += len * (H * H + H * cfg.vocabSize);
  return 2 * macs;
}

/** FLOPs of running a model over rows of the given token lengths (its own tokenizer decides them). */
export function datasetFlops(cfg: ModelConfig, lengths: readonly number[], numLabels?: number): number {
  let total = 0;
  for (const len of lengths) total += forwardFlops(cfg, len, numLabels);
  return total;
}

/**
 * Query–key pairs of a sequence of `len` tokens where a key is seen when |query − key| ≤ half:
 * each query sees itself and up to `half` keys on either side.
 */
function windowPairs(len: number, half: number): number {
  if (len <= 0) return 0;
  // Σ_{i<len} min(i, half), counted once per side.
  const oneSide = len - 1 <= half ? (len * (len - 1)) / 2 : (half * (half + 1)) / 2 + (len - 1 - half) * half;
  return len + 2 * oneSide;
}
