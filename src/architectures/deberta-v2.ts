import { ruleTable, type FamilyAlignment } from '../align/axis-parts.js';
import { BertfuseError } from '../errors.js';
import { counterPositions, EmitContext, MASK_VALUE } from '../graph/encoder-blocks.js';
import { attr, type GraphBuilder } from '../graph/onnx-builder.js';
import { attentionSpan, emitRelativeIndex, type RelativePositionSpec } from '../graph/relative-position.js';
import { activationField, addLinear, addNorm, boolField, checkLimits, headsDivide, integerField, numberField, parseLabels, sizeFields, type RawConfig } from './fields.js';
import type { Activation, ConfigSource, EmitOptions, EncoderInputs, EncoderOutputs, Family, HeadInputs, HeadOutputs, ModelConfig, ModelWeights, ProbeNames } from './types.js';

/**
 * DeBERTa-v2/v3 (`DebertaV2ForSequenceClassification`, model_type `deberta-v2`): BERT's post-LN
 * layers with disentangled attention — content·content plus content→position (c2p) and
 * position→content (p2c) terms read from one shared, LayerNorm'd table of relative embeddings
 * through log-bucketed relative distances — embeddings zeroed at padding, and a gelu ContextPooler.
 * Supported: the DeBERTa-v3 form (share_att_key, no token types, no conv layer).
 */

export type PosAttType = 'c2p' | 'p2c';

/** What DeBERTa reads beyond ModelConfig's common fields (kept in `extra`). */
export interface DebertaV2Settings {
  readonly poolerAct: Activation;
  readonly poolerHiddenSize: number;
  /** Absolute positions added to the word embeddings (DeBERTa-v1 style; false in v3). */
  readonly positionBiasedInput: boolean;
  readonly posAttType: readonly PosAttType[];
  readonly relative: RelativePositionSpec;
  /** `norm_rel_ebd` contains "layer_norm": the relative embeddings pass through encoder.LayerNorm. */
  readonly normRelEmbeddings: boolean;
}

