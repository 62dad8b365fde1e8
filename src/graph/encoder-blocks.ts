import type { Activation, DropoutHook, DropoutKind, EmitOptions, EncoderInputs, ModelConfig, ModelWeights } from '../architectures/types.js';
import type { Tensor } from '../checkpoint/tensor-store.js';
import * as fused from './fused-ops.js';
import { attr, type GraphBuilder } from './onnx-builder.js';

/**
 * The blocks every BERT-shaped family shares, written once: embeddings (gathers + LayerNorm, or
 * one EmbedLayerNormalization), post-LN transformer layers (attention in three kernel variants,
 * FFN, residual LayerNorms), activations. A family's emitter (src/architectures/<family>.ts) says
 * which tensors play which part and adds what differs (position ids, projections, heads).
 */

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

/** float32.min, the additive mask Hugging Face uses for padded keys. */
export const MASK_VALUE = -3.4028234663852886e38;

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
 * One member's emitter state: the builder, its weights, the kernel choice and the name scope.
 * Module names are unprefixed; `encoder: true` (the default) reads `prefix + module`, false reads
 * head modules stored outside the prefix (`classifier.*`).
 */
export class EmitContext {
  readonly ops: EncoderOps;
  /** Scope prefix for initializer and node names ("" or "<member>."). */
  readonly s: string;
  readonly cfg: ModelConfig;
  /** EmitOptions.unfolded: no weight is folded into another. */
  readonly unfolded: boolean;
  private readonly dropout: DropoutHook | null;
  /** Initializers made so far: a weight read twice (DeBERTa projects tokens and relative positions with one key_proj) is stored once. */
  private readonly made = new Map<string, string>();
  constructor(
    readonly g: GraphBuilder,
    readonly w: ModelWeights,
    opts: EmitOptions = {},
  ) {
    this.ops = { ...DEFAULT_OPS, ...opts.ops };
    this.s = opts.scope ? `${opts.scope}.` : '';
    this.cfg = w.config;
    this.unfolded = opts.unfolded ?? false;
    this.dropout = opts.dropout ?? null;
  }

  /** Dropout of `kind` on x (shape dims) when training with dropout; x itself otherwise. */
  drop(x: string, kind: DropoutKind, dims: readonly (number | string)[]): string {
    return this.dropout ? this.dropout(x, kind, dims) : x;
  }

  tensor(module: string, encoder = true): Tensor {
    return this.w.tensors.read(encoder ? this.w.prefix + module : module);
  }
  has(module: string, encoder = true): boolean {
    return this.w.tensors.has(encoder ? this.w.prefix + module : module);
  }
  init(name: string, t: Tensor): string {
    return this.g.initializer(this.s + name, t.data, t.shape);
  }
  /** Initializer of a stored tensor under its unprefixed module name (once, however often it is used). */
  param(name: string, encoder = true): string {
    return this.once(`${encoder}:${name}`, () => this.init(name, this.tensor(name, encoder)));
  }
  /** x · Wᵀ (the bias is added by the caller, or by a fused kernel). Weight initializer `<module>.weight_t`. */
  matmul(x: string, module: string, hint: string, encoder = true): string {
    const wt = this.once(`${encoder}:${module}.weight_t`, () => {
      const W = this.tensor(`${module}.weight`, encoder);
      const [out, inp] = W.shape as [number, number];
      return this.g.initializer(`${this.s}${module}.weight_t`, transpose2d(W), [inp, out]);
    });
    return this.g.op('MatMul', [x, wt], {}, { name: `${this.s}${hint}_mm` });
  }
  private once(key: string, make: () => string): string {
    let name = this.made.get(key);
    if (name === undefined) {
      name = make();
      this.made.set(key, name);
    }
    return name;
  }
  dense(x: string, module: string, hint: string, encoder = true): { mm: string; bias: string } {
    return { mm: this.matmul(x, module, hint, encoder), bias: this.param(`${module}.bias`, encoder) };
  }
  /** x · Wᵀ + b; `bias` false for bias-free Linears (ModernBERT), which store no `.bias`. */
  linear(x: string, module: string, hint: string, encoder = true, bias = true): string {
    if (!bias) return this.matmul(x, module, hint, encoder);
    const { mm, bias: b } = this.dense(x, module, hint, encoder);
    return this.g.op('Add', [mm, b], {}, { name: `${this.s}${hint}` });
  }
  lnParams(module: string, encoder = true): [string, string] {
    return [this.param(`${module}.weight`, encoder), this.param(`${module}.bias`, encoder)];
  }
  /** LayerNorm over the last axis; `bias` false leaves out the optional B input (bias-free norms). */
  layerNorm(x: string, module: string, encoder = true, eps = this.cfg.layerNormEps, bias = true): string {
    const params = bias ? this.lnParams(module, encoder) : [this.param(`${module}.weight`, encoder)];
    return this.g.op('LayerNormalization', [x, ...params], { axis: attr.int(-1), epsilon: attr.float(eps) }, { name: `${this.s}${module}` });
  }
  /** LayerNorm(dense(x) + residual): the sub-layer ending every post-LN attention and FFN block. */
  denseAddNorm(x: string, residual: string, module: string, lnModule: string, hint: string, dropout = true): string {
    if (!this.ops.skipLayerNorm) {
      const y = this.linear(x, module, hint);
      return this.layerNorm(this.g.op('Add', [dropout ? this.drop(y, 'hidden', ['batch', 'sequence', this.cfg.hiddenSize]) : y, residual]), lnModule);
    }
    const { mm, bias } = this.dense(x, module, hint);
    const [gamma, beta] = this.lnParams(lnModule);
    return fused.skipLayerNorm(this.g, { input: mm, skip: residual, gamma, beta, bias, epsilon: this.cfg.layerNormEps, name: `${this.s}${lnModule}` });
  }
  /** act(linear(x)); with biasGelu on, one BiasGelu / FastGelu kernel. */
  linearAct(x: string, module: string, act: Activation, hint: string, encoder = true): string {
    if (this.ops.biasGelu && act !== 'relu') {
      const { mm, bias } = this.dense(x, module, hint, encoder);
      return act === 'gelu' ? fused.biasGelu(this.g, mm, bias, `${this.s}${hint}_act`) : fused.fastGelu(this.g, mm, bias, `${this.s}${hint}_act`);
    }
    return activation(this.g, this.linear(x, module, hint, encoder), act, `${this.s}${hint}_act`);
  }
  /** Hidden state of the first token, [batch, hidden]. */
  first(x: string): string {
    return this.g.op('Gather', [x, this.g.constInt64([0], [], `${this.s}cls_index`)], { axis: attr.int(1) }, { name: `${this.s}cls_hidden` });
  }
}

