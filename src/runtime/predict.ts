import type { TextInput } from '../checkpoint/tokenizer.js';
import type { Classifier } from './classifier.js';
import { labelScores, type LabelScores } from './label-scores.js';
import type { RunOptions } from './runner.js';

/** The top label, its probability, and every label's probability by name. */
export type Prediction = LabelScores;

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
  const p = await model.predictProba(inputs.map(toTextInput), opts);
  return inputs.map((_, i) => labelScores(model.labels, p, i));
}
