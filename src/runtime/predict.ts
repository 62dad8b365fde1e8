import type { TextInput } from '../checkpoint/tokenizer.js';
import { argmaxRow } from '../util/math.js';
import type { Classifier } from './classifier.js';
import type { RunOptions } from './runner.js';

export interface Prediction {
  readonly label: string;
  readonly score: number;
  /** Probability of every label, by name. */
  readonly probs: Readonly<Record<string, number>>;
}

export async function predict(model: Classifier, inputs: readonly TextInput[], opts: RunOptions = {}): Promise<Prediction[]> {
  const k = model.labels.length;
  const p = await model.predictProba(inputs, opts);
  return inputs.map((_, i) => {
    const best = argmaxRow(p, i, k);
    const probs: Record<string, number> = {};
    model.labels.forEach((l, j) => (probs[l] = p[i * k + j]!));
    return { label: model.labels[best]!, score: p[i * k + best]!, probs };
  });
}
