import fs from 'node:fs';
import { BertfuseError } from '../errors.js';
import { decodeText } from '../data/encoding.js';
import { MAX_CONFIG_BYTES, checkConfigLimits, checkNumLabels } from './config-limits.js';

export const SUPPORTED_ARCHITECTURES = ['BertForSequenceClassification', 'BertModel', 'BertForMaskedLM'] as const;
export type Architecture = (typeof SUPPORTED_ARCHITECTURES)[number];

export const SUPPORTED_ACTIVATIONS = ['gelu', 'gelu_new', 'gelu_pytorch_tanh', 'relu'] as const;
export type Activation = (typeof SUPPORTED_ACTIVATIONS)[number];

/** The parts of a Hugging Face BertConfig that decide the graph, in our own names. */
export interface BertConfig {
  readonly architecture: Architecture;
  readonly hiddenSize: number;
  readonly numLayers: number;
  readonly numHeads: number;
  readonly intermediateSize: number;
  readonly vocabSize: number;
  readonly maxPositions: number;
  readonly typeVocabSize: number;
  readonly layerNormEps: number;
  readonly hiddenAct: Activation;
  readonly padTokenId: number;
  /** Label names in class-index order; null for models without a classification head. */
  readonly labels: readonly string[] | null;
  /** The config.json object as read, so writers can keep fields we do not interpret. */
  readonly raw: Readonly<Record<string, unknown>>;
}

export function intField(raw: Record<string, unknown>, key: string, file: string, fallback?: number): number {
  const v = raw[key] ?? fallback;
  if (v === undefined) throw new BertfuseError('E_BAD_CONFIG', `missing field "${key}"`, file);
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0) {
    throw new BertfuseError('E_BAD_CONFIG', `field "${key}" must be a positive integer, got ${JSON.stringify(v)}`, file);
  }
  return v;
}

/** id2label (string keys "0".."n-1") and label2id must describe the same list (LABEL_i names when absent). */
export function parseLabels(raw: Record<string, unknown>, file: string): string[] {
  const id2label = raw['id2label'];
  if (typeof id2label !== 'object' || id2label === null || Array.isArray(id2label)) {
    const n = raw['num_labels'];
    if (typeof n === 'number' && Number.isSafeInteger(n) && n > 0) {
      checkNumLabels(n, file);
      return Array.from({ length: n }, (_, i) => `LABEL_${i}`);
    }
    return ['LABEL_0', 'LABEL_1'];
  }
  const entries = Object.entries(id2label as Record<string, unknown>);
  checkNumLabels(entries.length, file, 'id2label size');
  const n = raw['num_labels'];
  if (n !== undefined && n !== entries.length) throw new BertfuseError('E_BAD_CONFIG', `num_labels ${JSON.stringify(n)} disagrees with id2label, which names ${entries.length} labels`, file);
  const labels: string[] = new Array(entries.length);
  for (const [k, v] of entries) {
    const i = Number(k);
    if (!Number.isInteger(i) || i < 0 || i >= entries.length || String(i) !== k) {
      throw new BertfuseError('E_BAD_CONFIG', `id2label key ${JSON.stringify(k)} is not an index 0..${entries.length - 1}`, file);
    }
    if (typeof v !== 'string' || v === '') throw new BertfuseError('E_BAD_CONFIG', `id2label[${k}] must be a non-empty string`, file);
    labels[i] = v;
  }
  if (new Set(labels).size !== labels.length) throw new BertfuseError('E_BAD_CONFIG', `id2label has duplicate names: ${labels.join(', ')}`, file);
  const label2id = raw['label2id'];
  if (typeof label2id === 'object' && label2id !== null && !Array.isArray(label2id)) {
    for (const [name, id] of Object.entries(label2id as Record<string, unknown>)) {
      if (labels[Number(id)] !== name) {
        throw new BertfuseError('E_BAD_CONFIG', `label2id["${name}"] = ${JSON.stringify(id)} disagrees with id2label (${labels.map((l, i) => `${i}=${l}`).join(', ')})`, file);
      }
    }
  }
  return labels;
}

