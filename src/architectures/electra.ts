import { ruleTable, type FamilyAlignment } from '../align/axis-parts.js';
import { emitLayers, EmitContext } from '../graph/encoder-blocks.js';
import { addBertEmbeddings, addBertLayers, bertAlignment, BERT_ALIGNMENT_RULES, BERT_EMBEDDINGS, BERT_LAYER, bertShapeFields, emitBertEmbeddings, parseBertShape } from './bert.js';
import { addLinear, intField } from './fields.js';
import type { Family, HeadInputs, HeadOutputs, ModelConfig } from './types.js';

/**
 * ELECTRA (the discriminator: `ElectraForSequenceClassification`, `ElectraModel`): BERT's
 * embeddings at width `embedding_size` (LayerNorm at that width), then `embeddings_project` up to
 * `hidden_size` when the two differ, then BERT's layers under the prefix `electra.`. No pooler:
 * the head is dense → gelu (hard-coded in HF, whatever hidden_act says) → out_proj on `[CLS]`.
 */

const HEAD = { dense: 'classifier.dense', outProj: 'classifier.out_proj' } as const;
const PROJECT = 'embeddings_project';

function embeddingSize(cfg: ModelConfig): number {
  return cfg.extra['embeddingSize'] as number;
}

/**
 * Alignment when `embedding_size` differs from `hidden_size` (canonical names): the residual
 * permutation starts at embeddings_project's outputs (its rows and bias). The embeddings and their
 * LayerNorm live in the narrower embedding space before the projection and stay in place, as do the
 * projection's columns. Everything after the projection is BERT's (the classification head
 * dense → gelu → out_proj is the `pooler` group). With equal sizes there is no projection and
 * BERT's rules apply as they are.
 */
const projectedAlignment: FamilyAlignment = {
  qkWithinHead: 'free',
  note: 'ELECTRA alignment: the embeddings and their LayerNorm (embedding_size wide, before embeddings_project) stay in place; alignment starts at the projection\'s outputs',
  axes: ruleTable([
    [/^bert\.embeddings\.(?:word|position|token_type)_embeddings\.weight$/, () => [[null], [null]]],
    [/^bert\.embeddings\.LayerNorm\.(?:weight|bias)$/, () => [[null]]],
    [/^bert\.embeddings_project\.weight$/, () => [['residual'], [null]]],
    [/^bert\.embeddings_project\.bias$/, () => [['residual']]],
    ...BERT_ALIGNMENT_RULES,
  ]),
};

export const electra: Family = {
  name: 'electra',
  modelTypes: ['electra'],
  architectures: { ElectraForSequenceClassification: 'classify', ElectraModel: 'encoder' },
  prefixes: ['electra.', ''],
  probeTensor: BERT_EMBEDDINGS.word,
  tokenizer: { models: ['WordPiece'], template: 'bert', specials: { cls: '[CLS]', sep: '[SEP]', pad: '[PAD]' }, tokenTypes: true },
  parseConfig(r, src) {
    const cfg = parseBertShape(r, src, 'electra', { eps: 1e-12, pad: 0, typeVocab: 2 });
    return { ...cfg, extra: { embeddingSize: intField(r, 'embedding_size', src.file, cfg.hiddenSize) } };
  },
  hfFields: (cfg) => ({ model_type: 'electra', ...bertShapeFields(cfg), embedding_size: embeddingSize(cfg) }),
  layerProbe: (i) => `${BERT_LAYER.query.replace('{i}', String(i))}.weight`,
  expectedTensors(cfg, prefix) {
    const H = cfg.hiddenSize;
    const E = embeddingSize(cfg);
    const m = new Map<string, number[]>();
    addBertEmbeddings(m, cfg, prefix, E);
    if (E !== H) addLinear(m, prefix + PROJECT, H, E);
    addBertLayers(m, cfg, prefix);
    if (cfg.task === 'classify') {
      addLinear(m, HEAD.dense, H, H);
      addLinear(m, HEAD.outProj, cfg.labels?.length ?? 2, H);
    }
    return m;
  },
  bertNames: { layers: BERT_LAYER, headDense: { module: HEAD.dense, encoder: false }, classifier: HEAD.outProj },
  alignment: (cfg) => (embeddingSize(cfg) === cfg.hiddenSize ? bertAlignment : projectedAlignment),
  emit(g, w, inputs, opts = {}) {
    const c = new EmitContext(g, w, opts);
    let x = emitBertEmbeddings(c, inputs, 'counter', true);
    if (embeddingSize(w.config) !== w.config.hiddenSize) x = c.linear(x, PROJECT, 'embeddings_project');
    x = emitLayers(c, x, inputs.attentionMask, BERT_LAYER);
    const cls = c.first(x);
    if (w.config.task !== 'classify') return { logits: null, pooled: null, cls, hidden: x };
    return { ...emitHead(c, { cls, hidden: x, attentionMask: inputs.attentionMask }), cls, hidden: x };
  },
  emitHead,
};

/** dense → gelu (whatever hidden_act says, as HF hard-codes it) → out_proj on [CLS]. */
function emitHead(c: EmitContext, body: HeadInputs): HeadOutputs {
  // ElectraClassificationHead drops out before dense and before out_proj.
  const dims = ['batch', c.cfg.hiddenSize];
  const pooled = c.linearAct(c.drop(body.cls, 'classifier', dims), HEAD.dense, 'gelu', 'head_dense', false);
  return { pooled, logits: c.linear(c.drop(pooled, 'classifier', dims), HEAD.outProj, 'classifier', false) };
}
