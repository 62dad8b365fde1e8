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
