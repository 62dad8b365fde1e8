import { BertfuseError } from '../errors.js';
import { emitLayers, EmitContext, transpose2d } from '../graph/encoder-blocks.js';
import { addBertEmbeddings, addBertLayers, bertAlignment, BERT_EMBEDDINGS, BERT_LAYER, bertShapeFields, emitBertEmbeddings, parseBertShape } from './bert.js';
import { addLinear, addNorm } from './fields.js';
import type { Family, HeadInputs, HeadOutputs, Task } from './types.js';

/**
 * RoBERTa and XLM-RoBERTa: BERT's encoder and names under the prefix `roberta.`, with
 * - position ids from the input ids: cumsum(ids != pad) · (ids != pad) + pad (real tokens pad+1,
 *   pad+2, …), hence max_position_embeddings = tokens + pad + 1;
 * - a one-row token-type table added to every token, and no `token_type_ids` input;
 * - LayerNorm eps from the file (released checkpoints say 1e-5; HF's class default is 1e-12);
 * - no pooler: the classifier is dense → tanh → out_proj on `<s>`; the MLM head is dense → gelu →
 *   LayerNorm → tied decoder + `lm_head.bias`.
 * The two differ only in names and tokenizer (byte-level BPE vs Unigram), so one factory makes both.
 */

const HEAD = { dense: 'classifier.dense', outProj: 'classifier.out_proj' } as const;
const LM_HEAD = { dense: 'lm_head.dense', norm: 'lm_head.layer_norm', bias: 'lm_head.bias' } as const;

function robertaFamily(name: 'roberta' | 'xlm-roberta', prefixClass: 'Roberta' | 'XLMRoberta', tokenizerModel: 'BPE' | 'Unigram'): Family {
  const architectures: Record<string, Task> = {
    [`${prefixClass}ForSequenceClassification`]: 'classify',
    [`${prefixClass}Model`]: 'encoder',
    [`${prefixClass}ForMaskedLM`]: 'mlm',
  };
  return {
    name,
    modelTypes: [name],
    architectures,
    prefixes: ['roberta.', ''],
    probeTensor: BERT_EMBEDDINGS.word,
    tokenizer: { models: [tokenizerModel], template: 'roberta', specials: { cls: '<s>', sep: '</s>', pad: '<pad>' }, tokenTypes: false },
    parseConfig(r, src) {
      const cfg = parseBertShape(r, src, name, { eps: 1e-12, pad: 1, typeVocab: 1 });
      if (cfg.typeVocabSize !== 1) {
        // Without a type-ids input every token reads row 0; a larger table would mean a model
        // trained with segment ids, which RoBERTa's recipe never does.
        throw new BertfuseError('E_BAD_CONFIG', `type_vocab_size ${cfg.typeVocabSize} is not supported for ${name} (expected 1: every token adds the single type row)`, src.file);
      }
      if (cfg.maxPositions <= cfg.padTokenId + 1) {
        throw new BertfuseError('E_BAD_CONFIG', `max_position_embeddings ${cfg.maxPositions} leaves no position for a token (positions start at pad_token_id + 1 = ${cfg.padTokenId + 1})`, src.file);
      }
      return cfg;
    },
    hfFields: (cfg) => ({ model_type: name, ...bertShapeFields(cfg) }),
    maxTokens: (cfg) => cfg.maxPositions - cfg.padTokenId - 1,
    layerProbe: (i) => `${BERT_LAYER.query.replace('{i}', String(i))}.weight`,
    expectedTensors(cfg, prefix) {
      const H = cfg.hiddenSize;
      const m = new Map<string, number[]>();
      addBertEmbeddings(m, cfg, prefix);
      addBertLayers(m, cfg, prefix);
      if (cfg.task === 'classify') {
        addLinear(m, HEAD.dense, H, H);
        addLinear(m, HEAD.outProj, cfg.labels?.length ?? 2, H);
      } else if (cfg.task === 'mlm') {
        addLinear(m, LM_HEAD.dense, H, H);
        addNorm(m, LM_HEAD.norm, H);
        m.set(LM_HEAD.bias, [cfg.vocabSize]);
      }
      return m;
    },
    bertNames: { layers: BERT_LAYER, headDense: { module: HEAD.dense, encoder: false }, classifier: HEAD.outProj },
    alignment: () => bertAlignment,
    emit(g, w, inputs, opts = {}) {
      const c = new EmitContext(g, w, opts);
      const cfg = w.config;
      const x = emitLayers(c, emitBertEmbeddings(c, inputs, 'padding-offset', false), inputs.attentionMask, BERT_LAYER);
      const cls = c.first(x);
      if (cfg.task === 'classify') return { ...emitRobertaHead(c, { cls, hidden: x, attentionMask: inputs.attentionMask }), cls, hidden: x };
      if (cfg.task === 'mlm') {
        // HF's RobertaLMHead applies gelu whatever hidden_act says.
        const t = c.linearAct(opts.mlmRows?.(x) ?? x, LM_HEAD.dense, 'gelu', 'mlm_dense', false);
        const normed = c.layerNorm(t, LM_HEAD.norm, false);
        const wordT = g.initializer(`${c.s}mlm_decoder_t`, transpose2d(c.tensor(BERT_EMBEDDINGS.word)), [cfg.hiddenSize, cfg.vocabSize]);
        const logits = g.op('Add', [g.op('MatMul', [normed, wordT]), c.param(LM_HEAD.bias, false)], {}, { name: `${c.s}mlm_logits` });
        return { logits, pooled: null, cls, hidden: x };
      }
      return { logits: null, pooled: null, cls, hidden: x };
    },
    emitHead: emitRobertaHead,
  };
}

/** No pooler: dense → tanh → out_proj on `<s>`, outside the encoder prefix. */
function emitRobertaHead(c: EmitContext, body: HeadInputs): HeadOutputs {
  // RobertaClassificationHead drops out before dense and before out_proj.
  const dims = ['batch', c.cfg.hiddenSize];
  const pooled = c.g.op('Tanh', [c.linear(c.drop(body.cls, 'classifier', dims), HEAD.dense, 'head_dense', false)], {}, { name: `${c.s}pooled` });
  return { pooled, logits: c.linear(c.drop(pooled, 'classifier', dims), HEAD.outProj, 'classifier', false) };
}

export const roberta: Family = robertaFamily('roberta', 'Roberta', 'BPE');
export const xlmRoberta: Family = robertaFamily('xlm-roberta', 'XLMRoberta', 'Unigram');
