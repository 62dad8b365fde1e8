import path from 'node:path';
import { classifierArchitecture, type BertConfig } from '../checkpoint/config.js';
import type { Checkpoint } from '../checkpoint/load.js';
import { BertfuseError } from '../errors.js';

/**
 * What must hold before any weight is touched, each failure one clear error: the same
 * architecture and sizes, the same vocabulary (weights of token i only mean the same thing if
 * token i is the same word piece), classifiers as members.
 */

const SIZE_FIELDS: ReadonlyArray<readonly [keyof BertConfig, string]> = [
  ['hiddenSize', 'hidden_size'],
  ['numLayers', 'num_hidden_layers'],
  ['numHeads', 'num_attention_heads'],
  ['intermediateSize', 'intermediate_size'],
  ['vocabSize', 'vocab_size'],
  ['maxPositions', 'max_position_embeddings'],
  ['typeVocabSize', 'type_vocab_size'],
  ['hiddenAct', 'hidden_act'],
  ['layerNormEps', 'layer_norm_eps'],
];

function configFile(c: Checkpoint): string {
  return path.join(c.dir, 'config.json');
}

export function checkMembersAreClassifiers(members: readonly Checkpoint[]): void {
  for (const m of members) {
    if (m.config.task !== 'classify') {
      throw new BertfuseError('E_INCOMPATIBLE', `merge members must be ${classifierArchitecture(m.config)} models; this is a ${m.config.architecture} (use it as base_model instead)`, configFile(m));
    }
  }
}

/** Same architecture and sizes as the first member. */
export function checkSameShape(ref: Checkpoint, others: readonly Checkpoint[]): void {
  for (const o of others) {
    if (o.config.family !== ref.config.family) {
      throw new BertfuseError(
        'E_INCOMPATIBLE',
        `cannot merge ${o.name} (${o.config.architecture}, family ${o.config.family}) with ${ref.name} (${ref.config.architecture}, family ${ref.config.family}): weight merging needs one family — fuse outputs instead (bertfuse combine)`,
        configFile(o),
      );
    }
    const diffs = SIZE_FIELDS.filter(([k]) => ref.config[k] !== o.config[k]).map(([k, hf]) => `${hf} ${String(o.config[k])} vs ${String(ref.config[k])}`);
    if (diffs.length) {
      throw new BertfuseError('E_INCOMPATIBLE', `cannot merge with ${ref.name}: different architecture sizes (${diffs.join(', ')} in ${ref.name}); weight merging needs identical shapes — fuse outputs instead`, configFile(o));
    }
  }
}

/** Same word piece for every token id (and the same normalisation), or an error naming the ids that differ. */
export function checkSameVocabulary(ref: Checkpoint, others: readonly Checkpoint[]): void {
  const n = ref.tokenizer.vocabSize;
  const ids = Array.from({ length: n }, (_, i) => i);
  const refTokens = ref.tokenizer.tokens(ids);
  for (const o of others) {
    if (o.tokenizer.fingerprint === ref.tokenizer.fingerprint) continue;
    const file = Object.values(o.tokenizer.files)[0] ?? o.dir;
    if (o.tokenizer.vocabSize !== n) {
      throw new BertfuseError('E_INCOMPATIBLE', `vocabulary has ${o.tokenizer.vocabSize} tokens but ${ref.name}'s has ${n}; weight merging needs one shared vocabulary`, file);
    }
    const toks = o.tokenizer.tokens(ids);
    const diff = ids.filter((i) => toks[i] !== refTokens[i]);
    if (diff.length) {
      const shown = diff.slice(0, 5).map((i) => `id ${i} is "${toks[i]}" here but "${refTokens[i]}" in ${ref.name}`).join('; ');
      throw new BertfuseError('E_INCOMPATIBLE', `vocabulary differs from ${ref.name} at ${diff.length} token ids (${shown}${diff.length > 5 ? '; …' : ''}); weight merging needs one shared vocabulary`, file);
    }
    throw new BertfuseError('E_INCOMPATIBLE', `same vocabulary as ${ref.name} but a different normalisation or max length (lowercasing, accents, model_max_length); merged weights would see different ids`, file);
  }
}

/** Label names of a single merged head must be the same set for every member (order may differ). */
export function checkSameLabelSet(members: readonly Checkpoint[]): void {
  const ref = members[0]!;
  const labels = ref.config.labels ?? [];
  for (const m of members.slice(1)) {
    const own = m.config.labels ?? [];
    const missing = labels.filter((l) => !own.includes(l));
    const extra = own.filter((l) => !labels.includes(l));
    if (missing.length || extra.length) {
      const parts = [missing.length ? `missing ${missing.map((l) => `"${l}"`).join(', ')}` : '', extra.length ? `extra ${extra.map((l) => `"${l}"`).join(', ')}` : ''].filter(Boolean);
      throw new BertfuseError(
        'E_LABEL_MISMATCH',
        `labels [${own.join(', ')}] do not match ${ref.name}'s [${labels.join(', ')}] (${parts.join('; ')}): one merged head needs the same label names; use heads: separate for different tasks`,
        configFile(m),
      );
    }
  }
}

export function sameLabelSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((l) => b.includes(l));
}
