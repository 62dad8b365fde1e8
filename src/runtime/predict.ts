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

/** What `predict` takes per input: a string, or a text with its pair (`textPair`, or Hugging Face's `text_pair`). */
export type PredictInput = string | TextInput | { readonly text: string; readonly text_pair?: string | null };

/** Every accepted input form as the tokenizer's TextInput. */
export function toTextInput(x: PredictInput): TextInput {
  if (typeof x === 'string') return { text: x };
  if ('textPair' in x) return x;
  const pair = (x as { text_pair?: string | null }).text_pair;
  return pair === undefined || pair === null ? { text: x.text } : { text: x.text, textPair: pair };
}

/** Label and probabilities per input: `predict(model, ['a gorgeous movie', { text: 'premise', text_pair: 'hypothesis' }])`. */
export async function predict(model: Classifier, inputs: readonly PredictInput[], opts: RunOptions = {}): Promise<Prediction[]> {
  const k = model.labels.length;
  const p = await model.predictProba(inputs.map(toTextInput), opts);
  return inputs.map((_, i) => {
    const best = argmaxRow(p, i, k);
    const probs = recordOf(model.labels.map((l, j) => [l, p[i * k + j]!] as const));
    return { label: model.labels[best]!, score: p[i * k + best]!, probs };
  });
}
