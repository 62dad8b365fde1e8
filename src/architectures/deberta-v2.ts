import { ruleTable, type FamilyAlignment } from '../align/axis-parts.js';
import { parseLabels, type Activation } from '../checkpoint/config.js';
import type { TensorStore } from '../checkpoint/tensor-store.js';
import { BertfuseError } from '../errors.js';
import { activation, type EncoderOutputs } from '../graph/bert-graph.js';
import { attr, type GraphBuilder } from '../graph/onnx-builder.js';
import { attentionSpan, emitRelativeIndex, type RelativePositionSpec } from '../graph/relative-position.js';
import { MASK_VALUE, WeightOps } from '../graph/weight-ops.js';
import { activationField, architectureField, boolField, integerField, numberField, type RawConfig } from './fields.js';

/**
 * DeBERTa-v2/v3 (`DebertaV2ForSequenceClassification`, model_type `deberta-v2`): BERT's post-LN
 * layers with disentangled attention — content·content plus content→position (c2p) and
 * position→content (p2c) terms read from one shared, LayerNorm'd table of relative embeddings
 * through log-bucketed relative distances — embeddings zeroed at padding, and a gelu ContextPooler.
 * Supported: the DeBERTa-v3 form (share_att_key, no token types, no conv layer).
 */
export const DEBERTA_V2_ARCHITECTURES = ['DebertaV2ForSequenceClassification'] as const;
export type DebertaV2Architecture = (typeof DEBERTA_V2_ARCHITECTURES)[number];

export type PosAttType = 'c2p' | 'p2c';

export interface DebertaV2Config {
  readonly family: 'deberta-v2';
  readonly architecture: DebertaV2Architecture;
  readonly hiddenSize: number;
  readonly numLayers: number;
  readonly numHeads: number;
  readonly intermediateSize: number;
  readonly vocabSize: number;
  readonly maxPositions: number;
  readonly layerNormEps: number;
  readonly hiddenAct: Activation;
  readonly poolerAct: Activation;
  readonly poolerHiddenSize: number;
  /** Absolute positions added to the word embeddings (DeBERTa-v1 style; false in v3). */
  readonly positionBiasedInput: boolean;
  readonly posAttType: readonly PosAttType[];
  readonly relative: RelativePositionSpec;
  /** `norm_rel_ebd` contains "layer_norm": the relative embeddings pass through encoder.LayerNorm. */
  readonly normRelEmbeddings: boolean;
  readonly padTokenId: number;
  readonly labels: readonly string[];
  readonly raw: RawConfig;
}

function refuse(file: string, what: string): never {
  throw new BertfuseError('E_BAD_CONFIG', `${what} is not supported (bertfuse runs the DeBERTa-v3 form: relative_attention, share_att_key, type_vocab_size 0, no conv layer)`, file);
}

function posAttTypes(r: RawConfig, file: string): PosAttType[] {
  let v = r['pos_att_type'] ?? [];
  if (typeof v === 'string') v = v.toLowerCase().split('|').map((s) => s.trim());
  if (!Array.isArray(v) || v.some((t) => t !== 'c2p' && t !== 'p2c')) throw new BertfuseError('E_BAD_CONFIG', `pos_att_type ${JSON.stringify(r['pos_att_type'])} must list "c2p" and/or "p2c"`, file);
  return [...new Set(v as PosAttType[])];
}