/** Which tensors form the embeddings: unprefixed names; null = the family has no such table. */
export interface EmbeddingNames {
  readonly word: string;
  readonly position: string;
  readonly tokenType: string | null;
  /**
   * Whether the graph reads `token_type_ids`. RoBERTa / XLM-R keep a one-row type table but take
   * no type ids: that row is added to every token, folded here into the position table (the same
   * sum, one gather less, and the fused kernel needs no segment input).
   */
  readonly typeInput: boolean;
  /** LayerNorm module after the sum. */
  readonly norm: string;
  /**
   * `counter`: positions 0..S-1. `padding-offset` (RoBERTa, XLM-R): from the input ids,
   * `cumsum(ids != pad) · (ids != pad) + pad`, so real tokens get pad+1, pad+2, … and padding gets pad.
   */
  readonly positions: 'counter' | 'padding-offset';
}

/** LayerNorm(word[ids] + position[pos] (+ type[type ids])), as gathers or one EmbedLayerNormalization. */
export function emitEmbeddings(c: EmitContext, inputs: EncoderInputs, e: EmbeddingNames): string {
  const { g, s } = c;
  const typeTable = e.tokenType && e.typeInput ? e.tokenType : null;
  if (typeTable && !inputs.tokenTypeIds) throw new Error('embeddings with token types need a token_type_ids input');
  const positionIds = e.positions === 'padding-offset' ? paddingOffsetPositions(c, inputs.inputIds) : null;
  const typeRow = e.tokenType && !e.typeInput;
  const positionTable = typeRow && !c.unfolded ? foldTypeRow(c, e.position, e.tokenType!) : c.param(e.position);
  // The fused kernel has no input for an unfolded type row: that case takes the plain gathers.
  const width = c.w.tensors.info(c.w.prefix + e.word).shape[1]!;
  const dropped = (x: string): string => c.drop(x, 'hidden', ['batch', 'sequence', width]);
  if (c.ops.embedLayerNorm && !(typeRow && c.unfolded)) {
    const i32 = (v: string, hint: string): string => g.op('Cast', [v], { to: attr.int(6) }, { name: `${s}${hint}` });
    const [gamma, beta] = c.lnParams(e.norm);
    return dropped(fused.embedLayerNorm(g, {
      inputIds: i32(inputs.inputIds, 'ids_i32'),
      segmentIds: typeTable ? i32(inputs.tokenTypeIds!, 'types_i32') : null,
      wordEmbedding: c.param(e.word),
      positionEmbedding: positionTable,
      segmentEmbedding: typeTable ? c.param(typeTable) : null,
      positionIds: positionIds ? i32(positionIds, 'pos_i32') : null,
      gamma,
      beta,
      epsilon: c.cfg.layerNormEps,
      name: `${s}${e.norm}`,
    }));
  }
  const word = g.op('Gather', [c.param(e.word), inputs.inputIds], { axis: attr.int(0) }, { name: `${s}word_emb` });
  let sum = word;
  if (typeTable) {
    const type = g.op('Gather', [c.param(typeTable), inputs.tokenTypeIds!], { axis: attr.int(0) }, { name: `${s}type_emb` });
    sum = g.op('Add', [sum, type]);
  }
  const pos = g.op('Gather', [positionTable, positionIds ?? counterPositions(c, inputs.inputIds)], { axis: attr.int(0) }, { name: `${s}pos_emb` });
  sum = g.op('Add', [sum, pos], {}, { name: `${s}emb_sum` });
  if (typeRow && c.unfolded) {
    const row = g.op('Gather', [c.param(e.tokenType!), g.constInt64([0], [], `${s}type_row`)], { axis: attr.int(0) }, { name: `${s}type_emb` });
    sum = g.op('Add', [sum, row], {}, { name: `${s}emb_sum_type` });
  }
  return dropped(c.layerNorm(sum, e.norm));
}

