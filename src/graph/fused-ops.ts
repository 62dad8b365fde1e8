import { attr, type GraphBuilder } from './onnx-builder.js';

/**
 * onnxruntime's contrib operators (domain `com.microsoft`). Each one replaces a chain of plain
 * ONNX ops with a single CPU kernel; they load only in onnxruntime, so every caller also keeps the
 * plain-ONNX path. Semantics follow onnxruntime's ContribOperators.md.
 */
export const MS_DOMAIN = 'com.microsoft';

export interface AttentionArgs {
  /** [batch, seq, hidden] */
  readonly input: string;
  /** Q, K and V weights side by side: [hidden, 3·hidden] (columns q | k | v). */
  readonly weights: string;
  /** [3·hidden] */
  readonly bias: string;
  /** int32 [batch, seq] raw mask (1 attend, 0 padded). */
  readonly mask: string;
  readonly numHeads: number;
  /** Additive value for masked keys; Hugging Face uses float32.min. */
  readonly maskFilterValue: number;
  readonly name: string;
}

/** Self-attention with the Q/K/V projections inside: output [batch, seq, hidden] before the output dense. */
export function attention(g: GraphBuilder, a: AttentionArgs): string {
  return g.op('Attention', [a.input, a.weights, a.bias, a.mask], { num_heads: attr.int(a.numHeads), mask_filter_value: attr.float(a.maskFilterValue) }, { name: a.name, domain: MS_DOMAIN });
}

export interface MultiHeadAttentionArgs {
  /** Projected (bias not yet added) query, key and value, each [batch, seq, hidden]. */
  readonly query: string;
  readonly key: string;
  readonly value: string;
  /** [3·hidden]: q | k | v projection biases, added inside the kernel. */
  readonly bias: string;
  /** int32 [batch, seq] key padding mask (1 attend, 0 padded). */
  readonly keyPaddingMask: string;
  readonly numHeads: number;
  readonly maskFilterValue: number;
  readonly name: string;
}

/** Attention over already-projected Q/K/V, so the projections can be quantised MatMuls. */
export function multiHeadAttention(g: GraphBuilder, a: MultiHeadAttentionArgs): string {
  return g.op('MultiHeadAttention', [a.query, a.key, a.value, a.bias, a.keyPaddingMask], { num_heads: attr.int(a.numHeads), mask_filter_value: attr.float(a.maskFilterValue) }, { name: a.name, domain: MS_DOMAIN });
}

export interface SkipLayerNormArgs {
  readonly input: string;
  readonly skip: string;
  readonly gamma: string;
  readonly beta: string;
  /** Added to input + skip before normalising (the preceding dense layer's bias). */
  readonly bias?: string;
  readonly epsilon: number;
  readonly name: string;
}

/** LayerNorm(input + skip + bias): the residual add, the dense bias and the norm in one kernel. */
export function skipLayerNorm(g: GraphBuilder, a: SkipLayerNormArgs): string {
  const inputs = [a.input, a.skip, a.gamma, a.beta, ...(a.bias ? [a.bias] : [])];
  return g.op('SkipLayerNormalization', inputs, { epsilon: attr.float(a.epsilon) }, { name: a.name, domain: MS_DOMAIN });
}

/** gelu(x + bias), exact erf form. */
export function biasGelu(g: GraphBuilder, x: string, bias: string, name: string): string {
  return g.op('BiasGelu', [x, bias], {}, { name, domain: MS_DOMAIN });
}

/** gelu(x + bias), tanh approximation (Hugging Face's `gelu_new`). */
export function fastGelu(g: GraphBuilder, x: string, bias: string, name: string): string {
  return g.op('FastGelu', [x, bias], {}, { name, domain: MS_DOMAIN });
}

export interface EmbedLayerNormArgs {
  /** int32 [batch, seq] */
  readonly inputIds: string;
  /** int32 [batch, seq]; null for families without token types (no segment table either). */
  readonly segmentIds: string | null;
  readonly wordEmbedding: string;
  readonly positionEmbedding: string;
  readonly segmentEmbedding: string | null;
  /** int32 [batch, seq] position ids (RoBERTa's come from the input ids); null: 0..S-1. */
  readonly positionIds: string | null;
  readonly gamma: string;
  readonly beta: string;
  readonly epsilon: number;
  readonly name: string;
}

/** LayerNorm(word[ids] + position[position ids or 0..S-1] (+ segment[type ids])) in one kernel. */
export function embedLayerNorm(g: GraphBuilder, a: EmbedLayerNormArgs): string {
  if ((a.segmentIds === null) !== (a.segmentEmbedding === null)) throw new Error('EmbedLayerNormalization: segment ids and segment table go together');
  // Optional inputs are skipped with "" (ContribOperators.md: 0 input_ids, 1 segment_ids,
  // 2 word, 3 position, 4 segment table, 5 gamma, 6 beta, 7 mask, 8 position_ids). The mask input
  // is left out: its mask_index output assumes right padding, and our attention takes the raw 2-D
  // mask instead, which is right for any padding side. The second output (mask_index) is required
  // by the schema and unused.
  const inputs = [a.inputIds, a.segmentIds ?? '', a.wordEmbedding, a.positionEmbedding, a.segmentEmbedding ?? '', a.gamma, a.beta];
  if (a.positionIds) inputs.push('', a.positionIds);
  const [out] = g.node('EmbedLayerNormalization', inputs, { epsilon: attr.float(a.epsilon) }, { name: a.name, domain: MS_DOMAIN, outputs: [a.name, `${a.name}_mask_index`] });
  return out!;
}