/** DebertaV2Config fields with Hugging Face's names and defaults (including the getattr ones). */
export function parseDebertaV2Config(r: RawConfig, file: string): DebertaV2Config {
  if (r['model_type'] !== undefined && r['model_type'] !== 'deberta-v2') throw new BertfuseError('E_UNSUPPORTED_ARCH', `model_type ${JSON.stringify(r['model_type'])} is not deberta-v2`, file);
  const architecture = architectureField(r, file, DEBERTA_V2_ARCHITECTURES);
  const hiddenSize = integerField(r, 'hidden_size', file, 1536, 1);
  const numHeads = integerField(r, 'num_attention_heads', file, 24, 1);
  if (hiddenSize % numHeads !== 0) throw new BertfuseError('E_BAD_CONFIG', `hidden_size ${hiddenSize} is not divisible by num_attention_heads ${numHeads}`, file);
  if (!boolField(r, 'relative_attention', file, false)) refuse(file, 'relative_attention: false');
  if (!boolField(r, 'share_att_key', file, false)) refuse(file, 'share_att_key: false (separate pos_key_proj/pos_query_proj)');
  if (integerField(r, 'type_vocab_size', file, 0, 0) !== 0) refuse(file, 'type_vocab_size > 0');
  if (integerField(r, 'conv_kernel_size', file, 0, 0) !== 0) refuse(file, 'conv_kernel_size > 0');
  if (r['embedding_size'] !== undefined && r['embedding_size'] !== hiddenSize) refuse(file, 'embedding_size different from hidden_size');
  const maxPositions = integerField(r, 'max_position_embeddings', file, 512, 1);
  const maxRel = numberField(r, 'max_relative_positions', file, -1, Number.isSafeInteger, 'an integer');
  const buckets = numberField(r, 'position_buckets', file, -1, Number.isSafeInteger, 'an integer');
  const norm = r['norm_rel_ebd'] ?? 'none';
  if (typeof norm !== 'string') throw new BertfuseError('E_BAD_CONFIG', `norm_rel_ebd must be a string, got ${JSON.stringify(norm)}`, file);
  return {
    family: 'deberta-v2',
    architecture,
    hiddenSize,
    numLayers: integerField(r, 'num_hidden_layers', file, 24, 1),
    numHeads,
    intermediateSize: integerField(r, 'intermediate_size', file, 6144, 1),
    vocabSize: integerField(r, 'vocab_size', file, 128100, 1),
    maxPositions,
    layerNormEps: numberField(r, 'layer_norm_eps', file, 1e-7),
    hiddenAct: activationField(r, 'hidden_act', file, 'gelu'),
    poolerAct: activationField(r, 'pooler_hidden_act', file, 'gelu'),
    poolerHiddenSize: integerField(r, 'pooler_hidden_size', file, hiddenSize, 1),
    positionBiasedInput: boolField(r, 'position_biased_input', file, true),
    posAttType: posAttTypes(r, file),
    relative: { buckets, maxRelativePositions: maxRel < 1 ? maxPositions : maxRel },
    normRelEmbeddings: norm.toLowerCase().split('|').map((s) => s.trim()).includes('layer_norm'),
    padTokenId: integerField(r, 'pad_token_id', file, 0, 0),
    labels: parseLabels(r as Record<string, unknown>, file),
    raw: r,
  };
}

export const debertaV2Names = {
  word: 'embeddings.word_embeddings',
  position: 'embeddings.position_embeddings',
  embeddingNorm: 'embeddings.LayerNorm',
  relEmbeddings: 'encoder.rel_embeddings',
  relNorm: 'encoder.LayerNorm',
  query: (i: number): string => `encoder.layer.${i}.attention.self.query_proj`,
  key: (i: number): string => `encoder.layer.${i}.attention.self.key_proj`,
  value: (i: number): string => `encoder.layer.${i}.attention.self.value_proj`,
  attnOut: (i: number): string => `encoder.layer.${i}.attention.output.dense`,
  attnNorm: (i: number): string => `encoder.layer.${i}.attention.output.LayerNorm`,
  inter: (i: number): string => `encoder.layer.${i}.intermediate.dense`,
  out: (i: number): string => `encoder.layer.${i}.output.dense`,
  outNorm: (i: number): string => `encoder.layer.${i}.output.LayerNorm`,
  pooler: 'pooler.dense',
  classifier: 'classifier',
} as const;

