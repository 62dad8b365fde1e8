import { BERT_CLASSIFIER, BERT_EMBEDDINGS, BERT_POOLER, MLM_HEAD, layerName, type LayerModule } from '../checkpoint/bert-names.js';
import type { Activation, BertConfig } from '../checkpoint/config.js';
import type { Tensor, TensorStore } from '../checkpoint/tensor-store.js';
import * as fused from './fused-ops.js';
import { attr, type GraphBuilder } from './onnx-builder.js';

/** What the graph emitter needs from a model: its config and a way to read its tensors. */
export interface BertWeights {
  readonly config: BertConfig;
  /** Prefix of encoder tensor names ("bert." or ""). */
  readonly prefix: string;
  readonly tensors: TensorStore;
}

/** The graph values one encoder produces, by name inside the builder. */
export interface EncoderOutputs {
  /** Classifier logits [batch, labels]; MLM logits [batch, seq, vocab]; absent for BertModel. */
  readonly logits: string | null;
  /** Pooler output tanh(W·h_cls + b) [batch, hidden], when the model has a pooler. */
  readonly pooled: string | null;
  /** Final hidden state of [CLS] [batch, hidden]. */
  readonly cls: string;
  /** Final hidden states [batch, seq, hidden]. */
  readonly hidden: string;
}

export interface EncoderInputs {
  readonly inputIds: string;
  readonly attentionMask: string;
  readonly tokenTypeIds: string;
}

/**
 * Which kernels the encoder is written with. Plain ONNX (every flag off) runs anywhere; the
 * `com.microsoft` contrib ops load only in onnxruntime but replace whole chains of nodes.
 */
export interface EncoderOps {
  /**
   * `plain`: MatMul/Softmax over [batch, heads, seq, dim]; `attention`: one com.microsoft Attention
   * with Q/K/V packed in one weight; `mha`: three MatMuls (quantisable) + MultiHeadAttention.
   */
  readonly attention: 'plain' | 'attention' | 'mha';
  /** Residual add + dense bias + LayerNorm as one SkipLayerNormalization. */
  readonly skipLayerNorm: boolean;
  /** Dense bias + activation as one BiasGelu (erf) / FastGelu (tanh form). */
  readonly biasGelu: boolean;
  /** Embedding gathers + sum + LayerNorm as one EmbedLayerNormalization. */
  readonly embedLayerNorm: boolean;
}

export const PLAIN_OPS: EncoderOps = { attention: 'plain', skipLayerNorm: false, biasGelu: false, embedLayerNorm: false };
export const FUSED_OPS: EncoderOps = { attention: 'attention', skipLayerNorm: true, biasGelu: true, embedLayerNorm: true };
/**
 * As fast as any variant measured on the benchmark machine (all within the run-to-run spread of a
 * few percent: the time is in the GEMMs; see BENCHMARKS.md), within 1e-4 of PyTorch, and its
 * Attention becomes QAttention, the fastest int8 path, under quantisation.
 */
export const DEFAULT_OPS: EncoderOps = FUSED_OPS;

export interface EmitOptions {
  /** Prefix for every initializer and node name, so two members can share one graph. */
  readonly scope?: string;
  /** Kernel choice; unspecified flags take DEFAULT_OPS. */
  readonly ops?: Partial<EncoderOps>;
}

/** float32.min, the additive mask Hugging Face uses for padded keys. */
const MASK_VALUE = -3.4028234663852886e38;

/** Hugging Face Linear weights are [out, in]; MatMul wants [in, out]. */
export function transpose2d(t: Tensor): Float32Array {
  const [rows, cols] = t.shape as [number, number];
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) out[c * rows + r] = t.data[r * cols + c]!;
  }
  return out;
}

/**
 * Emits the BERT encoder (embeddings, layers) and whichever heads the model has. With
 * `ops` = PLAIN_OPS the graph is plain ONNX opset 17; the default (DEFAULT_OPS) uses
 * onnxruntime's fused contrib kernels (see EncoderOps).
 */
