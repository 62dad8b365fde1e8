/**
 * Selective prediction: a model that may abstain answers only its most confident rows. The
 * risk–coverage curve gives, for each share of rows answered (coverage), the accuracy on those
 * rows; a cascade's threshold or a human-review queue is a point on it. Rows are ranked by the
 * top-label probability, ties broken by row order so the curve is deterministic.
 */
import { predictions } from './metrics.js';

export interface CoveragePoint {
  /** Share of rows answered, in (0, 1]. */
  readonly coverage: number;
  /** Accuracy on the answered rows. */
  readonly accuracy: number;
}

/** Coverage steps of the stored curve: 5%, 10%, …, 100%. */
export const COVERAGE_STEPS = 20;

export function riskCoverage(probs: ArrayLike<number>, gold: ArrayLike<number>, k: number, steps = COVERAGE_STEPS): CoveragePoint[] {
  const n = gold.length;
  if (n === 0) return [];
  const pred = predictions(probs, k);
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => probs[b * k + pred[b]!]! - probs[a * k + pred[a]!]! || a - b);
  const prefixRight = new Int32Array(n + 1);
  for (let t = 0; t < n; t++) prefixRight[t + 1] = prefixRight[t]! + (pred[order[t]!] === gold[order[t]!] ? 1 : 0);
  const points: CoveragePoint[] = [];
  for (let s = 1; s <= steps; s++) {
    const answered = Math.max(1, Math.round((s / steps) * n));
    points.push({ coverage: answered / n, accuracy: prefixRight[answered]! / answered });
  }
  return points;
}
