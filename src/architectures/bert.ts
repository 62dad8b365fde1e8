import { ruleTable, type AxisRules, type FamilyAlignment } from '../align/axis-parts.js';
import { BertfuseError } from '../errors.js';
import { emitEmbeddings, emitLayers, EmitContext, type LayerModule, type LayerNames } from '../graph/encoder-blocks.js';
import { activationField, addLinear, addNorm, checkLimits, countField, epsField, headsDivide, intField, padField, parseLabels, sizeFields } from './fields.js';
import type { ConfigSource, EmitOptions, EncoderInputs, EncoderOutputs, Family, HeadInputs, HeadOutputs, ModelConfig, ModelWeights } from './types.js';
import type { GraphBuilder } from '../graph/onnx-builder.js';
import { transpose2d } from '../graph/encoder-blocks.js';

/**
 * BERT (`BertForSequenceClassification`, `BertForMaskedLM`, `BertModel`): the family the others
 * vary. Weight names are `prefix + encoder name` (prefix "bert." for task models, "" for a bare
 * BertModel); heads live outside the prefix.
 */

export const BERT_EMBEDDINGS = {
  word: 'embeddings.word_embeddings.weight',
  position: 'embeddings.position_embeddings.weight',
  tokenType: 'embeddings.token_type_embeddings.weight',
  lnWeight: 'embeddings.LayerNorm.weight',
  lnBias: 'embeddings.LayerNorm.bias',
} as const;

/** Per-layer linear and LayerNorm modules; `{i}` is the layer index. RoBERTa, XLM-R and ELECTRA use the same. */
export const BERT_LAYER: LayerNames = {
  query: 'encoder.layer.{i}.attention.self.query',
  key: 'encoder.layer.{i}.attention.self.key',
  value: 'encoder.layer.{i}.attention.self.value',
  attnOut: 'encoder.layer.{i}.attention.output.dense',
  attnLn: 'encoder.layer.{i}.attention.output.LayerNorm',
  inter: 'encoder.layer.{i}.intermediate.dense',
  out: 'encoder.layer.{i}.output.dense',
  outLn: 'encoder.layer.{i}.output.LayerNorm',
};

export const BERT_POOLER = 'pooler.dense';
export const BERT_CLASSIFIER = 'classifier';
export const MLM_HEAD = {
  transformDense: 'cls.predictions.transform.dense',
  transformLn: 'cls.predictions.transform.LayerNorm',
  bias: 'cls.predictions.bias',
} as const;

export function layerName(module: LayerModule, i: number): string {
  return BERT_LAYER[module].replace('{i}', String(i));
}

/**
 * The shape table of BERT-named embeddings (word, position, type tables and their LayerNorm), `width`
 * wide: the hidden size, or ELECTRA's smaller embedding size (shared with RoBERTa and ELECTRA).
 */
export function addBertEmbeddings(m: Map<string, number[]>, cfg: ModelConfig, prefix: string, width = cfg.hiddenSize): void {
  const e = BERT_EMBEDDINGS;
  m.set(prefix + e.word, [cfg.vocabSize, width]);
  m.set(prefix + e.position, [cfg.maxPositions, width]);
  m.set(prefix + e.tokenType, [cfg.typeVocabSize, width]);
  addNorm(m, prefix + 'embeddings.LayerNorm', width);
}

/** The shape table of `numLayers` BERT-named post-LN layers (shared with RoBERTa and ELECTRA). */
export function addBertLayers(m: Map<string, number[]>, cfg: ModelConfig, prefix: string): void {
  const H = cfg.hiddenSize;
  const I = cfg.intermediateSize;
  for (let i = 0; i < cfg.numLayers; i++) {
    for (const q of ['query', 'key', 'value', 'attnOut'] as const) addLinear(m, prefix + layerName(q, i), H, H);
    addNorm(m, prefix + layerName('attnLn', i), H);
    addLinear(m, prefix + layerName('inter', i), I, H);
    addLinear(m, prefix + layerName('out', i), H, I);
    addNorm(m, prefix + layerName('outLn', i), H);
  }
}

