import { familyOf } from '../architectures/registry.js';
import type { TextInput } from '../checkpoint/tokenizer.js';
import { BertfuseError } from '../errors.js';
import { axisIndex, tensorAxes } from '../align/axis-parts.js';
import { permuteGram } from '../align/permutation.js';
import { collectStats, type StatRequest, type StatsOptions } from './probe.js';
import type { MergeSource } from './sources.js';

/** The probe point whose activations feed a linear layer's weight, by canonical weight name. */
export function linearInputKey(weight: string): string | null {
  let m: RegExpExecArray | null;
  if ((m = /^bert\.encoder\.layer\.(\d+)\.attention\.self\.(query|key|value)\.weight$/.exec(weight))) return `layer.${m[1]}.attention_input`;
  if ((m = /^bert\.encoder\.layer\.(\d+)\.attention\.output\.dense\.weight$/.exec(weight))) return `layer.${m[1]}.attention_context`;
  if ((m = /^bert\.encoder\.layer\.(\d+)\.intermediate\.dense\.weight$/.exec(weight))) return `layer.${m[1]}.ffn_input`;
  if ((m = /^bert\.encoder\.layer\.(\d+)\.output\.dense\.weight$/.exec(weight))) return `layer.${m[1]}.ffn_hidden`;
  if (weight === 'bert.pooler.dense.weight') return 'pooler_input';
  if (weight === 'classifier.weight') return 'classifier_input';
  return null;
}

const PER_SEQUENCE = new Set(['pooler_input', 'classifier_input']);

/**
 * Each member's Gram matrices G = XᵀX / N of the inputs of the given linear layers, over the
 * unpadded tokens of the texts (per sequence for the pooler and classifier, which see only
 * [CLS]). Members run one at a time, so only one model's graph is in memory.
 */
export class GramStore {
  private constructor(
    private readonly grams: ReadonlyArray<ReadonlyMap<string, Float64Array>>,
    private readonly sources: readonly MergeSource[],
  ) {}

  static async collect(sources: readonly MergeSource[], weights: readonly string[], texts: readonly TextInput[], opts: StatsOptions = {}): Promise<GramStore> {
    // linearInputKey reads BERT's canonical names: a family merged under its own names (ModernBERT's
    // fused Wqkv, DeBERTa) would find no linear layer, and RegMean would quietly become an average.
    for (const s of sources) {
      const cfg = s.ckpt.config;
      if (!familyOf(cfg).bertNames) throw new BertfuseError('E_INCOMPATIBLE', `${cfg.architecture} (${cfg.family}) has no BERT-shaped layers to collect statistics from (RegMean); use another method`, s.ckpt.dir);
    }
    const keys = [...new Set(weights.map(linearInputKey).filter((k): k is string => k !== null))].sort();
    const grams: Map<string, Float64Array>[] = [];
    for (const [i, s] of sources.entries()) {
      const requests: StatRequest[] = keys.map((key) => ({ kind: 'gram', model: 0, key }));
      const stats = await collectStats([s.ckpt], requests, texts, {
        ...opts,
        onProgress: opts.onProgress ? (d, t) => opts.onProgress!(i * t + d, t * sources.length) : undefined,
      });
      grams.push(
        new Map(
          keys.map((key, k) => {
            const n = PER_SEQUENCE.has(key) ? stats.sequences : stats.tokens;
            return [key, stats.values[k]!.map((v) => v / n)] as const;
          }),
        ),
      );
    }
    return new GramStore(grams, sources);
  }

  /** Every member's Gram matrix for this weight, in the member's aligned unit order; null for non-linear tensors. */
  forWeight(weight: string, inFeatures: number): Float64Array[] | null {
    const key = linearInputKey(weight);
    if (key === null) return null;
    return this.sources.map((s, i) => {
      const g = this.grams[i]!.get(key);
      if (!g) throw new Error(`no Gram matrix "${key}" for ${s.name}`);
      if (!s.perms.size) return g;
      // The Gram matrix is over the weight's inputs: its units move as the weight's columns do.
      const input = tensorAxes(s.alignment, weight)[1];
      return permuteGram(g, inFeatures, input ? axisIndex(input, inFeatures, s.perms) : null);
    });
  }
}