export function parseBertConfig(raw: unknown, file: string): BertConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new BertfuseError('E_BAD_CONFIG', 'not a JSON object', file);
  const r = raw as Record<string, unknown>;
  const archs = r['architectures'];
  let architecture: Architecture;
  if (archs === undefined) {
    // Configs saved from a bare AutoModel often omit `architectures`; id2label hints at a classifier.
    architecture = r['id2label'] ? 'BertForSequenceClassification' : 'BertModel';
  } else {
    if (!Array.isArray(archs) || typeof archs[0] !== 'string') throw new BertfuseError('E_BAD_CONFIG', '"architectures" must be a list of names', file);
    const a = archs[0];
    if (!(SUPPORTED_ARCHITECTURES as readonly string[]).includes(a)) {
      throw new BertfuseError('E_UNSUPPORTED_ARCH', `architecture "${a}" is not supported (supported: ${SUPPORTED_ARCHITECTURES.join(', ')})`, file);
    }
    architecture = a as Architecture;
  }
  const modelType = r['model_type'];
  if (modelType !== undefined && modelType !== 'bert') {
    throw new BertfuseError('E_UNSUPPORTED_ARCH', `model_type "${String(modelType)}" is not supported (supported: bert)`, file);
  }
  const act = r['hidden_act'] ?? 'gelu';
  if (typeof act !== 'string' || !(SUPPORTED_ACTIVATIONS as readonly string[]).includes(act)) {
    throw new BertfuseError('E_BAD_CONFIG', `hidden_act ${JSON.stringify(act)} is not supported (supported: ${SUPPORTED_ACTIVATIONS.join(', ')})`, file);
  }
  const pet = r['position_embedding_type'] ?? 'absolute';
  if (pet !== 'absolute') throw new BertfuseError('E_BAD_CONFIG', `position_embedding_type ${JSON.stringify(pet)} is not supported (only "absolute")`, file);
  const hiddenSize = intField(r, 'hidden_size', file);
  const numHeads = intField(r, 'num_attention_heads', file);
  if (hiddenSize % numHeads !== 0) throw new BertfuseError('E_BAD_CONFIG', `hidden_size ${hiddenSize} is not divisible by num_attention_heads ${numHeads}`, file);
  const eps = r['layer_norm_eps'] ?? 1e-12;
  if (typeof eps !== 'number' || !(eps > 0)) throw new BertfuseError('E_BAD_CONFIG', `layer_norm_eps must be a positive number, got ${JSON.stringify(eps)}`, file);
  const pad = r['pad_token_id'] ?? 0;
  if (typeof pad !== 'number' || !Number.isSafeInteger(pad) || pad < 0) throw new BertfuseError('E_BAD_CONFIG', `pad_token_id must be an integer >= 0, got ${JSON.stringify(pad)}`, file);
  const dims = {
    hiddenSize,
    numLayers: intField(r, 'num_hidden_layers', file),
    numHeads,
    intermediateSize: intField(r, 'intermediate_size', file),
    vocabSize: intField(r, 'vocab_size', file),
    maxPositions: intField(r, 'max_position_embeddings', file, 512),
    typeVocabSize: intField(r, 'type_vocab_size', file, 2),
  };
  const numLabels = r['num_labels'];
  checkConfigLimits({ ...dims, numLabels: typeof numLabels === 'number' && architecture === 'BertForSequenceClassification' ? numLabels : null, padTokenId: pad }, file);
  return {
    architecture,
    ...dims,
    layerNormEps: eps,
    hiddenAct: act as Activation,
    padTokenId: pad,
    labels: architecture === 'BertForSequenceClassification' ? parseLabels(r, file) : null,
    raw: r,
  };
}

export function readBertConfig(file: string): BertConfig {
  let bytes: Buffer;
  try {
    const size = fs.statSync(file).size;
    if (size > MAX_CONFIG_BYTES) throw new BertfuseError('E_BAD_CONFIG', `config.json is ${size} bytes; a config is a few KB (at most ${MAX_CONFIG_BYTES})`, file);
    bytes = fs.readFileSync(file);
  } catch (e) {
    if (e instanceof BertfuseError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new BertfuseError('E_MISSING_FILE', code === 'ENOENT' ? 'config.json not found' : `cannot read config.json (${code ?? 'error'})`, file);
  }
  // Strict UTF-8 (a latin-1 label name would otherwise become U+FFFD silently); a BOM is dropped.
  const text = decodeText(bytes, file);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new BertfuseError('E_BAD_CONFIG', `invalid JSON (${(e as Error).message})`, file);
  }
  return parseBertConfig(raw, file);
}

/** The config.json a Hugging Face `transformers` loader expects, from our config (keeping unknown raw fields). */
export function toHfConfig(cfg: BertConfig, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const out: Record<string, unknown> = {
    ...cfg.raw,
    architectures: [cfg.architecture],
    model_type: 'bert',
    hidden_size: cfg.hiddenSize,
    num_hidden_layers: cfg.numLayers,
    num_attention_heads: cfg.numHeads,
    intermediate_size: cfg.intermediateSize,
    vocab_size: cfg.vocabSize,
    max_position_embeddings: cfg.maxPositions,
    type_vocab_size: cfg.typeVocabSize,
    layer_norm_eps: cfg.layerNormEps,
    hidden_act: cfg.hiddenAct,
    pad_token_id: cfg.padTokenId,
    position_embedding_type: 'absolute',
  };
  if (cfg.labels) {
    out['id2label'] = Object.fromEntries(cfg.labels.map((l, i) => [String(i), l]));
    out['label2id'] = Object.fromEntries(cfg.labels.map((l, i) => [l, i]));
    out['num_labels'] = undefined;
  } else {
    delete out['id2label'];
    delete out['label2id'];
  }
  Object.assign(out, overrides);
  for (const k of Object.keys(out)) if (out[k] === undefined) delete out[k];
  // Stable key order: identical configs serialise to identical bytes.
  return Object.fromEntries(Object.keys(out).sort().map((k) => [k, out[k]]));
}