/** The BERT-named fields every BERT-shaped config shares (`hidden_size`, `num_hidden_layers`, ...). */
export function parseBertShape(r: Readonly<Record<string, unknown>>, src: ConfigSource, family: string, defaults: { eps: number; pad: number; typeVocab: number }): ModelConfig {
  const file = src.file;
  const pet = r['position_embedding_type'] ?? 'absolute';
  if (pet !== 'absolute') throw new BertfuseError('E_BAD_CONFIG', `position_embedding_type ${JSON.stringify(pet)} is not supported (only "absolute")`, file);
  const hiddenSize = intField(r, 'hidden_size', file);
  const numHeads = intField(r, 'num_attention_heads', file);
  headsDivide(hiddenSize, numHeads, 'hidden_size', 'num_attention_heads', file);
  const cfg: ModelConfig = {
    family,
    architecture: src.architecture,
    task: src.task,
    hiddenSize,
    numLayers: intField(r, 'num_hidden_layers', file),
    numHeads,
    intermediateSize: intField(r, 'intermediate_size', file),
    vocabSize: intField(r, 'vocab_size', file),
    maxPositions: intField(r, 'max_position_embeddings', file, 512),
    typeVocabSize: countField(r, 'type_vocab_size', file, defaults.typeVocab),
    layerNormEps: epsField(r, 'layer_norm_eps', file, defaults.eps),
    hiddenAct: activationField(r, 'hidden_act', file, 'gelu'),
    padTokenId: padField(r, file, defaults.pad),
    labels: null,
    extra: {},
    raw: r,
  };
  checkLimits(cfg, file);
  return { ...cfg, labels: src.task === 'classify' ? parseLabels(r, file) : null };
}

/** config.json fields of the BERT-named shape. */
export function bertShapeFields(cfg: ModelConfig): Record<string, unknown> {
  return {
    ...sizeFields(cfg),
    type_vocab_size: cfg.typeVocabSize,
    layer_norm_eps: cfg.layerNormEps,
    hidden_act: cfg.hiddenAct,
    pad_token_id: cfg.padTokenId,
    position_embedding_type: 'absolute',
  };
}

/**
 * BERT's embeddings (LayerNorm output) under BERT's names, shared by the families that keep them:
 * `positions` and `typeInput` as in EmbeddingNames.
 */
export function emitBertEmbeddings(c: EmitContext, inputs: EncoderInputs, positions: 'counter' | 'padding-offset', typeInput: boolean): string {
  const e = BERT_EMBEDDINGS;
  return emitEmbeddings(c, inputs, { word: e.word, position: e.position, tokenType: c.cfg.typeVocabSize > 0 ? e.tokenType : null, typeInput, norm: 'embeddings.LayerNorm', positions });
}

function bertPooler(c: EmitContext, cls: string): string {
  return c.g.op('Tanh', [c.linear(cls, BERT_POOLER, 'pooler')], {}, { name: `${c.s}pooled` });
}

/** The pooler (dense + tanh on [CLS], inside the encoder prefix) and the classifier. */
function emitBertHead(c: EmitContext, body: HeadInputs): HeadOutputs {
  const pooled = bertPooler(c, body.cls);
  return { pooled, logits: c.linear(c.drop(pooled, 'classifier', ['batch', c.cfg.hiddenSize]), BERT_CLASSIFIER, 'classifier', false) };
}

function emitBert(g: GraphBuilder, w: ModelWeights, inputs: EncoderInputs, opts: EmitOptions = {}): EncoderOutputs {
  const c = new EmitContext(g, w, opts);
  const cfg = w.config;
  const x = emitLayers(c, emitBertEmbeddings(c, inputs, 'counter', true), inputs.attentionMask, BERT_LAYER);
  const cls = c.first(x);
  if (cfg.task === 'classify') return { ...emitBertHead(c, { cls, hidden: x, attentionMask: inputs.attentionMask }), cls, hidden: x };
  // A bare BertModel's pooler, when it carries one.
  const pooled = c.has(`${BERT_POOLER}.weight`) ? bertPooler(c, cls) : null;
  let logits: string | null = null;
  if (cfg.task === 'mlm') {
    const t = c.linearAct(opts.mlmRows?.(x) ?? x, MLM_HEAD.transformDense, cfg.hiddenAct, 'mlm_dense', false);
    const normed = c.layerNorm(t, MLM_HEAD.transformLn, false);
    // The decoder is tied to the word embeddings (not stored); only its bias is.
    const wordT = g.initializer(`${c.s}mlm_decoder_t`, transpose2d(c.tensor(BERT_EMBEDDINGS.word)), [cfg.hiddenSize, cfg.vocabSize]);
    logits = g.op('Add', [g.op('MatMul', [normed, wordT]), c.param(MLM_HEAD.bias, false)], {}, { name: `${c.s}mlm_logits` });
  }
  return { logits, pooled, cls, hidden: x };
}

/**
 * Which hidden units of a BERT-shaped classifier can be reordered without changing what it
 * computes, over canonical names (`bert.`-prefixed encoder, `bert.pooler.dense`, `classifier`), so
 * DistilBERT, RoBERTa, XLM-R and ELECTRA share it through their bertNames:
 * - `residual`: one permutation of the hidden size shared by the embeddings, every layer's
 *   residual stream and the pooler's input. LayerNorm commutes with it (mean and variance do not
 *   depend on order), so its weight and bias permute along.
 * - `qk.{i}` / `vo.{i}`: layer i's heads move as blocks (one head order for Q, K, V and the output
 *   projection's columns); inside a head the query and key units share one order (q·k is
 *   unchanged) while the value units and the output projection's columns share another.
 * - `ffn.{i}`: layer i's intermediate units (rows of intermediate.dense, columns of output.dense);
 *   the activation is elementwise.
 * - `pooler`: the head's hidden units (rows of pooler.dense — RoBERTa's and ELECTRA's
 *   classifier.dense, DistilBERT's pre_classifier — and the classifier's columns); tanh, gelu and
 *   relu are elementwise.
 */
