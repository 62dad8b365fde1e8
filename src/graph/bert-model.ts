import { familyOf } from '../architectures/registry.js';
import { GraphBuilder, type ModelProto } from './onnx-builder.js';
import { emitBert, type BertWeights, type EncoderOps } from './bert-graph.js';
import { quantizeGraph, type QuantizeMode, type QuantizeOptions } from './quantize.js';

export interface SingleModelOptions {
  /** Also expose pooled and [CLS] hidden states as outputs `pooled` and `cls_hidden`. */
  readonly embeddings?: boolean;
  /** Kernel choice for the encoder (default: DEFAULT_OPS, the fastest measured). */
  readonly ops?: Partial<EncoderOps>;
  /** Every weight as its own checkpoint tensor (EmitOptions.unfolded), as the training graph has them. */
  readonly unfolded?: boolean;
  /** Dynamic int8 quantisation of the encoder's linear layers (off by default: it changes outputs). */
  readonly quantize?: QuantizeMode | null;
  /** Kernel choice and weight range for `quantize`. */
  readonly quantizeOptions?: QuantizeOptions;
}

/** The standard one-model graph: inputs input_ids / attention_mask (/ token_type_ids when the family has token types), output logits. */
export function buildBertGraph(w: BertWeights, opts: SingleModelOptions = {}): GraphBuilder {
  const g = new GraphBuilder(`bertfuse_${w.config.architecture}`);
  const inputs = {
    inputIds: g.input('input_ids', 'int64', ['batch', 'sequence']),
    attentionMask: g.input('attention_mask', 'int64', ['batch', 'sequence']),
    tokenTypeIds: familyOf(w.config).tokenizer.tokenTypes ? g.input('token_type_ids', 'int64', ['batch', 'sequence']) : null,
  };
  const out = emitBert(g, w, inputs, { ...(opts.ops ? { ops: opts.ops } : {}), ...(opts.unfolded ? { unfolded: true } : {}) });
  if (opts.quantize === 'int8') quantizeGraph(g, opts.quantizeOptions);
  const H = w.config.hiddenSize;
  if (out.logits) {
    const dims = w.config.task === 'mlm' ? ['batch', 'sequence', w.config.vocabSize] : ['batch', w.config.labels?.length ?? 2];
    g.output(out.logits, 'logits', 'float', dims);
  } else {
    g.output(out.hidden, 'last_hidden_state', 'float', ['batch', 'sequence', H]);
  }
  if (opts.embeddings || !out.logits) {
    if (out.pooled) g.output(out.pooled, 'pooled', 'float', ['batch', H]);
    g.output(out.cls, 'cls_hidden', 'float', ['batch', H]);
  }
  return g;
}

export function buildBertModel(w: BertWeights, opts: SingleModelOptions = {}): ModelProto {
  return buildBertGraph(w, opts).toModel();
}
