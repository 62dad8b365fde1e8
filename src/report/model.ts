import type { CoveragePoint, Disagreement, ReliabilityBin, ScoreIntervals, Selection } from '../eval/result.js';

/**
 * What the report draws, whichever input it came from: a full eval result (every chart and table)
 * or a combined folder's summary metrics (table and cost chart only). Fields the input did not carry
 * are null, and the page says so instead of drawing an empty chart.
 */
export interface ReportModel {
  /** The path the user pointed at. */
  readonly source: string;
  readonly toolVersion: string | null;
  readonly labels: readonly string[];
  /** The rows everything was scored on. */
  readonly scored: { readonly path: string; readonly n: number };
  /** Where methods were fit, when that differs from the scored rows. */
  readonly fitPath: string | null;
  readonly protocol: string;
  readonly members: readonly ReportMember[];
  readonly rows: readonly ReportRow[];
  /** All members agree; pairs are null when only the summary is known. */
  readonly agreement: { readonly all: number; readonly pairs: readonly { readonly a: string; readonly b: string; readonly rate: number }[] | null };
  readonly oracleAccuracy: number;
  readonly selection: Selection | null;
  /** The method a combined folder exports (null for a bare eval result). */
  readonly exported: string | null;
  /** Null when the input has no per-row details (summary only). */
  readonly disagreements: readonly Disagreement[] | null;
  /** Interval method, e.g. "95% paired bootstrap, 1000 rounds"; null when there are no intervals. */
  readonly uncertainty: string | null;
  readonly extraSets: readonly ReportExtraSet[];
}

export interface ReportMember {
  readonly name: string;
  readonly source: string;
  readonly cost: number | null;
  readonly meanTokens: number | null;
}

export interface ReportRow {
  readonly name: string;
  /** 'member', 'fusion', or a later kind of method (e.g. a weight merge): shown as given. */
  readonly kind: string;
  /** How its probabilities were obtained ('direct', 'out-of-fold', 'eval-data'). */
  readonly scoring: string;
  readonly accuracy: number | null;
  readonly macroF1: number | null;
  readonly logLoss: number | null;
  readonly ece: number | null;
  readonly cost: number;
  readonly pareto: boolean;
  /** confusion[gold][predicted]; null without per-row details. */
  readonly confusion: readonly (readonly number[])[] | null;
  readonly reliability: readonly ReliabilityBin[] | null;
  /** Paired-bootstrap intervals of the scores; null when the input has none. */
  readonly intervals: ScoreIntervals | null;
  /** Accuracy on the most confident rows per coverage; null without per-row details. */
  readonly riskCoverage: readonly CoveragePoint[] | null;
}

/** Further scoring sets (repeated --eval-data) and the drop from the first set. */
export interface ReportExtraSet {
  readonly path: string;
  readonly n: number;
  readonly rows: readonly { readonly name: string; readonly kind: string; readonly accuracy: number; readonly logLoss: number; readonly cost: number; readonly intervals: ScoreIntervals | null }[];
}
