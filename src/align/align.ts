import type { TextInput } from '../checkpoint/tokenizer.js';
import type { MergeSource } from '../merge/sources.js';
import type { StatsOptions } from '../merge/probe.js';
import { activationMatching } from './activation-matching.js';
import { permutationAxes } from './permutation.js';
import { weightMatching, type GroupReport } from './weight-matching.js';

export type AlignMethod = 'weights' | 'activations';

export interface AlignmentReport {
  /** The aligned checkpoint (aligned to the first member). */
  readonly source: string;
  readonly method: AlignMethod;
  readonly iterations: number;
  readonly groups: readonly GroupReport[];
}

/** Tensors both checkpoints hold that the permutation table knows (encoder, pooler, classifier). */
function sharedNames(a: MergeSource, b: MergeSource): string[] {
  const inB = new Set(b.canonicalNames());
  return a.canonicalNames().filter((n) => {
    if (!inB.has(n)) return false;
    try {
      permutationAxes(n);
      return true;
    } catch {
      return false;
    }
  });
}

/**
 * Permute every other source's units to match the reference (the first member), in place:
 * afterwards `source.read(name)` returns the permuted tensor. Label order must already be set,
 * since weight matching compares classifier rows.
 */
export async function alignSources(ref: MergeSource, others: readonly MergeSource[], method: AlignMethod, texts: readonly TextInput[], opts: StatsOptions & { seed?: number } = {}): Promise<AlignmentReport[]> {
  const reports: AlignmentReport[] = [];
  const cfg = ref.ckpt.config;
  for (const o of others) {
    let result;
    if (method === 'weights') {
      result = weightMatching({ read: (n) => ref.readLabelAligned(n) }, { read: (n) => o.readLabelAligned(n) }, sharedNames(ref, o), {
        hiddenSize: cfg.hiddenSize,
        numHeads: cfg.numHeads,
        seed: opts.seed ?? 0,
      });
    } else {
      result = await activationMatching(ref.ckpt, o.ckpt, texts, opts);
    }
    o.perms = result.perms;
    reports.push({ source: o.name, method, iterations: result.iterations, groups: result.groups });
  }
  return reports;
}