export function emitBert(g: GraphBuilder, w: BertWeights, inputs: EncoderInputs, opts: EmitOptions = {}): EncoderOutputs {
  const cfg = w.config;
  const ops: EncoderOps = { ...DEFAULT_OPS, ...opts.ops };
  const s = opts.scope ? `${opts.scope}.` : '';
  const read = (name: string): Tensor => w.tensors.read(name);
  const enc = (name: string): Tensor => read(w.prefix + name);
  const param = (module: string, isEncoder: boolean): Tensor => (isEncoder ? enc(module) : read(module));
  const init = (name: string, t: Tensor): string => g.initializer(s + name, t.data, t.shape);

  /** x · Wᵀ (the bias is added by the caller, or by a fused kernel). */
  const matmul = (x: string, module: string, hint: string, isEncoder = true): string => {
    const W = param(`${module}.weight`, isEncoder);
    const [out, inp] = W.shape as [number, number];
    const wt = g.initializer(`${s}${module}.weight_t`, transpose2d(W), [inp, out]);
    return g.op('MatMul', [x, wt], {}, { name: `${s}${hint}_mm` });
  };
  const dense = (x: string, module: string, hint: string, isEncoder = true): { mm: string; bias: string } => ({
    mm: matmul(x, module, hint, isEncoder),
    bias: init(`${module}.bias`, param(`${module}.bias`, isEncoder)),
  });
  const linear = (x: string, module: string, hint: string, isEncoder = true): string => {
    const { mm, bias } = dense(x, module, hint, isEncoder);
    return g.op('Add', [mm, bias], {}, { name: `${s}${hint}` });
  };
  const lnParams = (module: string, isEncoder: boolean): [string, string] => [
    init(`${module}.weight`, param(`${module}.weight`, isEncoder)),
    init(`${module}.bias`, param(`${module}.bias`, isEncoder)),
  ];
  const layerNorm = (x: string, module: string, isEncoder = true): string =>
    g.op('LayerNormalization', [x, ...lnParams(module, isEncoder)], { axis: attr.int(-1), epsilon: attr.float(cfg.layerNormEps) }, { name: `${s}${module}` });
  /** LayerNorm(dense(x) + residual): the sub-layer ending every attention and FFN block. */
  const denseAddNorm = (x: string, residual: string, module: LayerModule, lnModule: LayerModule, i: number): string => {
    if (!ops.skipLayerNorm) return layerNorm(g.op('Add', [linear(x, layerName(module, i), `l${i}_${module}`), residual]), layerName(lnModule, i));
    const { mm, bias } = dense(x, layerName(module, i), `l${i}_${module}`);
    const [gamma, beta] = lnParams(layerName(lnModule, i), true);
    return fused.skipLayerNorm(g, { input: mm, skip: residual, gamma, beta, bias, epsilon: cfg.layerNormEps, name: `${s}${layerName(lnModule, i)}` });
  };

  const e = BERT_EMBEDDINGS;
  let x = ops.embedLayerNorm ? fusedEmbeddings() : plainEmbeddings();

  const H = cfg.hiddenSize;
  const nh = cfg.numHeads;
  const hd = H / nh;
  let plainConsts: { splitShape: string; mergeShape: string; scale: string } | undefined;
  const qkvName = (i: number): string => layerName('query', i).replace(/\.query$/, '.qkv');
  // The fused kernels take the raw int32 mask; the plain graph adds 0 / float32.min to the scores.
  const attentionMask = ops.attention === 'plain' ? plainMaskBias() : g.op('Cast', [inputs.attentionMask], { to: attr.int(6) }, { name: `${s}mask_i32` });
  for (let i = 0; i < cfg.numLayers; i++) {
    const ctx = ops.attention === 'plain' ? plainAttention(x, i) : ops.attention === 'attention' ? fusedAttention(x, i) : mhaAttention(x, i);
    const a = denseAddNorm(ctx, x, 'attnOut', 'attnLn', i);
    const inter = ffnIn(a, i);
    x = denseAddNorm(inter, a, 'out', 'outLn', i);
  }

  const cls = g.op('Gather', [x, g.constInt64([0], [], `${s}cls_index`)], { axis: attr.int(1) }, { name: `${s}cls_hidden` });
  let pooled: string | null = null;
  let logits: string | null = null;
  const hasPooler = w.tensors.has(`${w.prefix}${BERT_POOLER}.weight`);
  if (hasPooler) pooled = g.op('Tanh', [linear(cls, BERT_POOLER, 'pooler')], {}, { name: `${s}pooled` });
  if (cfg.architecture === 'BertForSequenceClassification') {
    if (!pooled) throw new Error('classifier without pooler');
    logits = linear(pooled, BERT_CLASSIFIER, 'classifier', false);
  } else if (cfg.architecture === 'BertForMaskedLM') {
    const t = activation(g, linear(x, MLM_HEAD.transformDense, 'mlm_dense', false), cfg.hiddenAct, `${s}mlm_act`);
    const normed = layerNorm(t, MLM_HEAD.transformLn, false);
    // The decoder is tied to the word embeddings (not stored); only its bias is.
    const wordT = g.initializer(`${s}mlm_decoder_t`, transpose2d(enc(e.word)), [H, cfg.vocabSize]);
    logits = g.op('Add', [g.op('MatMul', [normed, wordT]), init(MLM_HEAD.bias, read(MLM_HEAD.bias))], {}, { name: `${s}mlm_logits` });
  }
  return { logits, pooled, cls, hidden: x };

  // Embeddings: word + token type + position, then LayerNorm.
  function plainEmbeddings(): string {
    const word = g.op('Gather', [init(e.word, enc(e.word)), inputs.inputIds], { axis: attr.int(0) }, { name: `${s}word_emb` });
    const type = g.op('Gather', [init(e.tokenType, enc(e.tokenType)), inputs.tokenTypeIds], { axis: attr.int(0) }, { name: `${s}type_emb` });
    const shape = g.op('Shape', [inputs.inputIds], {}, { name: `${s}ids_shape` });
    const seqLen = g.op('Gather', [shape, g.constInt64([1], [], `${s}one`)], { axis: attr.int(0) }, { name: `${s}seq_len` });
    const positions = g.op('Range', [g.constInt64([0], [], `${s}zero`), seqLen, g.constInt64([1], [], `${s}step`)], {}, { name: `${s}positions` });
    const pos = g.op('Gather', [init(e.position, enc(e.position)), positions], { axis: attr.int(0) }, { name: `${s}pos_emb` });
    const sum = g.op('Add', [g.op('Add', [word, type]), pos], {}, { name: `${s}emb_sum` });
    return layerNorm(sum, 'embeddings.LayerNorm');
  }

  function fusedEmbeddings(): string {
    const i32 = (v: string, hint: string): string => g.op('Cast', [v], { to: attr.int(6) }, { name: `${s}${hint}` });
    const [gamma, beta] = lnParams('embeddings.LayerNorm', true);
    return fused.embedLayerNorm(g, {
      inputIds: i32(inputs.inputIds, 'ids_i32'),
      segmentIds: i32(inputs.tokenTypeIds, 'types_i32'),
      wordEmbedding: init(e.word, enc(e.word)),
      positionEmbedding: init(e.position, enc(e.position)),
      segmentEmbedding: init(e.tokenType, enc(e.tokenType)),
      gamma,
      beta,
      epsilon: cfg.layerNormEps,
      name: `${s}embeddings.LayerNorm`,
    });
  }

  /** Additive attention mask [batch, 1, 1, seq]: 0 where attended, float32.min where padded. */
  function plainMaskBias(): string {
    const maskF = g.op('Cast', [inputs.attentionMask], { to: attr.int(1) }, { name: `${s}mask_f` });
    const inv = g.op('Sub', [g.scalarFloat(1, `${s}one_f`), maskF], {}, { name: `${s}mask_inv` });
    const add = g.op('Mul', [inv, g.scalarFloat(MASK_VALUE, `${s}mask_min`)], {}, { name: `${s}mask_add` });
    return g.op('Unsqueeze', [add, g.constInt64([1, 2], [2], `${s}mask_axes`)], {}, { name: `${s}mask_bias` });
  }

  function plainAttention(h: string, i: number): string {
    const L = (m: LayerModule): string => layerName(m, i);
    const { splitShape, mergeShape, scale } = (plainConsts ??= {
      splitShape: g.constInt64([0, 0, nh, hd], [4], `${s}split_shape`),
      mergeShape: g.constInt64([0, 0, H], [3], `${s}merge_shape`),
      scale: g.scalarFloat(1 / Math.sqrt(hd), `${s}attn_scale`),
    });
    const heads = (t: string, perm: number[], hint: string): string =>
      g.op('Transpose', [g.op('Reshape', [t, splitShape])], { perm: attr.ints(perm) }, { name: `${s}l${i}_${hint}` });
    const q = heads(linear(h, L('query'), `l${i}_q`), [0, 2, 1, 3], 'qh');
    const k = heads(linear(h, L('key'), `l${i}_k`), [0, 2, 3, 1], 'kh');
    const v = heads(linear(h, L('value'), `l${i}_v`), [0, 2, 1, 3], 'vh');
    const scores = g.op('Add', [g.op('Mul', [g.op('MatMul', [q, k]), scale]), attentionMask], {}, { name: `${s}l${i}_scores` });
    const probs = g.op('Softmax', [scores], { axis: attr.int(-1) }, { name: `${s}l${i}_probs` });
    const ctx4 = g.op('Transpose', [g.op('MatMul', [probs, v])], { perm: attr.ints([0, 2, 1, 3]) }, { name: `${s}l${i}_ctx_t` });
    return g.op('Reshape', [ctx4, mergeShape], {}, { name: `${s}l${i}_ctx` });
  }

  function fusedAttention(h: string, i: number): string {
    const mods = (['query', 'key', 'value'] as const).map((m) => layerName(m, i));
    const weights = mods.map((m) => transpose2d(enc(`${m}.weight`)));
    const biases = mods.map((m) => enc(`${m}.bias`).data);
    const qkvW = g.initializer(`${s}${qkvName(i)}.weight_t`, concatColumns(weights, H), [H, 3 * H]);
    const qkvB = g.initializer(`${s}${qkvName(i)}.bias`, concat(biases), [3 * H]);
    return fused.attention(g, { input: h, weights: qkvW, bias: qkvB, mask: attentionMask, numHeads: nh, maskFilterValue: MASK_VALUE, name: `${s}l${i}_ctx` });
  }

  function mhaAttention(h: string, i: number): string {
    const mods = (['query', 'key', 'value'] as const).map((m) => layerName(m, i));
    const [q, k, v] = mods.map((m) => matmul(h, m, `l${i}_${m.slice(m.lastIndexOf('.') + 1)}`)) as [string, string, string];
    const bias = g.initializer(`${s}${qkvName(i)}.bias`, concat(mods.map((m) => enc(`${m}.bias`).data)), [3 * H]);
    return fused.multiHeadAttention(g, { query: q, key: k, value: v, bias, keyPaddingMask: attentionMask, numHeads: nh, maskFilterValue: MASK_VALUE, name: `${s}l${i}_ctx` });
  }

  /** The FFN's first dense layer and activation. */
  function ffnIn(a: string, i: number): string {
    const module = layerName('inter', i);
    const hint = `${s}l${i}_act`;
    if (ops.biasGelu && cfg.hiddenAct !== 'relu') {
      const { mm, bias } = dense(a, module, `l${i}_inter`);
      return cfg.hiddenAct === 'gelu' ? fused.biasGelu(g, mm, bias, hint) : fused.fastGelu(g, mm, bias, hint);
    }
    return activation(g, linear(a, module, `l${i}_inter`), cfg.hiddenAct, hint);
  }
}

