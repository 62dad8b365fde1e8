import fs from 'node:fs';
import { BertfuseError } from '../errors.js';
import { decodeText } from '../data/encoding.js';
import { familyOf, parseModelConfig, supportedArchitectures } from '../architectures/registry.js';
import type { ModelConfig } from '../architectures/types.js';
import { MAX_CONFIG_BYTES } from './config-limits.js';

/**
 * Reading and writing config.json for any family: the registry (src/architectures/registry.ts)
 * decides the family, the family maps its fields. `BertConfig` and `parseBertConfig` are the
 * names from before families; they mean the same as ModelConfig / parseModelConfig.
 */

export { SUPPORTED_ACTIVATIONS, type Activation, type ModelConfig, type Task } from '../architectures/types.js';
export { parseModelConfig } from '../architectures/registry.js';
export { parseLabels } from '../architectures/fields.js';

/** Every Hugging Face class bertfuse runs (`architectures[0]` of a config.json). */
export const SUPPORTED_ARCHITECTURES: readonly string[] = supportedArchitectures();
export type Architecture = string;
/** The config type from before families (same as ModelConfig). */
export type BertConfig = ModelConfig;
/** Alias of parseModelConfig: any family's config.json, not only BERT's. */
export const parseBertConfig = parseModelConfig;

export function readModelConfig(file: string): ModelConfig {
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
  const text = decodeText(bytes, file, undefined, { encodingFlag: false });
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new BertfuseError('E_BAD_CONFIG', `invalid JSON (${(e as Error).message})`, file);
  }
  return parseModelConfig(raw, file);
}
/** Alias of readModelConfig. */
export const readBertConfig = readModelConfig;

/** The config.json a Hugging Face `transformers` loader expects, from our config (keeping unknown raw fields). */
export function toHfConfig(cfg: ModelConfig, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const out: Record<string, unknown> = {
    ...cfg.raw,
    architectures: [cfg.architecture],
    ...familyOf(cfg).hfFields(cfg),
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

/** The classifier class of a config's family (a merged or combined folder is always a classifier). */
export function classifierArchitecture(cfg: ModelConfig): string {
  const f = familyOf(cfg);
  const a = Object.keys(f.architectures).find((k) => f.architectures[k] === 'classify');
  if (!a) throw new Error(`family ${f.name} has no classifier`);
  return a;
}
