import type { DetailedProbabilities } from './classifier.js';
import { argmaxRow } from '../util/math.js';
import { recordOf } from '../util/names.js';

/** One row's answer for people and programs: the top label, its probability, and every label's. */
export interface LabelScores {
  readonly label: string;
  readonly score: number;
  readonly probs: Readonly<Record<string, number>>;
}

/** Row `row` of row-major [n, labels] probabilities as LabelScores (ties go to the first label). */
export function labelScores(labels: readonly string[], p: Float32Array, row: number): LabelScores {
  const k = labels.length;
  const best = argmaxRow(p, row, k);
  const probs = recordOf(labels.map((l, j) => [l, p[row * k + j]!] as const));
  return { label: labels[best]!, score: p[row * k + best]!, probs };
}

/**
 * Each member's answer on `row`, by member name; null for a member that did not run on that row
 * (a cascade's later member on a row the first member was sure of): its output there is a
 * placeholder, and showing it as probabilities would say the member answered.
 */
export function memberScores(d: DetailedProbabilities, labels: readonly string[], row: number): Record<string, LabelScores | null> {
  return Object.fromEntries(Object.entries(d.members).map(([name, p]) => [name, d.ran?.[name]?.[row] === 0 ? null : labelScores(labels, p, row)]));
}