/** Every tensor the config implies, with its shape. `prefix` is "deberta." for task models. */
export function debertaV2Tensors(cfg: DebertaV2Config, prefix = 'deberta.'): Map<string, number[]> {
  const H = cfg.hiddenSize;
  const n = debertaV2Names;
  const out = new Map<string, number[]>();
  const linear = (module: string, o: number, i: number): void => {
    out.set(`${module}.weight`, [o, i]);
    out.set(`${module}.bias`, [o]);
  };
  const norm = (module: string): void => {
    out.set(`${module}.weight`, [H]);
    out.set(`${module}.bias`, [H]);
  };
  out.set(`${prefix}${n.word}.weight`, [cfg.vocabSize, H]);
  if (cfg.positionBiasedInput) out.set(`${prefix}${n.position}.weight`, [cfg.maxPositions, H]);
  norm(prefix + n.embeddingNorm);
  out.set(`${prefix}${n.relEmbeddings}.weight`, [2 * attentionSpan(cfg.relative), H]);
  if (cfg.normRelEmbeddings) norm(prefix + n.relNorm);
  for (let i = 0; i < cfg.numLayers; i++) {
    for (const m of [n.query(i), n.key(i), n.value(i), n.attnOut(i)]) linear(prefix + m, H, H);
    norm(prefix + n.attnNorm(i));
    linear(prefix + n.inter(i), cfg.intermediateSize, H);
    linear(prefix + n.out(i), H, cfg.intermediateSize);
    norm(prefix + n.outNorm(i));
  }
  linear(n.pooler, cfg.poolerHiddenSize, H);
  linear(n.classifier, cfg.labels.length, cfg.poolerHiddenSize);
  return out;
}

/** "deberta." when the weights carry the task model's prefix, "" for a bare DebertaV2Model. */
export function debertaV2Prefix(tensors: TensorStore): string {
  for (const p of ['deberta.', '']) if (tensors.has(`${p}${debertaV2Names.word}.weight`)) return p;
  throw new BertfuseError('E_MISSING_TENSOR', `no "deberta.${debertaV2Names.word}.weight": not DeBERTa-v2 weights`, tensors.source);
}

/**
 * Which unit permutations keep a DeBERTa-v3's function, for weight merging: BERT's groups, plus the
 * relative embeddings. `residual` also permutes rel_embeddings' columns and encoder.LayerNorm (they
 * enter query_proj/key_proj like the hidden states). `qk.{i}` may reorder units inside a head (one
 * order shared by q and k): with share_att_key the relative rows go through the same query_proj /
 * key_proj, so q·k, q·Pk and k·Pq are all unchanged. `pooler`: pooler.dense's outputs and the
 * classifier's columns.
 */
export const debertaV2Alignment: FamilyAlignment = {
  qkWithinHead: 'free',
  axes: ruleTable([
    [/^(?:deberta\.)?embeddings\.(?:word|position)_embeddings\.weight$/, () => [[null], ['residual']]],
    [/^(?:deberta\.)?encoder\.rel_embeddings\.weight$/, () => [[null], ['residual']]],
    [/^(?:deberta\.)?(?:embeddings\.LayerNorm|encoder\.LayerNorm|encoder\.layer\.\d+\.(?:attention\.output|output)\.LayerNorm)\.(?:weight|bias)$/, () => [['residual']]],
    [/^(?:deberta\.)?encoder\.layer\.(\d+)\.attention\.self\.(?:query|key)_proj\.weight$/, (i) => [[`qk.${i}`], ['residual']]],
    [/^(?:deberta\.)?encoder\.layer\.(\d+)\.attention\.self\.(?:query|key)_proj\.bias$/, (i) => [[`qk.${i}`]]],
    [/^(?:deberta\.)?encoder\.layer\.(\d+)\.attention\.self\.value_proj\.weight$/, (i) => [[`vo.${i}`], ['residual']]],
    [/^(?:deberta\.)?encoder\.layer\.(\d+)\.attention\.self\.value_proj\.bias$/, (i) => [[`vo.${i}`]]],
    [/^(?:deberta\.)?encoder\.layer\.(\d+)\.attention\.output\.dense\.weight$/, (i) => [['residual'], [`vo.${i}`]]],
    [/^(?:deberta\.)?encoder\.layer\.(\d+)\.intermediate\.dense\.weight$/, (i) => [[`ffn.${i}`], ['residual']]],
    [/^(?:deberta\.)?encoder\.layer\.(\d+)\.intermediate\.dense\.bias$/, (i) => [[`ffn.${i}`]]],
    [/^(?:deberta\.)?encoder\.layer\.(\d+)\.output\.dense\.weight$/, (i) => [['residual'], [`ffn.${i}`]]],
    [/^(?:deberta\.)?encoder\.layer\.(\d+)\.(?:attention\.output|output)\.dense\.bias$/, () => [['residual']]],
    [/^pooler\.dense\.weight$/, () => [['pooler'], ['residual']]],
    [/^pooler\.dense\.bias$/, () => [['pooler']]],
    [/^classifier\.weight$/, () => [[null], ['pooler']]],
    [/^classifier\.bias$/, () => [[null]]],
  ]),
};

