import type { TextInput } from '../checkpoint/tokenizer.js';
import type { MergeSource } from '../merge/sources.js';
import type { StatsOptions } from '../merge/probe.js';
import { activationMatching } from './activation-matching.js';
import { alignmentOf } from './rules.js';
import { weightMatching, type GroupReport } from './weight-matching.js';

export type AlignMethod = 'weights' | 'activations';

export interface AlignmentReport {
  /** The aligned checkpoint (aligned to the first member). */
  readonly source: string;
  readonly method: AlignMethod;
  readonly iterations: number;
  readonly groups: readonly GroupReport[];
}

/**
 * Tensors both checkpoints hold, of one shape, that the family's rules cover (encoder and head; a
 * classifier over other labels, kept as a separate head, informs nothing and is left out).
 */
function sharedNames(a: MergeSource, b: MergeSource): string[] {
  const inB = new Set(b.canonicalNames());
  const rules = alignmentOf(a.ckpt);
  const shape = (s: MergeSource, n: string): string => s.ckpt.tensors.info(s.storeName(n)).shape.join('x');
  return a.canonicalNames().filter((n) => inB.has(n) && rules.axes(n) !== null && shape(a, n) === shape(b, n));
}

/**
 * Permute every other source's units to match the reference (the first member), in place:
 * afterwards `source.read(name)` returns the permuted tensor. Which axes share which permutation
 * comes from the family's rules (Family.alignment); nothing here knows a family. Label order must
 * already be set, since weight matching compares classifier rows.
 */
export async function alignSources(ref: MergeSource, others: readonly MergeSource[], method: AlignMethod, texts: readonly TextInput[], opts: StatsOptions & { seed?: number } = {}): Promise<AlignmentReport[]> {
  const reports: AlignmentReport[] = [];
  const cfg = ref.ckpt.config;
  const alignment = alignmentOf(ref.ckpt);
  for (const o of others) {
    let result;
    if (method === 'weights') {
      result = weightMatching({ read: (n) => ref.readLabelAligned(n) }, { read: (n) => o.readLabelAligned(n) }, sharedNames(ref, o), {
        alignment,
        hiddenSize: cfg.hiddenSize,
        numHeads: cfg.numHeads,
        seed: opts.seed ?? 0,
      });
    } else {
      result = await activationMatching(ref.ckpt, o.ckpt, texts, { ...opts, qkWithinHead: alignment.qkWithinHead });
    }
    o.perms = result.perms;
    reports.push({ source: o.name, method, iterations: result.iterations, groups: result.groups });
  }
  return reports;
}
