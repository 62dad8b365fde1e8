import type { LayerModule, LayerNames } from '../graph/encoder-blocks.js';
import { BERT_LAYER } from './bert.js';
import type { Family } from './types.js';

/**
 * Checkpoint names ↔ BERT's canonical names (`bert.`-prefixed encoder, `bert.pooler.dense`,
 * `classifier`), for the merge driver and alignment, which speak BERT's names for every family
 * whose layers are BERT's under other names (Family.bertNames). Families without bertNames keep
 * their own names both ways.
 */

const MODULES: readonly LayerModule[] = ['query', 'key', 'value', 'attnOut', 'attnLn', 'inter', 'out', 'outLn'];

function templateRegex(t: string): RegExp {
  return new RegExp(`^${t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace('\\{i\\}', '(\\d+)')}\\.`);
}

function renameLayer(rest: string, from: LayerNames, to: LayerNames): string {
  for (const m of MODULES) {
    const hit = templateRegex(from[m]).exec(rest);
    if (hit) return `${to[m].replace('{i}', hit[1]!)}.${rest.slice(hit[0].length)}`;
  }
  return rest;
}

const HEADS = ['classifier.', 'cls.', 'lm_head.', 'pre_classifier.'];

/** The canonical name of a checkpoint tensor. */
export function toCanonical(family: Family, prefix: string, name: string): string {
  const n = family.bertNames;
  if (!n) return name;
  const d = n.headDense;
  if (d && !d.encoder && name.startsWith(`${d.module}.`)) return `bert.pooler.dense.${name.slice(d.module.length + 1)}`;
  if (name.startsWith(`${n.classifier}.`)) return `classifier.${name.slice(n.classifier.length + 1)}`;
  const encoder = prefix !== '' ? name.startsWith(prefix) : !HEADS.some((h) => name.startsWith(h));
  if (!encoder) return name;
  const rest = renameLayer(name.slice(prefix.length), n.layers, BERT_LAYER);
  if (d && d.encoder && rest.startsWith(`${d.module}.`)) return `bert.pooler.dense.${rest.slice(d.module.length + 1)}`;
  return `bert.${rest}`;
}

/** The checkpoint name of a canonical tensor name (the inverse of toCanonical). */
export function fromCanonical(family: Family, prefix: string, canonical: string): string {
  const n = family.bertNames;
  if (!n) return canonical;
  const d = n.headDense;
  if (canonical.startsWith('bert.pooler.dense.') && d) {
    const rest = canonical.slice('bert.pooler.dense.'.length);
    return `${d.encoder ? prefix : ''}${d.module}.${rest}`;
  }
  if (canonical.startsWith('classifier.')) return `${n.classifier}.${canonical.slice('classifier.'.length)}`;
  if (!canonical.startsWith('bert.')) return canonical;
  return prefix + renameLayer(canonical.slice('bert.'.length), BERT_LAYER, n.layers);
}