/** position[p] + type[0] for every row p: the constant type row folded into the position table. */
function foldTypeRow(c: EmitContext, position: string, tokenType: string): string {
  const pos = c.tensor(position);
  const type = c.tensor(tokenType);
  const H = pos.shape[1]!;
  const out = new Float32Array(pos.data.length);
  for (let i = 0; i < out.length; i++) out[i] = pos.data[i]! + type.data[i % H]!;
  return c.g.initializer(`${c.s}${position}+type0`, out, pos.shape);
}

/** 0..S-1 as int64 [S] (broadcast over the batch by the Gather). */
export function counterPositions(c: EmitContext, inputIds: string): string {
  const { g, s } = c;
  const shape = g.op('Shape', [inputIds], {}, { name: `${s}ids_shape` });
  const seqLen = g.op('Gather', [shape, g.constInt64([1], [], `${s}one`)], { axis: attr.int(0) }, { name: `${s}seq_len` });
  return g.op('Range', [g.constInt64([0], [], `${s}zero`), seqLen, g.constInt64([1], [], `${s}step`)], {}, { name: `${s}positions` });
}

/** RoBERTa's position ids from the input ids: cumsum(m) · m + pad with m = (ids != pad), int64 [batch, S]. */
function paddingOffsetPositions(c: EmitContext, inputIds: string): string {
  const { g, s } = c;
  const pad = g.constInt64([c.cfg.padTokenId], [], `${s}pad_id`);
  const isPad = g.op('Equal', [inputIds, pad], {}, { name: `${s}is_pad` });
  const m = g.op('Cast', [g.op('Not', [isPad])], { to: attr.int(7) }, { name: `${s}not_pad` });
  const cum = g.op('CumSum', [m, g.constInt64([1], [], `${s}seq_axis`)], {}, { name: `${s}pos_cumsum` });
  return g.op('Add', [g.op('Mul', [cum, m]), pad], {}, { name: `${s}position_ids` });
}

/** Per-layer module names of a post-LN (BERT-style) encoder; `{i}` is the layer index. */
export interface LayerNames {
  readonly query: string;
  readonly key: string;
  readonly value: string;
  readonly attnOut: string;
  readonly attnLn: string;
  readonly inter: string;
  readonly out: string;
  readonly outLn: string;
}

export type LayerModule = keyof LayerNames;

export function layerModule(names: LayerNames, m: LayerModule, i: number): string {
  return names[m].replace('{i}', String(i));
}

/**
 * `numLayers` post-LN layers: a = LN(attnOut(attention(x)) + x); x = LN(out(act(inter(a))) + a).
 * `scaleQueryFirst` scales q before q·kᵀ (DistilBERT) instead of the scores (BERT); the plain
 * graph is the only one where the order is visible.
 */
/**
 * `attentionOutputDropout` false: no dropout between the attention's output projection and its
 * residual add (DistilBERT drops only the attention probabilities there; BERT drops both).
 */
