import type { BertConfig } from './config.js';

/**
 * Hugging Face BERT weight names as data. A checkpoint's names are `prefix + encoder name` (prefix
 * "bert." for task models, "" for a bare BertModel); heads live outside the prefix. Adding a model
 * family is adding a table like this one.
 */
export const BERT_EMBEDDINGS = {
  word: 'embeddings.word_embeddings.weight',
  position: 'embeddings.position_embeddings.weight',
  tokenType: 'embeddings.token_type_embeddings.weight',
  lnWeight: 'embeddings.LayerNorm.weight',
  lnBias: 'embeddings.LayerNorm.bias',
} as const;

/** Per-layer linear and LayerNorm modules; `{i}` is the layer index. */
export const BERT_LAYER = {
  query: 'encoder.layer.{i}.attention.self.query',
  key: 'encoder.layer.{i}.attention.self.key',
  value: 'encoder.layer.{i}.attention.self.value',
  attnOut: 'encoder.layer.{i}.attention.output.dense',
  attnLn: 'encoder.layer.{i}.attention.output.LayerNorm',
  inter: 'encoder.layer.{i}.intermediate.dense',
  out: 'encoder.layer.{i}.output.dense',
  outLn: 'encoder.layer.{i}.output.LayerNorm',
} as const;

export type LayerModule = keyof typeof BERT_LAYER;

export const BERT_POOLER = 'pooler.dense';
export const BERT_CLASSIFIER = 'classifier';
export const MLM_HEAD = {
  transformDense: 'cls.predictions.transform.dense',
  transformLn: 'cls.predictions.transform.LayerNorm',
  bias: 'cls.predictions.bias',
} as const;

/** Old TF-converted checkpoints name LayerNorm parameters gamma/beta. */
export const LEGACY_ALIASES: ReadonlyArray<readonly [string, string]> = [
  ['LayerNorm.weight', 'LayerNorm.gamma'],
  ['LayerNorm.bias', 'LayerNorm.beta'],
];

export function layerName(module: LayerModule, i: number): string {
  return BERT_LAYER[module].replace('{i}', String(i));
}

/** Every tensor a config implies, with its shape: used to validate checkpoints and to create random ones. */
export function expectedTensors(cfg: BertConfig, prefix: string): Map<string, number[]> {
  const H = cfg.hiddenSize;
  const I = cfg.intermediateSize;
  const m = new Map<string, number[]>();
  const e = BERT_EMBEDDINGS;
  m.set(prefix + e.word, [cfg.vocabSize, H]);
  m.set(prefix + e.position, [cfg.maxPositions, H]);
  m.set(prefix + e.tokenType, [cfg.typeVocabSize, H]);
  m.set(prefix + e.lnWeight, [H]);
  m.set(prefix + e.lnBias, [H]);
  const linear = (name: string, out: number, inp: number): void => {
    m.set(`${prefix}${name}.weight`, [out, inp]);
    m.set(`${prefix}${name}.bias`, [out]);
  };
  const norm = (name: string): void => {
    m.set(`${prefix}${name}.weight`, [H]);
    m.set(`${prefix}${name}.bias`, [H]);
  };
  for (let i = 0; i < cfg.numLayers; i++) {
    linear(layerName('query', i), H, H);
    linear(layerName('key', i), H, H);
    linear(layerName('value', i), H, H);
    linear(layerName('attnOut', i), H, H);
    norm(layerName('attnLn', i));
    linear(layerName('inter', i), I, H);
    linear(layerName('out', i), H, I);
    norm(layerName('outLn', i));
  }
  if (cfg.architecture === 'BertForSequenceClassification') {
    linear(BERT_POOLER, H, H);
    const n = cfg.labels?.length ?? 2;
    m.set(`${BERT_CLASSIFIER}.weight`, [n, H]);
    m.set(`${BERT_CLASSIFIER}.bias`, [n]);
  } else if (cfg.architecture === 'BertForMaskedLM') {
    m.set(`${MLM_HEAD.transformDense}.weight`, [H, H]);
    m.set(`${MLM_HEAD.transformDense}.bias`, [H]);
    m.set(`${MLM_HEAD.transformLn}.weight`, [H]);
    m.set(`${MLM_HEAD.transformLn}.bias`, [H]);
    m.set(MLM_HEAD.bias, [cfg.vocabSize]);
  }
  return m;
}
