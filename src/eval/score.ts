import { classificationMetrics, confusionMatrix, reliabilityBins } from './metrics.js';
import type { PerLabel, ReliabilityBin, Scores } from './result.js';

export interface RowScores extends Scores {
  readonly perLabel: readonly PerLabel[];
  readonly confusion: readonly (readonly number[])[];
  readonly reliability: readonly ReliabilityBin[];
}

/** Everything a table row and a report need from one set of probabilities. */
export function scoreProbabilities(probs: ArrayLike<number>, gold: ArrayLike<number>, labels: readonly string[]): RowScores {
  const k = labels.length;
  const m = classificationMetrics(probs, gold, k);
  const confusion = confusionMatrix(probs, gold, k);
  const perLabel = labels.map((label, c): PerLabel => {
    const tp = confusion[c]![c]!;
    const predicted = confusion.reduce((a, row) => a + row[c]!, 0);
    const support = confusion[c]!.reduce((a, x) => a + x, 0);
    const precision = predicted > 0 ? tp / predicted : 0;
    const recall = support > 0 ? tp / support : 0;
    return { label, precision, recall, f1: precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0, support };
  });
  return { accuracy: m.accuracy, macroF1: m.macroF1, logLoss: m.logLoss, ece: m.ece, perLabel, confusion, reliability: reliabilityBins(probs, gold, k) };
}
