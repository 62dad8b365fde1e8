/**
 * The result of `bertfuse eval` / `evaluate()` as data: the table people see, plus what a report
 * needs to draw it again (confusion matrices, reliability bins, the rows members disagree on).
 * `bertfuse eval --json` prints exactly this object; `bertfuse report` (later) reads it.
 *
 * Probabilities are always in `labels` order. Every number is a plain JSON number (no NaN:
 * undefined metrics are `null`).
 */
export const EVAL_RESULT_VERSION = 1;

/** The four scores of one row of the table. */
export interface Scores {
  /** Fraction of rows whose argmax is the gold label. */
  readonly accuracy: number;
  /** Unweighted mean over labels of F1 (a label neither present nor predicted is left out). */
  readonly macroF1: number;
  /** Mean negative log-probability of the gold label (natural log; probabilities clipped at 1e-15). */
  readonly logLoss: number;
  /** Expected calibration error over 15 equal-width confidence bins (top-label confidence). */
  readonly ece: number;
}

import type { Interval, ScoreIntervals } from './bootstrap.js';
export type { Interval, ScoreIntervals } from './bootstrap.js';
import type { CoveragePoint } from './risk-coverage.js';
export type { CoveragePoint } from './risk-coverage.js';

/**
 * "Does this row beat the best member?" as two paired tests: exact McNemar on right/wrong rows
 * against the most accurate member, and the paired bootstrap of log-loss against the member with
 * the lowest log-loss.
 */
export interface VersusBestMember {
  readonly accuracy: {
    readonly member: string;
    /** This row's accuracy minus the member's. */
    readonly difference: number;
    /** Rows only this row gets right, rows only the member gets right. */
    readonly onlyThis: number;
    readonly onlyMember: number;
    /** Two-sided exact McNemar p-value. */
    readonly p: number;
  };
  readonly logLoss: {
    readonly member: string;
    /** This row's log-loss minus the member's (negative = better), with its paired interval. */
    readonly difference: number;
    readonly interval: Interval;
    /** One-sided bootstrap p-value for "lower log-loss than the member". */
    readonly p: number;
  };
}

/** Bins of top-label confidence [lower, upper) with count, mean confidence and accuracy (src/eval/metrics.ts). */
export type { ReliabilityBin } from './metrics.js';
import type { ReliabilityBin } from './metrics.js';

export interface PerLabel {
  readonly label: string;
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
  /** Gold rows of this label. */
  readonly support: number;
}

/** How a row's probabilities were obtained. */
export type Scoring =
  /** A member, or a method with nothing to fit: its outputs on the rows as they are. */
  | 'direct'
  /** k-fold on the fit data: each row predicted by params fit on the other folds. */
  | 'out-of-fold'
  /** Fit on all of --data, scored on --eval-data. */
  | 'eval-data';

export interface EvalRow extends Scores {
  readonly name: string;
  readonly kind: 'member' | 'fusion' | 'merge' | 'distilled';
  readonly scoring: Scoring;
  /** Relative inference cost: members by FLOPs on these rows relative to the cheapest member (= 1);
   * fusion = sum of members; cascade = first member + measured fraction × the others. */
  readonly cost: number;
  /** On the accuracy-versus-cost Pareto front: no other row is at least as accurate and at most as
   * costly while strictly better in one of the two. */
  readonly pareto: boolean;
  /** Method options as given (fusion rows). */
  readonly options?: Readonly<Record<string, unknown>>;
  /** Parameters fit on ALL the fit data: what an export would contain (fusion rows). */
  readonly params?: Readonly<Record<string, unknown>>;
  /** Numbers the method reports about its application (FusionMethod.stats), row-weighted over
   * folds; e.g. cascade's fraction of rows that needed more than the first member. */
  readonly stats?: Readonly<Record<string, number>>;
  readonly perLabel: readonly PerLabel[];
  /** Paired-bootstrap percentile intervals of the four scores (absent when the bootstrap is off). */
  readonly intervals?: ScoreIntervals;
  /** Paired tests against the best member (fusion and merge rows; absent when off). */
  readonly vsBestMember?: VersusBestMember;
  /** Accuracy on the most confident rows at each coverage (selective prediction). */
  readonly riskCoverage?: readonly CoveragePoint[];
  /** Merge rows: the merged model's log-loss minus the members' mean log-loss (the loss barrier). */
  readonly barrier?: number;
  /** confusion[gold][predicted], counts. */
  readonly confusion: readonly (readonly number[])[];
  readonly reliability: readonly ReliabilityBin[];
}