function concat(parts: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Row-major [rows, Σcols] from row-major blocks [rows, cols_k] placed side by side. */
function concatColumns(blocks: readonly Float32Array[], rows: number): Float32Array {
  const widths = blocks.map((b) => b.length / rows);
  const total = widths.reduce((a, b) => a + b, 0);
  const out = new Float32Array(rows * total);
  for (let r = 0; r < rows; r++) {
    let at = r * total;
    blocks.forEach((b, k) => {
      out.set(b.subarray(r * widths[k]!, (r + 1) * widths[k]!), at);
      at += widths[k]!;
    });
  }
  return out;
}

/** `act` applied to x, in plain ONNX (the exact forms Hugging Face uses). */
export function activation(g: GraphBuilder, x: string, act: Activation, hint: string): string {
  switch (act) {
    case 'gelu': {
      // Exact erf form: 0.5 · x · (1 + erf(x / √2)); onnxruntime fuses it into Gelu.
      const erf = g.op('Erf', [g.op('Div', [x, g.scalarFloat(Math.SQRT2, `${hint}_sqrt2`)])]);
      const onePlus = g.op('Add', [erf, g.scalarFloat(1, `${hint}_one`)]);
      return g.op('Mul', [g.op('Mul', [x, onePlus]), g.scalarFloat(0.5, `${hint}_half`)], {}, { name: hint });
    }
    case 'gelu_new':
    case 'gelu_pytorch_tanh': {
      // 0.5 · x · (1 + tanh(√(2/π) · (x + 0.044715 x³)))
      const x3 = g.op('Mul', [g.op('Mul', [x, x]), x]);
      const inner = g.op('Add', [x, g.op('Mul', [x3, g.scalarFloat(0.044715, `${hint}_c`)])]);
      const t = g.op('Tanh', [g.op('Mul', [inner, g.scalarFloat(Math.sqrt(2 / Math.PI), `${hint}_k`)])]);
      return g.op('Mul', [g.op('Mul', [x, g.op('Add', [t, g.scalarFloat(1, `${hint}_one`)])]), g.scalarFloat(0.5, `${hint}_half`)], {}, { name: hint });
    }
    case 'relu':
      return g.op('Relu', [x], {}, { name: hint });
    default: {
      const never: never = act;
      throw new Error(`unknown activation ${String(never)}`);
    }
  }
}