export function debertaV2Settings(cfg: ModelConfig): DebertaV2Settings {
  const x = cfg.extra;
  return {
    poolerAct: x['poolerAct'] as Activation,
    poolerHiddenSize: x['poolerHiddenSize'] as number,
    positionBiasedInput: x['positionBiasedInput'] as boolean,
    posAttType: x['posAttType'] as readonly PosAttType[],
    relative: { buckets: x['positionBuckets'] as number, maxRelativePositions: x['maxRelativePositions'] as number },
    normRelEmbeddings: x['normRelEmbeddings'] as boolean,
  };
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

/** DebertaV2Config fields with Hugging Face's names and defaults (including the getattr ones) → ModelConfig. */
function parseConfig(r: RawConfig, src: ConfigSource): ModelConfig {
  const file = src.file;
  const hiddenSize = integerField(r, 'hidden_size', file, 1536, 1);
  const numHeads = integerField(r, 'num_attention_heads', file, 24, 1);
  headsDivide(hiddenSize, numHeads, 'hidden_size', 'num_attention_heads', file);
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
  const maxRelativePositions = maxRel < 1 ? maxPositions : maxRel;
  // The relative table has 2·span rows; a hostile span must fail here, not allocate.
  if (Math.max(buckets, maxRelativePositions) > 1 << 16) throw new BertfuseError('E_BAD_CONFIG', `position_buckets / max_relative_positions ${Math.max(buckets, maxRelativePositions)} is larger than bertfuse accepts (65536)`, file);
  return checkLimits(
    {
      family: 'deberta-v2',
      architecture: src.architecture,
      task: src.task,
      hiddenSize,
      numLayers: integerField(r, 'num_hidden_layers', file, 24, 1),
      numHeads,
      intermediateSize: integerField(r, 'intermediate_size', file, 6144, 1),
      vocabSize: integerField(r, 'vocab_size', file, 128100, 1),
      maxPositions,
      typeVocabSize: 0,
      layerNormEps: numberField(r, 'layer_norm_eps', file, 1e-7),
      hiddenAct: activationField(r, 'hidden_act', file, 'gelu'),
      padTokenId: integerField(r, 'pad_token_id', file, 0, 0),
      labels: src.task === 'classify' ? parseLabels(r, file) : null,
      extra: {
        poolerAct: activationField(r, 'pooler_hidden_act', file, 'gelu'),
        poolerHiddenSize: integerField(r, 'pooler_hidden_size', file, hiddenSize, 1),
        positionBiasedInput: boolField(r, 'position_biased_input', file, true),
        posAttType: posAttTypes(r, file),
        positionBuckets: buckets,
        maxRelativePositions,
        normRelEmbeddings: norm.toLowerCase().split('|').map((t) => t.trim()).includes('layer_norm'),
      },
      raw: r,
    },
    file,
  );
}

function hfFields(cfg: ModelConfig): Record<string, unknown> {
  const d = debertaV2Settings(cfg);
  return {
    model_type: 'deberta-v2',
    ...sizeFields(cfg),
    type_vocab_size: 0,
    layer_norm_eps: cfg.layerNormEps,
    hidden_act: cfg.hiddenAct,
    pad_token_id: cfg.padTokenId,
    relative_attention: true,
    share_att_key: true,
    position_biased_input: d.positionBiasedInput,
    pos_att_type: d.posAttType,
    position_buckets: d.relative.buckets,
    max_relative_positions: d.relative.maxRelativePositions,
    norm_rel_ebd: d.normRelEmbeddings ? 'layer_norm' : 'none',
    pooler_hidden_act: d.poolerAct,
    pooler_hidden_size: d.poolerHiddenSize,
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
function expectedTensors(cfg: ModelConfig, prefix: string): Map<string, number[]> {
  const d = debertaV2Settings(cfg);
  const H = cfg.hiddenSize;
  const n = debertaV2Names;
  const out = new Map<string, number[]>();
  out.set(`${prefix}${n.word}.weight`, [cfg.vocabSize, H]);
  if (d.positionBiasedInput) out.set(`${prefix}${n.position}.weight`, [cfg.maxPositions, H]);
  addNorm(out, prefix + n.embeddingNorm, H);
  out.set(`${prefix}${n.relEmbeddings}.weight`, [2 * attentionSpan(d.relative), H]);
  if (d.normRelEmbeddings) addNorm(out, prefix + n.relNorm, H);
  for (let i = 0; i < cfg.numLayers; i++) {
    for (const m of [n.query(i), n.key(i), n.value(i), n.attnOut(i)]) addLinear(out, prefix + m, H, H);
    addNorm(out, prefix + n.attnNorm(i), H);
    addLinear(out, prefix + n.inter(i), cfg.intermediateSize, H);
    addLinear(out, prefix + n.out(i), H, cfg.intermediateSize);
    addNorm(out, prefix + n.outNorm(i), H);
  }
  if (cfg.task === 'classify') {
    addLinear(out, n.pooler, d.poolerHiddenSize, H);
    addLinear(out, n.classifier, cfg.labels?.length ?? 2, d.poolerHiddenSize);
  }
  return out;
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

/**
 * Where activation matching reads DeBERTa's units: its layers are post-LN like BERT's. query_proj
 * and key_proj also project the relative rows (c2p, p2c) with the same weights, so the q/k units
 * matched on the tokens' projections are the units those terms use; the probe reads the tokens'
 * projection, the first MatMul on each weight (emit writes it before the relative ones).
 */
const debertaV2Probes: ProbeNames = {
  attentionInput: 'encoder.layer.{i}.attention.self.query_proj',
  query: { module: 'encoder.layer.{i}.attention.self.query_proj', part: 0, parts: 1 },
  key: { module: 'encoder.layer.{i}.attention.self.key_proj', part: 0, parts: 1 },
  value: { module: 'encoder.layer.{i}.attention.self.value_proj', part: 0, parts: 1 },
  attentionContext: 'encoder.layer.{i}.attention.output.dense',
  ffnInput: 'encoder.layer.{i}.intermediate.dense',
  ffnHidden: 'encoder.layer.{i}.output.dense',
  headDense: { module: debertaV2Names.pooler, encoder: false },
  classifier: debertaV2Names.classifier,
  headGroup: 'pooler',
};

/**
 * Emits the encoder (and the ContextPooler + classifier). Kernels: `ops.skipLayerNorm` and
 * `ops.biasGelu` fuse the post-LN residual adds and the FFN's gelu as for BERT; the disentangled
 * attention has no onnxruntime kernel and is always plain ONNX.
 */
function emit(g: GraphBuilder, w: ModelWeights, inputs: EncoderInputs, opts: EmitOptions = {}): EncoderOutputs {
  const c = new EmitContext(g, w, opts);
  const cfg = w.config;
  const d = debertaV2Settings(cfg);
  const n = debertaV2Names;
  const H = cfg.hiddenSize;
  const nh = cfg.numHeads;
  const hd = H / nh;
  const name = (hint: string): string => c.s + hint;

  const positions = counterPositions(c, inputs.inputIds);
  let emb = g.op('Gather', [c.param(`${n.word}.weight`), inputs.inputIds], { axis: attr.int(0) }, { name: name('word_emb') });
  if (d.positionBiasedInput) {
    const pos = g.op('Gather', [c.param(`${n.position}.weight`), positions], { axis: attr.int(0) }, { name: name('pos_emb') });
    emb = g.op('Add', [emb, pos], {}, { name: name('emb_sum') });
  }
  const maskF = g.op('Cast', [inputs.attentionMask], { to: attr.int(1) }, { name: name('mask_f') });
  const unsq = (x: string, axes: number[], hint: string): string => g.op('Unsqueeze', [x, g.constInt64(axes, [axes.length], name(`${hint}_axes`))], {}, { name: name(hint) });
  // Padding positions are zeroed after the LayerNorm, as HF's DebertaV2Embeddings does.
  let x = c.drop(g.op('Mul', [c.layerNorm(emb, n.embeddingNorm), unsq(maskF, [2], 'mask_3d')], {}, { name: name('embeddings') }), 'hidden', ['batch', 'sequence', H]);

  // Relative embeddings (LayerNorm'd once, shared by every layer) and the [S, S] row index c(i, j);
  // p2c reads row c(i, j) too (bucket is odd: −bucket(j − i) = bucket(i − j)), through the transpose.
  const relRaw = c.param(`${n.relEmbeddings}.weight`);
  const rel = d.normRelEmbeddings ? c.layerNorm(relRaw, n.relNorm) : relRaw;
  const index = emitRelativeIndex(g, positions, d.relative, name('rel_index'));
  const indexT = g.op('Transpose', [index], { perm: attr.ints([1, 0]) }, { name: name('rel_index_t') });

  // Pair mask m_i·m_j: padded keys get float32.min before the softmax, padded query rows get zero
  // probabilities after it (HF's XSoftmax), so they contribute nothing and never become NaN.
  const keyPadded = unsq(g.op('Equal', [inputs.attentionMask, g.constInt64([0], [], name('zero_i'))], {}, { name: name('key_padded_2d') }), [1, 2], 'key_padded');
  const keyBias = g.op('Where', [keyPadded, g.scalarFloat(MASK_VALUE, name('mask_min')), g.scalarFloat(0, name('mask_zero'))], {}, { name: name('key_bias') });
  const queryMask = unsq(maskF, [1, 3], 'query_mask');

  const span2 = 2 * attentionSpan(d.relative);
  const splitShape = g.constInt64([0, 0, nh, hd], [4], name('split_shape'));
  const mergeShape = g.constInt64([0, 0, H], [3], name('merge_shape'));
  const relShape = g.constInt64([span2, nh, hd], [3], name('rel_split_shape'));
  const scale = g.scalarFloat(1 / Math.sqrt(hd * (1 + d.posAttType.length)), name('attn_scale'));
  let gatherIndex: { c2p: string; p2c: string } | null = null;
  for (let i = 0; i < cfg.numLayers; i++) {
    const L = (hint: string): string => name(`l${i}_${hint}`);
    const heads = (t: string, hint: string): string =>
      g.op('Transpose', [g.op('Reshape', [t, splitShape], {}, { name: L(`${hint}_4d`) })], { perm: attr.ints([0, 2, 1, 3]) }, { name: L(`${hint}_heads`) });
    const q = heads(c.linear(x, n.query(i), `l${i}_q`), 'q');
    const k = heads(c.linear(x, n.key(i), `l${i}_k`), 'k');
    const v = heads(c.linear(x, n.value(i), `l${i}_v`), 'v');
    let sum = g.op('MatMul', [q, g.op('Transpose', [k], { perm: attr.ints([0, 1, 3, 2]) }, { name: L('k_t') })], {}, { name: L('c2c') });
    // Each layer drops out the (shared, LayerNorm'd) relative rows with its own mask at the hidden
    // rate before projecting them, as HF's DisentangledSelfAttention does (pos_dropout); one mask
    // for the whole batch, as the rows are. Only when a position term reads them.
    const relDropped = d.posAttType.length > 0 ? c.drop(rel, 'hidden', [span2, H]) : rel;
    // The relative rows through this layer's own projections: [heads, d, 2·span]. Their nodes are
    // not named l<i>_ so int8 leaves them in float; onnxruntime folds them as constants.
    const relHeads = (module: string, hint: string): string =>
      g.op('Transpose', [g.op('Reshape', [c.linear(relDropped, module, `rel${i}_${hint}`), relShape], {}, { name: name(`rel${i}_${hint}_3d`) })], { perm: attr.ints([1, 2, 0]) }, { name: name(`rel${i}_${hint}_heads`) });
    if (!gatherIndex) {
      const shape = g.op('Shape', [sum], {}, { name: name('scores_shape') });
      gatherIndex = { c2p: g.op('Expand', [index, shape], {}, { name: name('c2p_index') }), p2c: g.op('Expand', [indexT, shape], {}, { name: name('p2c_index') }) };
    }
    if (d.posAttType.includes('c2p')) {
      const all = g.op('MatMul', [q, relHeads(n.key(i), 'pk')], {}, { name: L('c2p_all') });
      sum = g.op('Add', [sum, g.op('GatherElements', [all, gatherIndex.c2p], { axis: attr.int(3) }, { name: L('c2p') })], {}, { name: L('plus_c2p') });
    }
    if (d.posAttType.includes('p2c')) {
      const all = g.op('MatMul', [k, relHeads(n.query(i), 'pq')], {}, { name: L('p2c_all') });
      const byKey = g.op('GatherElements', [all, gatherIndex.p2c], { axis: attr.int(3) }, { name: L('p2c_kq') });
      sum = g.op('Add', [sum, g.op('Transpose', [byKey], { perm: attr.ints([0, 1, 3, 2]) }, { name: L('p2c') })], {}, { name: L('plus_p2c') });
    }
    const scores = g.op('Add', [g.op('Mul', [sum, scale], {}, { name: L('scaled') }), keyBias], {}, { name: L('scores') });
    const probs = c.drop(g.op('Mul', [g.op('Softmax', [scores], { axis: attr.int(-1) }, { name: L('softmax') }), queryMask], {}, { name: L('probs') }), 'attention', ['batch', nh, 'sequence', 'sequence']);
    const ctx4 = g.op('Transpose', [g.op('MatMul', [probs, v], {}, { name: L('ctx_heads') })], { perm: attr.ints([0, 2, 1, 3]) }, { name: L('ctx_t') });
    const ctx = g.op('Reshape', [ctx4, mergeShape], {}, { name: L('ctx') });
    const a = c.denseAddNorm(ctx, x, n.attnOut(i), n.attnNorm(i), `l${i}_attn_out`);
    x = c.denseAddNorm(c.linearAct(a, n.inter(i), cfg.hiddenAct, `l${i}_inter`), a, n.out(i), n.outNorm(i), `l${i}_out`);
  }

  const cls = c.first(x);
  if (cfg.task !== 'classify') return { logits: null, pooled: null, cls, hidden: x };
  return { ...emitHead(c, { cls, hidden: x, attentionMask: inputs.attentionMask }), cls, hidden: x };
}

/**
 * ContextPooler (dropout at `pooler_dropout` on [CLS], dense, pooler_hidden_act) and the classifier
 * (dropout at `cls_dropout` on its input); both dropouts are identity at inference.
 */
function emitHead(c: EmitContext, body: HeadInputs): HeadOutputs {
  const cls = c.drop(body.cls, 'pooler', ['batch', c.cfg.hiddenSize]);
  const pooled = c.linearAct(cls, debertaV2Names.pooler, debertaV2Settings(c.cfg).poolerAct, 'pooler', false);
  return { pooled, logits: c.linear(c.drop(pooled, 'classifier', ['batch', debertaV2Settings(c.cfg).poolerHiddenSize]), debertaV2Names.classifier, 'classifier', false) };
}

/** microsoft/deberta-v3-base's shape as a config.json (for random-weight benchmarks): 183,831,552 encoder parameters. */
export const DEBERTA_V3_BASE_CONFIG: Readonly<Record<string, unknown>> = {
  model_type: 'deberta-v2',
  hidden_size: 768,
  num_hidden_layers: 12,
  num_attention_heads: 12,
  intermediate_size: 3072,
  vocab_size: 128100,
  max_position_embeddings: 512,
  relative_attention: true,
  position_buckets: 256,
  max_relative_positions: -1,
  norm_rel_ebd: 'layer_norm',
  share_att_key: true,
  pos_att_type: ['p2c', 'c2p'],
  position_biased_input: false,
  type_vocab_size: 0,
  layer_norm_eps: 1e-7,
};

export const debertaV2: Family = {
  name: 'deberta-v2',
  modelTypes: ['deberta-v2'],
  architectures: { DebertaV2ForSequenceClassification: 'classify', DebertaV2Model: 'encoder' },
  prefixes: ['deberta.', ''],
  probeTensor: `${debertaV2Names.word}.weight`,
  // [CLS] A [SEP] / [CLS] A [SEP] B [SEP]; the tokenizer's type ids are not a model input (type_vocab_size 0).
  tokenizer: { models: ['Unigram'], template: 'bert', specials: { cls: '[CLS]', sep: '[SEP]', pad: '[PAD]' }, tokenTypes: false },
  parseConfig,
  hfFields,
  layerProbe: (i) => `${debertaV2Names.query(i)}.weight`,
  expectedTensors,
  alignment: () => debertaV2Alignment,
  probes: debertaV2Probes,
  emit,
  emitHead,
};
