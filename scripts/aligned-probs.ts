/** A model's probabilities on rows, its classes put in a given label order (matched by name). */
import type { TextInput } from '../src/checkpoint/tokenizer.js';
import { alignLabels } from '../src/members/labels.js';
import { loadClassifier } from '../src/runtime/classifier.js';

/** Probabilities [n, k] in `labels` order. */
export async function probsOf(model: string, inputs: readonly TextInput[], labels: readonly string[]): Promise<Float64Array> {
  const c = await loadClassifier(model);
  try {
    const p = await c.predictProba(inputs);
    const map = alignLabels(c.labels, labels, model);
    const kc = c.labels.length;
    const out = new Float64Array(inputs.length * labels.length);
    for (let i = 0; i < inputs.length; i++) for (let j = 0; j < labels.length; j++) out[i * labels.length + j] = p[i * kc + map[j]!]!;
    return out;
  } finally {
    await c.close();
  }
}

/** The mean of several models' probabilities [n, k], entry by entry: the mean teacher's distribution. */
export function meanOf(ps: readonly Float64Array[]): Float64Array {
  const out = new Float64Array(ps[0]!.length);
  for (const p of ps) for (let i = 0; i < out.length; i++) out[i] += p[i]! / ps.length;
  return out;
}
