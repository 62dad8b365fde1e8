import type { TextInput } from '../checkpoint/tokenizer.js';
import { argmaxRow } from '../util/math.js';
import type { Classifier } from './classifier.js';
import type { RunOptions } from './runner.js';
import { recordOf } from '../util/names.js';

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
    const probs = recordOf(model.labels.map((l, j) => [l, p[i * k + j]!] as const));
    return { label: model.labels[best]!, score: p[i * k + best]!, probs };
  });
}
