import { BERT_CLASSIFIER, BERT_EMBEDDINGS, BERT_POOLER, MLM_HEAD, layerName, type LayerModule } from '../checkpoint/bert-names.js';
import type { Activation, BertConfig } from '../checkpoint/config.js';
import type { Tensor, TensorStore } from '../checkpoint/tensor-store.js';
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

export interface EmitOptions {
  /** Prefix for every initializer and node name, so two members can share one graph. */
  readonly scope?: string;
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
 * Emits the BERT encoder (embeddings, layers) and whichever heads the model has, in plain ONNX
 * opset-17 operators. onnxruntime's optimiser fuses LayerNorm and Gelu patterns on load.
 */
export function emitBert(g: GraphBuilder, w: BertWeights, inputs: EncoderInputs, opts: EmitOptions = {}): EncoderOutputs {
  const cfg = w.config;
  const s = opts.scope ? `${opts.scope}.` : '';
  const read = (name: string): Tensor => w.tensors.read(name);
  const enc = (name: string): Tensor => read(w.prefix + name);
  const init = (name: string, t: Tensor): string => g.initializer(s + name, t.data, t.shape);

  const linear = (x: string, module: string, hint: string, isEncoder = true): string => {
    const W = isEncoder ? enc(`${module}.weight`) : read(`${module}.weight`);
    const b = isEncoder ? enc(`${module}.bias`) : read(`${module}.bias`);
    const [out, inp] = W.shape as [number, number];
    const wt = g.initializer(`${s}${module}.weight_t`, transpose2d(W), [inp, out]);
    const bias = init(`${module}.bias`, b);
    const mm = g.op('MatMul', [x, wt], {}, { name: `${s}${hint}_mm` });
    return g.op('Add', [mm, bias], {}, { name: `${s}${hint}` });
  };
  const layerNorm = (x: string, module: string, isEncoder = true): string => {
    const wname = `${module}.weight`;
    const bname = `${module}.bias`;
    const scale = init(wname, isEncoder ? enc(wname) : read(wname));
    const bias = init(bname, isEncoder ? enc(bname) : read(bname));
    return g.op('LayerNormalization', [x, scale, bias], { axis: attr.int(-1), epsilon: attr.float(cfg.layerNormEps) }, { name: `${s}${module}` });
  };

  // Embeddings: word + token type + position, then LayerNorm.
  const e = BERT_EMBEDDINGS;
  const word = g.op('Gather', [init(e.word, enc(e.word)), inputs.inputIds], { axis: attr.int(0) }, { name: `${s}word_emb` });
  const type = g.op('Gather', [init(e.tokenType, enc(e.tokenType)), inputs.tokenTypeIds], { axis: attr.int(0) }, { name: `${s}type_emb` });
  const shape = g.op('Shape', [inputs.inputIds], {}, { name: `${s}ids_shape` });
  const seqLen = g.op('Gather', [shape, g.constInt64([1], [], `${s}one`)], { axis: attr.int(0) }, { name: `${s}seq_len` });
  const positions = g.op('Range', [g.constInt64([0], [], `${s}zero`), seqLen, g.constInt64([1], [], `${s}step`)], {}, { name: `${s}positions` });
  const pos = g.op('Gather', [init(e.position, enc(e.position)), positions], { axis: attr.int(0) }, { name: `${s}pos_emb` });
  const sum = g.op('Add', [g.op('Add', [word, type]), pos], {}, { name: `${s}emb_sum` });
  let x = layerNorm(sum, 'embeddings.LayerNorm');

  // Additive attention mask [batch, 1, 1, seq]: 0 where attended, float32.min where padded.
  const maskF = g.op('Cast', [inputs.attentionMask], { to: attr.int(1) }, { name: `${s}mask_f` });
  const inv = g.op('Sub', [g.scalarFloat(1, `${s}one_f`), maskF], {}, { name: `${s}mask_inv` });
  const add = g.op('Mul', [inv, g.scalarFloat(MASK_VALUE, `${s}mask_min`)], {}, { name: `${s}mask_add` });
  const maskBias = g.op('Unsqueeze', [add, g.constInt64([1, 2], [2], `${s}mask_axes`)], {}, { name: `${s}mask_bias` });

  const H = cfg.hiddenSize;
  const nh = cfg.numHeads;
  const hd = H / nh;
  const splitShape = g.constInt64([0, 0, nh, hd], [4], `${s}split_shape`);
  const mergeShape = g.constInt64([0, 0, H], [3], `${s}merge_shape`);
  const scale = g.scalarFloat(1 / Math.sqrt(hd), `${s}attn_scale`);
  for (let i = 0; i < cfg.numLayers; i++) {
    const L = (m: LayerModule): string => layerName(m, i);
    const heads = (t: string, perm: number[], hint: string): string =>
      g.op('Transpose', [g.op('Reshape', [t, splitShape])], { perm: attr.ints(perm) }, { name: `${s}l${i}_${hint}` });
    const q = heads(linear(x, L('query'), `l${i}_q`), [0, 2, 1, 3], 'qh');
    const k = heads(linear(x, L('key'), `l${i}_k`), [0, 2, 3, 1], 'kh');
    const v = heads(linear(x, L('value'), `l${i}_v`), [0, 2, 1, 3], 'vh');
    const scores = g.op('Add', [g.op('Mul', [g.op('MatMul', [q, k]), scale]), maskBias], {}, { name: `${s}l${i}_scores` });
    const probs = g.op('Softmax', [scores], { axis: attr.int(-1) }, { name: `${s}l${i}_probs` });
    const ctx4 = g.op('Transpose', [g.op('MatMul', [probs, v])], { perm: attr.ints([0, 2, 1, 3]) }, { name: `${s}l${i}_ctx_t` });
    const ctx = g.op('Reshape', [ctx4, mergeShape], {}, { name: `${s}l${i}_ctx` });
    const attnOut = linear(ctx, L('attnOut'), `l${i}_attn_out`);
    const a = layerNorm(g.op('Add', [attnOut, x]), L('attnLn'));
    const inter = activation(g, linear(a, L('inter'), `l${i}_inter`), cfg.hiddenAct, `${s}l${i}_act`);
    const out = linear(inter, L('out'), `l${i}_out`);
    x = layerNorm(g.op('Add', [out, a]), L('outLn'));
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
}

function activation(g: GraphBuilder, x: string, act: Activation, hint: string): string {
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