export function emitLayers(c: EmitContext, x: string, attentionMask: string, names: LayerNames, attentionOutputDropout = true): string {
  const { g, s, cfg } = c;
  const H = cfg.hiddenSize;
  const nh = cfg.numHeads;
  const hd = H / nh;
  const L = (m: LayerModule, i: number): string => layerModule(names, m, i);
  const qkvName = (i: number): string => L('query', i).replace(/\.[^.]+$/, '.qkv');
  let plainConsts: { splitShape: string; mergeShape: string; scale: string } | undefined;
  // The fused kernels take the raw int32 mask; the plain graph adds 0 / float32.min to the scores.
  const mask = c.ops.attention === 'plain' ? plainMaskBias() : g.op('Cast', [attentionMask], { to: attr.int(6) }, { name: `${s}mask_i32` });
  for (let i = 0; i < cfg.numLayers; i++) {
    const ctx = c.ops.attention === 'plain' ? plainAttention(x, i) : c.ops.attention === 'attention' ? fusedAttention(x, i) : mhaAttention(x, i);
    const a = c.denseAddNorm(ctx, x, L('attnOut', i), L('attnLn', i), `l${i}_attnOut`, attentionOutputDropout);
    const inter = c.linearAct(a, L('inter', i), cfg.hiddenAct, `l${i}_inter`);
    x = c.denseAddNorm(inter, a, L('out', i), L('outLn', i), `l${i}_out`);
  }
  return x;

  /** Additive attention mask [batch, 1, 1, seq]: 0 where attended, float32.min where padded. */
  function plainMaskBias(): string {
    const maskF = g.op('Cast', [attentionMask], { to: attr.int(1) }, { name: `${s}mask_f` });
    const inv = g.op('Sub', [g.scalarFloat(1, `${s}one_f`), maskF], {}, { name: `${s}mask_inv` });
    const add = g.op('Mul', [inv, g.scalarFloat(MASK_VALUE, `${s}mask_min`)], {}, { name: `${s}mask_add` });
    return g.op('Unsqueeze', [add, g.constInt64([1, 2], [2], `${s}mask_axes`)], {}, { name: `${s}mask_bias` });
  }

  function plainAttention(h: string, i: number): string {
    const { splitShape, mergeShape, scale } = (plainConsts ??= {
      splitShape: g.constInt64([0, 0, nh, hd], [4], `${s}split_shape`),
      mergeShape: g.constInt64([0, 0, H], [3], `${s}merge_shape`),
      scale: g.scalarFloat(1 / Math.sqrt(hd), `${s}attn_scale`),
    });
    const heads = (t: string, perm: number[], hint: string): string =>
      g.op('Transpose', [g.op('Reshape', [t, splitShape])], { perm: attr.ints(perm) }, { name: `${s}l${i}_${hint}` });
    const q = heads(c.linear(h, L('query', i), `l${i}_q`), [0, 2, 1, 3], 'qh');
    const k = heads(c.linear(h, L('key', i), `l${i}_k`), [0, 2, 3, 1], 'kh');
    const v = heads(c.linear(h, L('value', i), `l${i}_v`), [0, 2, 1, 3], 'vh');
    const scores = g.op('Add', [g.op('Mul', [g.op('MatMul', [q, k]), scale]), mask], {}, { name: `${s}l${i}_scores` });
    const probs = c.drop(g.op('Softmax', [scores], { axis: attr.int(-1) }, { name: `${s}l${i}_probs` }), 'attention', ['batch', nh, 'sequence', 'sequence']);
    const ctx4 = g.op('Transpose', [g.op('MatMul', [probs, v])], { perm: attr.ints([0, 2, 1, 3]) }, { name: `${s}l${i}_ctx_t` });
    return g.op('Reshape', [ctx4, mergeShape], {}, { name: `${s}l${i}_ctx` });
  }

  function fusedAttention(h: string, i: number): string {
    const mods = (['query', 'key', 'value'] as const).map((m) => L(m, i));
    const weights = mods.map((m) => transpose2d(c.tensor(`${m}.weight`)));
    const biases = mods.map((m) => c.tensor(`${m}.bias`).data);
    const qkvW = g.initializer(`${s}${qkvName(i)}.weight_t`, concatColumns(weights, H), [H, 3 * H]);
    const qkvB = g.initializer(`${s}${qkvName(i)}.bias`, concat(biases), [3 * H]);
    return fused.attention(g, { input: h, weights: qkvW, bias: qkvB, mask, numHeads: nh, maskFilterValue: MASK_VALUE, name: `${s}l${i}_ctx` });
  }

  function mhaAttention(h: string, i: number): string {
    const mods = (['query', 'key', 'value'] as const).map((m) => L(m, i));
    const [q, k, v] = mods.map((m) => c.matmul(h, m, `l${i}_${m.slice(m.lastIndexOf('.') + 1)}`)) as [string, string, string];
    const bias = g.initializer(`${s}${qkvName(i)}.bias`, concat(mods.map((m) => c.tensor(`${m}.bias`).data)), [3 * H]);
    return fused.multiHeadAttention(g, { query: q, key: k, value: v, bias, keyPaddingMask: mask, numHeads: nh, maskFilterValue: MASK_VALUE, name: `${s}l${i}_ctx` });
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
