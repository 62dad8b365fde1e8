import { BertfuseError } from '../errors.js';
import { checkConfigLimits, checkNumLabels } from '../checkpoint/config-limits.js';
import { SUPPORTED_ACTIVATIONS, type Activation, type ModelConfig } from './types.js';

/**
 * Typed reads of config.json fields with Hugging Face's defaults, shared by every family: a wrong
 * type is one clear line naming the file and the field (the family's own field name, e.g.
 * DistilBERT's `dim`), never a NaN that surfaces as garbage logits later.
 */
export type RawConfig = Readonly<Record<string, unknown>>;
type Raw = RawConfig;

export function intField(raw: Raw, key: string, file: string, fallback?: number): number {
  const v = raw[key] ?? fallback;
  if (v === undefined) throw new BertfuseError('E_BAD_CONFIG', `missing field "${key}"`, file);
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0) {
    throw new BertfuseError('E_BAD_CONFIG', `field "${key}" must be a positive integer, got ${JSON.stringify(v)}`, file);
  }
  return v;
}

/** A non-negative integer (type_vocab_size may be 0: no token types). */
export function countField(raw: Raw, key: string, file: string, fallback: number): number {
  const v = raw[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw new BertfuseError('E_BAD_CONFIG', `field "${key}" must be an integer >= 0, got ${JSON.stringify(v)}`, file);
  }
  return v;
}

export function epsField(raw: Raw, key: string, file: string, fallback: number): number {
  const eps = raw[key] ?? fallback;
  if (typeof eps !== 'number' || !(eps > 0)) throw new BertfuseError('E_BAD_CONFIG', `${key} must be a positive number, got ${JSON.stringify(eps)}`, file);
  return eps;
}

export function padField(raw: Raw, file: string, fallback: number): number {
  const pad = raw['pad_token_id'] ?? fallback;
  if (typeof pad !== 'number' || !Number.isSafeInteger(pad) || pad < 0) throw new BertfuseError('E_BAD_CONFIG', `pad_token_id must be an integer >= 0, got ${JSON.stringify(pad)}`, file);
  return pad;
}

export function activationField(raw: Raw, key: string, file: string, fallback: Activation): Activation {
  const act = raw[key] ?? fallback;
  if (typeof act !== 'string' || !(SUPPORTED_ACTIVATIONS as readonly string[]).includes(act)) {
    throw new BertfuseError('E_BAD_CONFIG', `${key} ${JSON.stringify(act)} is not supported (supported: ${SUPPORTED_ACTIVATIONS.join(', ')})`, file);
  }
  return act as Activation;
}

export function headsDivide(hidden: number, heads: number, hiddenKey: string, headsKey: string, file: string): void {
  if (hidden % heads !== 0) throw new BertfuseError('E_BAD_CONFIG', `${hiddenKey} ${hidden} is not divisible by ${headsKey} ${heads}`, file);
}

/** id2label (string keys "0".."n-1") and label2id must describe the same list. */
export function parseLabels(raw: Raw, file: string): string[] {
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

/**
 * Every family calls this on the sizes it parsed, before anything is allocated from them
 * (config-limits.ts): a hostile config.json asking for gigabytes is refused in one line.
 */
export function checkLimits(cfg: ModelConfig, file: string): ModelConfig {
  const numLabels = cfg.raw['num_labels'];
  checkConfigLimits(
    {
      hiddenSize: cfg.hiddenSize,
      numLayers: cfg.numLayers,
      numHeads: cfg.numHeads,
      intermediateSize: cfg.intermediateSize,
      vocabSize: cfg.vocabSize,
      maxPositions: cfg.maxPositions,
      typeVocabSize: cfg.typeVocabSize,
      numLabels: typeof numLabels === 'number' && cfg.task === 'classify' ? numLabels : null,
      padTokenId: cfg.padTokenId,
    },
    file,
  );
  return cfg;
}

/** Linear `name` ([out, in] weight + [out] bias) into a shape table. */
export function addLinear(m: Map<string, number[]>, name: string, out: number, inp: number): void {
  m.set(`${name}.weight`, [out, inp]);
  m.set(`${name}.bias`, [out]);
}

/** LayerNorm `name` (weight + bias of width n) into a shape table. */
export function addNorm(m: Map<string, number[]>, name: string, n: number): void {
  m.set(`${name}.weight`, [n]);
  m.set(`${name}.bias`, [n]);
}


export function numberField(r: RawConfig, key: string, file: string, fallback: number, check: (v: number) => boolean = (v) => v > 0, what = 'a positive number'): number {
  const v = r[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || !check(v)) throw new BertfuseError('E_BAD_CONFIG', `field "${key}" must be ${what}, got ${JSON.stringify(v)}`, file);
  return v;
}

export function integerField(r: RawConfig, key: string, file: string, fallback: number, min: number): number {
  return numberField(r, key, file, fallback, (v) => Number.isSafeInteger(v) && v >= min, `an integer >= ${min}`);
}

export function boolField(r: RawConfig, key: string, file: string, fallback: boolean): boolean {
  const v = r[key] ?? fallback;
  if (typeof v !== 'boolean') throw new BertfuseError('E_BAD_CONFIG', `field "${key}" must be true or false, got ${JSON.stringify(v)}`, file);
  return v;
}

export function choiceField<T extends string>(r: RawConfig, key: string, file: string, fallback: T, choices: readonly T[]): T {
  const v = r[key] ?? fallback;
  if (typeof v !== 'string' || !(choices as readonly string[]).includes(v)) {
    throw new BertfuseError('E_BAD_CONFIG', `field "${key}" is ${JSON.stringify(v)}; supported: ${choices.join(', ')}`, file);
  }
  return v as T;
}

/** The size fields BERT, RoBERTa, ELECTRA, DeBERTa-v2 and ModernBERT spell alike (DistilBERT has its own names). */
export function sizeFields(cfg: ModelConfig): Record<string, number> {
  return {
    hidden_size: cfg.hiddenSize,
    num_hidden_layers: cfg.numLayers,
    num_attention_heads: cfg.numHeads,
    intermediate_size: cfg.intermediateSize,
    vocab_size: cfg.vocabSize,
    max_position_embeddings: cfg.maxPositions,
  };
}