export interface EvalMember {
  readonly name: string;
  readonly source: string;
  /** Tokenizer group (members in one group share input ids). */
  readonly group: number;
  /** The member's own label order (after --label-map). */
  readonly ownLabels: readonly string[];
  /** FLOPs over the scored rows, and mean tokens per row with its own tokenizer. */
  readonly flops: number;
  readonly meanTokens: number;
  readonly cost: number;
}

/** A row on which the members' argmax labels are not all equal. */
export interface Disagreement {
  /** Row index in the scored data (0-based, header excluded). */
  readonly index: number;
  /** The 1-based line of the scored file the row starts on (a header and blank lines counted; a quoted CSV field may span lines). Absent in older results. */
  readonly line?: number;
  readonly text: string;
  readonly textPair: string | null;
  readonly gold: string;
  /** member name → probabilities. */
  readonly members: Readonly<Record<string, readonly number[]>>;
  /** fusion method (or merge) name → its probabilities (as scored: out-of-fold or on eval data). */
  readonly fused: Readonly<Record<string, readonly number[]>>;
}

export interface EvalResult {
  readonly version: typeof EVAL_RESULT_VERSION;
  readonly tool: { readonly name: 'bertfuse'; readonly version: string };
  readonly labels: readonly string[];
  readonly data: {
    /** The data methods are fit on. */
    readonly fit: { readonly path: string; readonly n: number };
    /** Separate scoring data, when given; otherwise rows are scored out-of-fold on `fit`. */
    readonly eval: { readonly path: string; readonly n: number } | null;
  };
  readonly protocol: { readonly kind: 'out-of-fold'; readonly folds: number; readonly seed: number } | { readonly kind: 'eval-data'; readonly seed: number };
  readonly members: readonly EvalMember[];
  /** Members first (input order), then methods (in the order tried). */
  readonly rows: readonly EvalRow[];
  /** Fraction of scored rows on which all members predict the same label; and every pair. */
  readonly agreement: { readonly all: number; readonly pairs: readonly { readonly a: string; readonly b: string; readonly rate: number }[] };
  /** Fraction of scored rows where at least one member is right. */
  readonly oracleAccuracy: number;
  /** The pick under the selection rule (set by `combine --method auto`; null otherwise). */
  readonly selection: Selection | null;
  readonly disagreements: readonly Disagreement[];
  /** How the intervals were made; null when the bootstrap was off. */
  readonly uncertainty: Uncertainty | null;
  /** Further scoring sets (repeated --eval-data): the same members and fitted methods, scored there. */
  readonly extraSets: readonly ExtraSet[];
  /** Per row of the table: how much it loses on each further set relative to the first one. */
  readonly robustness: readonly Robustness[];
}

export interface Uncertainty {
  readonly method: 'paired bootstrap';
  readonly resamples: number;
  readonly level: number;
  readonly seed: number;
}

/** A row of a further scoring set. */
export interface ExtraSetRow extends Scores {
  readonly name: string;
  readonly kind: EvalRow['kind'];
  readonly cost: number;
  readonly intervals?: ScoreIntervals;
}

export interface ExtraSet {
  readonly path: string;
  readonly n: number;
  readonly rows: readonly ExtraSetRow[];
}

export interface Robustness {
  readonly name: string;
  /** One entry per further set, in order: accuracy drop (first − this set) and log-loss rise. */
  readonly sets: readonly { readonly path: string; readonly accuracyDrop: number; readonly logLossRise: number }[];
}

export interface Selection {
  readonly rule: string;
  readonly winner: string;
  readonly reason: string;
}

/** The compact form kept in a combined model's bertfuse.json and model card. */
export interface MetricsSummary {
  readonly data: string;
  readonly n: number;
  readonly protocol: EvalResult['protocol'];
  readonly rows: readonly (Scores & { readonly name: string; readonly kind: EvalRow['kind']; readonly cost: number; readonly pareto: boolean; readonly scoring: Scoring; readonly intervals?: ScoreIntervals })[];
  readonly agreement: number;
  readonly oracleAccuracy: number;
  readonly selection: Selection | null;
}

export function summarise(r: EvalResult): MetricsSummary {
  const scored = r.data.eval ?? r.data.fit;
  return {
    data: scored.path,
    n: scored.n,
    protocol: r.protocol,
    rows: r.rows.map((x) => ({ name: x.name, kind: x.kind, scoring: x.scoring, accuracy: x.accuracy, macroF1: x.macroF1, logLoss: x.logLoss, ece: x.ece, cost: x.cost, pareto: x.pareto, ...(x.intervals ? { intervals: x.intervals } : {}) })),
    agreement: r.agreement.all,
    oracleAccuracy: r.oracleAccuracy,
    selection: r.selection,
  };
}