export interface DebertaV2Weights {
  readonly config: DebertaV2Config;
  readonly prefix: string;
  readonly tensors: TensorStore;
}

/** Emits the encoder, ContextPooler and classifier; inputs are int64 [batch, S] ids and mask. */
export function emitDebertaV2(g: GraphBuilder, w: DebertaV2Weights, inputs: { inputIds: string; attentionMask: string }, opts: { scope?: string } = {}): EncoderOutputs {
  const cfg = w.config;
  const o = new WeightOps(g, w.tensors, opts.scope);
  const P = w.prefix;
  const n = debertaV2Names;
  const H = cfg.hiddenSize;
  const nh = cfg.numHeads;
  const hd = H / nh;
  const eps = cfg.layerNormEps;
  const ln = (x: string, module: string): string => o.layerNorm(x, module, eps);

  const positions = o.positions(inputs.inputIds);
  let emb = g.op('Gather', [o.init(`${P}${n.word}.weight`), inputs.inputIds], { axis: attr.int(0) }, { name: o.name('word_emb') });
  if (cfg.positionBiasedInput) {
    const pos = g.op('Gather', [o.init(`${P}${n.position}.weight`), positions], { axis: attr.int(0) }, { name: o.name('pos_emb') });
    emb = g.op('Add', [emb, pos], {}, { name: o.name('emb_sum') });
  }
  const maskF = g.op('Cast', [inputs.attentionMask], { to: attr.int(1) }, { name: o.name('mask_f') });
  const unsq = (x: string, axes: number[], hint: string): string => g.op('Unsqueeze', [x, g.constInt64(axes, [axes.length], o.name(`${hint}_axes`))], {}, { name: o.name(hint) });
  // Padding positions are zeroed after the LayerNorm, as HF's DebertaV2Embeddings does.
  let x = g.op('Mul', [ln(emb, P + n.embeddingNorm), unsq(maskF, [2], 'mask_3d')], {}, { name: o.name('embeddings') });

  // Relative embeddings (LayerNorm'd once, shared by every layer) and the [S, S] row index c(i, j);
  // p2c reads row c(i, j) too (bucket is odd: −bucket(j − i) = bucket(i − j)), through the transpose.
  const relRaw = o.init(`${P}${n.relEmbeddings}.weight`);
  const rel = cfg.normRelEmbeddings ? ln(relRaw, P + n.relNorm) : relRaw;
  const c = emitRelativeIndex(g, positions, cfg.relative, o.name('rel_index'));
  const cT = g.op('Transpose', [c], { perm: attr.ints([1, 0]) }, { name: o.name('rel_index_t') });

  // Pair mask m_i·m_j: padded keys get float32.min before the softmax, padded query rows get zero
  // probabilities after it (HF's XSoftmax), so they contribute nothing and never become NaN.
  const keyBias = g.op('Where', [unsq(g.op('Equal', [inputs.attentionMask, g.constInt64([0], [], o.name('zero_i'))], {}, { name: o.name('key_padded_2d') }), [1, 2], 'key_padded'), g.scalarFloat(MASK_VALUE, o.name('mask_min')), g.scalarFloat(0, o.name('mask_zero'))], {}, { name: o.name('key_bias') });
  const queryMask = unsq(maskF, [1, 3], 'query_mask');

  const span2 = 2 * attentionSpan(cfg.relative);
  const splitShape = g.constInt64([0, 0, nh, hd], [4], o.name('split_shape'));
  const mergeShape = g.constInt64([0, 0, H], [3], o.name('merge_shape'));
  const relShape = g.constInt64([span2, nh, hd], [3], o.name('rel_split_shape'));
  const scale = g.scalarFloat(1 / Math.sqrt(hd * (1 + cfg.posAttType.length)), o.name('attn_scale'));
  let index: { c2p: string; p2c: string } | null = null;
  for (let i = 0; i < cfg.numLayers; i++) {
    const L = (hint: string): string => o.name(`l${i}_${hint}`);
    const heads = (t: string, perm: number[], hint: string): string =>
      g.op('Transpose', [g.op('Reshape', [t, splitShape], {}, { name: L(`${hint}_4d`) })], { perm: attr.ints(perm) }, { name: L(`${hint}_heads`) });
    const q = heads(o.linear(x, P + n.query(i), `l${i}_q`), [0, 2, 1, 3], 'q');
    const k = heads(o.linear(x, P + n.key(i), `l${i}_k`), [0, 2, 1, 3], 'k');
    const v = heads(o.linear(x, P + n.value(i), `l${i}_v`), [0, 2, 1, 3], 'v');
    let sum = g.op('MatMul', [q, g.op('Transpose', [k], { perm: attr.ints([0, 1, 3, 2]) }, { name: L('k_t') })], {}, { name: L('c2c') });
    // The relative rows through this layer's own projections: [heads, d, 2·span]. Their nodes are
    // not named l<i>_ so int8 leaves them in float; onnxruntime folds them as constants.
    const relHeads = (module: string, hint: string): string =>
      g.op('Transpose', [g.op('Reshape', [o.linear(rel, P + module, `rel${i}_${hint}`), relShape], {}, { name: o.name(`rel${i}_${hint}_3d`) })], { perm: attr.ints([1, 2, 0]) }, { name: o.name(`rel${i}_${hint}_heads`) });
    if (!index) {
      const shape = g.op('Shape', [sum], {}, { name: o.name('scores_shape') });
      index = {
        c2p: g.op('Expand', [c, shape], {}, { name: o.name('c2p_index') }),
        p2c: g.op('Expand', [cT, shape], {}, { name: o.name('p2c_index') }),
      };
    }
    if (cfg.posAttType.includes('c2p')) {
      const all = g.op('MatMul', [q, relHeads(n.key(i), 'pk')], {}, { name: L('c2p_all') });
      sum = g.op('Add', [sum, g.op('GatherElements', [all, index.c2p], { axis: attr.int(3) }, { name: L('c2p') })], {}, { name: L('plus_c2p') });
    }
    if (cfg.posAttType.includes('p2c')) {
      const all = g.op('MatMul', [k, relHeads(n.query(i), 'pq')], {}, { name: L('p2c_all') });
      const byKey = g.op('GatherElements', [all, index.p2c], { axis: attr.int(3) }, { name: L('p2c_kq') });
      sum = g.op('Add', [sum, g.op('Transpose', [byKey], { perm: attr.ints([0, 1, 3, 2]) }, { name: L('p2c') })], {}, { name: L('plus_p2c') });
    }
    const scores = g.op('Add', [g.op('Mul', [sum, scale], {}, { name: L('scaled') }), keyBias], {}, { name: L('scores') });
    const probs = g.op('Mul', [g.op('Softmax', [scores], { axis: attr.int(-1) }, { name: L('softmax') }), queryMask], {}, { name: L('probs') });
    const ctx4 = g.op('Transpose', [g.op('MatMul', [probs, v], {}, { name: L('ctx_heads') })], { perm: attr.ints([0, 2, 1, 3]) }, { name: L('ctx_t') });
    const ctx = g.op('Reshape', [ctx4, mergeShape], {}, { name: L('ctx') });
    const a = ln(g.op('Add', [o.linear(ctx, P + n.attnOut(i), `l${i}_attn_out`), x], {}, { name: L('attn_res') }), P + n.attnNorm(i));
    const inter = activation(g, o.linear(a, P + n.inter(i), `l${i}_inter`), cfg.hiddenAct, L('act'));
    x = ln(g.op('Add', [o.linear(inter, P + n.out(i), `l${i}_out`), a], {}, { name: L('out_res') }), P + n.outNorm(i));
  }

  const cls = g.op('Gather', [x, g.constInt64([0], [], o.name('cls_index'))], { axis: attr.int(1) }, { name: o.name('cls_hidden') });
  const pooled = activation(g, o.linear(cls, n.pooler, 'pooler'), cfg.poolerAct, o.name('pooled'));
  const logits = o.linear(pooled, n.classifier, 'classifier');
  return { logits, pooled, cls, hidden: x };
}