export const BERT_ALIGNMENT_RULES: AxisRules = [
  [/^bert\.embeddings\.(?:word|position|token_type)_embeddings\.weight$/, () => [[null], ['residual']]],
  [/^bert\.embeddings\.LayerNorm\.(?:weight|bias)$/, () => [['residual']]],
  [/^bert\.encoder\.layer\.(\d+)\.attention\.self\.(?:query|key)\.weight$/, (i) => [[`qk.${i}`], ['residual']]],
  [/^bert\.encoder\.layer\.(\d+)\.attention\.self\.(?:query|key)\.bias$/, (i) => [[`qk.${i}`]]],
  [/^bert\.encoder\.layer\.(\d+)\.attention\.self\.value\.weight$/, (i) => [[`vo.${i}`], ['residual']]],
  [/^bert\.encoder\.layer\.(\d+)\.attention\.self\.value\.bias$/, (i) => [[`vo.${i}`]]],
  [/^bert\.encoder\.layer\.(\d+)\.attention\.output\.dense\.weight$/, (i) => [['residual'], [`vo.${i}`]]],
  [/^bert\.encoder\.layer\.\d+\.(?:attention\.)?output\.(?:dense\.bias|LayerNorm\.weight|LayerNorm\.bias)$/, () => [['residual']]],
  [/^bert\.encoder\.layer\.(\d+)\.intermediate\.dense\.weight$/, (i) => [[`ffn.${i}`], ['residual']]],
  [/^bert\.encoder\.layer\.(\d+)\.intermediate\.dense\.bias$/, (i) => [[`ffn.${i}`]]],
  [/^bert\.encoder\.layer\.(\d+)\.output\.dense\.weight$/, (i) => [['residual'], [`ffn.${i}`]]],
  [/^bert\.pooler\.dense\.weight$/, () => [['pooler'], ['residual']]],
  [/^bert\.pooler\.dense\.bias$/, () => [['pooler']]],
  [/^classifier\.weight$/, () => [[null], ['pooler']]],
  [/^classifier\.bias$/, () => [[null]]],
  // BertForMaskedLM's head writes back into the residual basis (its decoder is the tied word embedding).
  [/^cls\.predictions\.transform\.dense\.weight$/, () => [['residual'], ['residual']]],
  [/^cls\.predictions\.transform\.(?:dense\.bias|LayerNorm\.weight|LayerNorm\.bias)$/, () => [['residual']]],
  [/^cls\.predictions\.bias$/, () => [[null]]],
];

export const bertAlignment: FamilyAlignment = { qkWithinHead: 'free', axes: ruleTable(BERT_ALIGNMENT_RULES) };

export const bert: Family = {
  name: 'bert',
  modelTypes: ['bert'],
  architectures: { BertForSequenceClassification: 'classify', BertModel: 'encoder', BertForMaskedLM: 'mlm' },
  prefixes: ['bert.', ''],
  probeTensor: BERT_EMBEDDINGS.word,
  tokenizer: { models: ['WordPiece'], template: 'bert', specials: { cls: '[CLS]', sep: '[SEP]', pad: '[PAD]' }, tokenTypes: true },
  parseConfig: (raw, src) => parseBertShape(raw, src, 'bert', { eps: 1e-12, pad: 0, typeVocab: 2 }),
  hfFields: (cfg) => ({ model_type: 'bert', ...bertShapeFields(cfg) }),
  layerProbe: (i) => `${layerName('query', i)}.weight`,
  expectedTensors(cfg, prefix) {
    const H = cfg.hiddenSize;
    const m = new Map<string, number[]>();
    addBertEmbeddings(m, cfg, prefix);
    addBertLayers(m, cfg, prefix);
    if (cfg.task === 'classify') {
      addLinear(m, prefix + BERT_POOLER, H, H);
      addLinear(m, BERT_CLASSIFIER, cfg.labels?.length ?? 2, H);
    } else if (cfg.task === 'mlm') {
      addLinear(m, MLM_HEAD.transformDense, H, H);
      addNorm(m, MLM_HEAD.transformLn, H);
      m.set(MLM_HEAD.bias, [cfg.vocabSize]);
    }
    // A bare BertModel may or may not carry its pooler: not required, emitted when present.
    return m;
  },
  bertNames: { layers: BERT_LAYER, headDense: { module: BERT_POOLER, encoder: true }, classifier: BERT_CLASSIFIER },
  alignment: () => bertAlignment,
  emit: emitBert,
  emitHead: emitBertHead,
};
