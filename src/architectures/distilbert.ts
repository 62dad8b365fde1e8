import { BertfuseError } from '../errors.js';
import { emitEmbeddings, emitLayers, EmitContext, type LayerNames } from '../graph/encoder-blocks.js';
import { activationField, addLinear, addNorm, checkLimits, headsDivide, intField, padField, parseLabels } from './fields.js';
import { bertAlignment } from './bert.js';
import type { Family, HeadInputs, HeadOutputs, ModelConfig } from './types.js';

/**
 * DistilBERT (`DistilBertForSequenceClassification`, `DistilBertModel`): BERT's post-LN layers
 * under other names and config fields (`dim`, `n_layers`, `n_heads`, `hidden_dim`, `activation`),
 * no token types, LayerNorm eps fixed at 1e-12 (not a config field), and a head of
 * `pre_classifier` + ReLU (not a pooler + tanh) on the first token.
 */

const LAYER: LayerNames = {
  query: 'transformer.layer.{i}.attention.q_lin',
  key: 'transformer.layer.{i}.attention.k_lin',
  value: 'transformer.layer.{i}.attention.v_lin',
  attnOut: 'transformer.layer.{i}.attention.out_lin',
  attnLn: 'transformer.layer.{i}.sa_layer_norm',
  inter: 'transformer.layer.{i}.ffn.lin1',
  out: 'transformer.layer.{i}.ffn.lin2',
  outLn: 'transformer.layer.{i}.output_layer_norm',
};
const EMB = { word: 'embeddings.word_embeddings.weight', position: 'embeddings.position_embeddings.weight', norm: 'embeddings.LayerNorm' } as const;
const PRE_CLASSIFIER = 'pre_classifier';
const CLASSIFIER = 'classifier';
const layer = (m: keyof LayerNames, i: number): string => LAYER[m].replace('{i}', String(i));

export const distilbert: Family = {
  name: 'distilbert',
  modelTypes: ['distilbert'],
  architectures: { DistilBertForSequenceClassification: 'classify', DistilBertModel: 'encoder' },
  prefixes: ['distilbert.', ''],
  probeTensor: EMB.word,
  tokenizer: { models: ['WordPiece'], template: 'bert', specials: { cls: '[CLS]', sep: '[SEP]', pad: '[PAD]' }, tokenTypes: false },
  parseConfig(r, src) {
    const file = src.file;
    // HF's DistilBertConfig reads only its own names (hidden_size etc. are attribute aliases): a
    // config with BERT's names alone is a BERT config mislabelled, not a DistilBERT one.
    if (r['dim'] === undefined && r['hidden_size'] !== undefined) {
      throw new BertfuseError('E_BAD_CONFIG', `a DistilBERT config names its sizes dim / n_layers / n_heads / hidden_dim, but this one has BERT's hidden_size / num_hidden_layers / ... (model_type "distilbert" with a BERT config?)`, file);
    }
    if (r['sinusoidal_pos_embds'] === true) throw new BertfuseError('E_BAD_CONFIG', 'sinusoidal_pos_embds: true is not supported (learned positions only)', file);
    const hiddenSize = intField(r, 'dim', file, 768);
    const numHeads = intField(r, 'n_heads', file, 12);
    headsDivide(hiddenSize, numHeads, 'dim', 'n_heads', file);
    const cfg: ModelConfig = {
      family: 'distilbert',
      architecture: src.architecture,
      task: src.task,
      hiddenSize,
      numLayers: intField(r, 'n_layers', file, 6),
      numHeads,
      intermediateSize: intField(r, 'hidden_dim', file, 3072),
      vocabSize: intField(r, 'vocab_size', file, 30522),
      maxPositions: intField(r, 'max_position_embeddings', file, 512),
      typeVocabSize: 0,
      layerNormEps: 1e-12,
      hiddenAct: activationField(r, 'activation', file, 'gelu'),
      padTokenId: padField(r, file, 0),
      labels: null,
      extra: {},
      raw: r,
    };
    checkLimits(cfg, file);
    return { ...cfg, labels: src.task === 'classify' ? parseLabels(r, file) : null };
  },
  hfFields: (cfg) => ({
    model_type: 'distilbert',
    dim: cfg.hiddenSize,
    n_layers: cfg.numLayers,
    n_heads: cfg.numHeads,
    hidden_dim: cfg.intermediateSize,
    vocab_size: cfg.vocabSize,
    max_position_embeddings: cfg.maxPositions,
    activation: cfg.hiddenAct,
    pad_token_id: cfg.padTokenId,
    sinusoidal_pos_embds: false,
  }),
  layerProbe: (i) => `${layer('query', i)}.weight`,
  expectedTensors(cfg, prefix) {
    const H = cfg.hiddenSize;
    const I = cfg.intermediateSize;
    const m = new Map<string, number[]>();
    m.set(prefix + EMB.word, [cfg.vocabSize, H]);
    m.set(prefix + EMB.position, [cfg.maxPositions, H]);
    addNorm(m, prefix + EMB.norm, H);
    for (let i = 0; i < cfg.numLayers; i++) {
      for (const q of ['query', 'key', 'value', 'attnOut'] as const) addLinear(m, prefix + layer(q, i), H, H);
      addNorm(m, prefix + layer('attnLn', i), H);
      addLinear(m, prefix + layer('inter', i), I, H);
      addLinear(m, prefix + layer('out', i), H, I);
      addNorm(m, prefix + layer('outLn', i), H);
    }
    if (cfg.task === 'classify') {
      addLinear(m, PRE_CLASSIFIER, H, H);
      addLinear(m, CLASSIFIER, cfg.labels?.length ?? 2, H);
    }
    return m;
  },
  bertNames: { layers: LAYER, headDense: { module: PRE_CLASSIFIER, encoder: false }, classifier: CLASSIFIER },
  alignment: () => bertAlignment,
  emit(g, w, inputs, opts = {}) {
    const c = new EmitContext(g, w, opts);
    // DistilBERT scales q before q·kᵀ and masks with masked_fill; BERT's order (scale the scores,
    // add float32.min) gives the same values within float rounding, so the shared layers serve.
    const x0 = emitEmbeddings(c, inputs, { ...EMB, tokenType: null, typeInput: false, positions: 'counter' });
    // Hugging Face's DistilBERT has no dropout after out_lin (only on the attention probabilities).
    const x = emitLayers(c, x0, inputs.attentionMask, LAYER, false);
    const cls = c.first(x);
    if (w.config.task !== 'classify') return { logits: null, pooled: null, cls, hidden: x };
    return { ...emitHead(c, { cls, hidden: x, attentionMask: inputs.attentionMask }), cls, hidden: x };
  },
  emitHead,
};

/** pre_classifier + ReLU on the first token, then the classifier. */
function emitHead(c: EmitContext, body: HeadInputs): HeadOutputs {
  const pooled = c.linearAct(body.cls, PRE_CLASSIFIER, 'relu', 'pre_classifier', false);
  return { pooled, logits: c.linear(c.drop(pooled, 'classifier', ['batch', c.cfg.hiddenSize]), CLASSIFIER, 'classifier', false) };
}
