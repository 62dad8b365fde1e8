import type { TextInput } from '../checkpoint/tokenizer.js';
import { foldSplit, kFolds } from '../data/folds.js';
import { BertfuseError } from '../errors.js';
import type { FusionMethod, FusionParams, MemberOutputs } from '../fusion/types.js';
import { selectRows } from '../members/run.js';
import { VERSION } from '../paths.js';
import { logSoftmaxRows } from '../util/math.js';
import { agreement, oracleAccuracy, predictions } from './metrics.js';
import type { Prepared } from './prepare.js';
import { bootstrap, discordant, logLossPValue, mcnemarExact, pairedDifference, scoreIntervals, type BootstrapSamples } from './bootstrap.js';
import { EVAL_RESULT_VERSION, type Disagreement, type EvalMember, type EvalResult, type EvalRow, type ExtraSet, type Robustness, type Scoring, type VersusBestMember } from './result.js';
import { riskCoverage } from './risk-coverage.js';
import { scoreProbabilities } from './score.js';
import { paretoFront } from './select.js';

/** A method with its (validated) options. */
export interface MethodChoice {
  readonly method: FusionMethod;
  readonly options: Readonly<Record<string, unknown>>;
}

/** Rows with every member's outputs and gold labels. */
export interface EvalSplit {
  readonly path: string;
  readonly inputs: readonly TextInput[];
  readonly gold: Int32Array;
  readonly outputs: MemberOutputs;
  /** Per row, the 1-based line of the file it starts on (header and skipped blank lines counted); absent for rows not read from a file. */
  readonly lines?: Int32Array;
}

export interface EvalInput {
  readonly labels: readonly string[];
  /** Member facts for the scored split (FLOPs, tokens, cost are on the scored rows). */
  readonly members: readonly EvalMember[];
  readonly fit: EvalSplit;
  /** Separate scoring rows; null = score out-of-fold on `fit`. */
  readonly eval: EvalSplit | null;
  /** Further scoring sets (repeated --eval-data), scored with the params fit on all of `fit`. */
  readonly extra?: readonly EvalSplit[];
}

/** A row scored elsewhere (a weight merge under `--method auto`, a distilled student, its teacher), put in the same table. */
export interface ExternalRow {
  readonly name: string;
  readonly kind: 'merge' | 'distilled' | 'fusion';
  readonly scoring: Scoring;
  /** Probabilities on the scored rows, common label order. */
  readonly probs: Float64Array;
  readonly cost: number;
}

export interface EvaluateOptions {
  readonly folds: number;
  readonly seed: number;
  /** After each fit: method name, fits done, fits planned for it. */
  readonly onProgress?: (method: string, done: number, total: number) => void;
  /** Extra rows to score beside the members and methods. */
  readonly external?: readonly ExternalRow[];
  /** Paired-bootstrap rounds for intervals and tests (default 1000; 0 = off) and their level (default 0.95). */
  readonly resamples?: number;
  readonly level?: number;
}

/** Default paired-bootstrap rounds of `evaluate`. */
export const DEFAULT_EVAL_RESAMPLES = 1000;

export interface Evaluation {
  readonly result: EvalResult;
  /** Each method's parameters fit on ALL the fit data: what `combine` exports. */
  readonly params: ReadonlyMap<string, FusionParams>;
  /** The bootstrap rounds behind the intervals, for paired comparisons (the selection rule); null when off. */
  readonly bootstrap: BootstrapSamples | null;
}

/** The input `evaluate` needs, from members already run on the data. */
export function evalInputFrom(p: Prepared): EvalInput {
  const scored = p.eval ?? p.fit;
  const split = (d: NonNullable<Prepared['eval']>): EvalSplit => ({ path: d.spec.path, inputs: d.data.inputs, gold: d.data.labels, outputs: d.run.outputs, lines: d.data.lines });
  return {
    labels: p.set.labels,
    members: p.set.members.map((m, i) => ({
      name: m.name,
      source: m.source,
      group: m.group,
      ownLabels: m.ownLabels,
      flops: scored.run.flops[i]!,
      meanTokens: scored.run.meanTokens[i]!,
      cost: scored.run.outputs.members[i]!.cost,
    })),
    fit: split(p.fit),
    eval: p.eval ? split(p.eval) : null,
    extra: p.extraEvals.map(split),
  };
}

function checkFinite(probs: Float64Array, k: number, what: string): void {
  for (let i = 0; i < probs.length; i++) {
    if (!Number.isFinite(probs[i]!)) throw new BertfuseError('E_NONFINITE', `${what} produced a non-finite probability (row ${Math.floor(i / k)})`);
  }
}

interface Scored {
  readonly probs: Float64Array;
  readonly stats: Record<string, number>;
  readonly scoring: Scoring;
  /** Params fit on all the fit data, when scoring already needed them (eval-data protocol). */
  readonly final: FusionParams | null;
}

function addStats(acc: Record<string, number>, s: Record<string, number> | undefined, weight: number): void {
  for (const [k, v] of Object.entries(s ?? {})) acc[k] = (acc[k] ?? 0) + v * weight;
}

/**
 * Fused probabilities for every scored row that never come from params fit on that row: k-fold
 * on the fit data (each fold predicted by params fit on the others), or fit on all of it and
 * applied to separate eval rows. Statistics (cascade's fraction, cost) are row-weighted.
 */
function scoreMethod(choice: MethodChoice, input: EvalInput, opts: EvaluateOptions, onFit: () => void): Scored {
  const { method, options } = choice;
  const { fit } = input;
  const k = input.labels.length;
  const ctx = (gold: Int32Array) => ({ labels: gold, seed: opts.seed, folds: opts.folds });
  if (input.eval) {
    const params = method.fit(fit.outputs, ctx(fit.gold), options);
    onFit();
    const probs = method.apply(input.eval.outputs, params);
    return { probs, stats: { ...(method.stats?.(input.eval.outputs, params) ?? {}) }, scoring: 'eval-data', final: params };
  }
  const n = fit.outputs.n;
  const folds = kFolds(fit.gold, opts.folds, opts.seed);
  const probs = new Float64Array(n * k);
  const stats: Record<string, number> = {};
  for (let f = 0; f < opts.folds; f++) {
    const { train, test } = foldSplit(folds, f);
    if (test.length === 0) continue;
    const params = method.fit(selectRows(fit.outputs, train), ctx(Int32Array.from(train, (r) => fit.gold[r]!)), options);
    onFit();
    const held = selectRows(fit.outputs, test);
    const p = method.apply(held, params);
    test.forEach((r, i) => probs.set(p.subarray(i * k, (i + 1) * k), r * k));
    addStats(stats, method.stats?.(held, params), test.length / n);
  }
  return { probs, stats, scoring: 'out-of-fold', final: null };
}

/**
 * Scores every member and every method on the same rows, side by side: accuracy, macro-F1,
 * log-loss, ECE (15 bins), cost, the Pareto mark; plus agreement and oracle accuracy of the
 * members, and the rows they disagree on. Methods are never scored on rows they were fit on.
 */
export function evaluate(input: EvalInput, methods: readonly MethodChoice[], opts: EvaluateOptions): Evaluation {
  const { labels } = input;
  const k = labels.length;
  const scored = input.eval ?? input.fit;
  const n = scored.outputs.n;
  if (!input.eval && input.fit.outputs.n < 2 * opts.folds) {
    throw new BertfuseError('E_BAD_DATA', `${input.fit.outputs.n} rows are too few for ${opts.folds}-fold scoring (need at least ${2 * opts.folds})`, input.fit.path);
  }
  const memberProbs = scored.outputs.members.map((m) => Float64Array.from(logSoftmaxRows(m.logits, k), Math.exp));
  const memberCostSum = input.members.reduce((a, m) => a + m.cost, 0);

  const drafts: Draft[] = input.members.map((m, i) => ({ name: m.name, kind: 'member', scoring: 'direct', cost: m.cost, ...scoreProbabilities(memberProbs[i]!, scored.gold, labels) }));
  const fused = new Map<string, Float64Array>();
  const params = new Map<string, FusionParams>();
  for (const choice of methods) {
    const name = choice.method.name;
    const fitsPlanned = input.eval ? 1 : opts.folds + 1;
    let fitsDone = 0;
    const tick = (): void => opts.onProgress?.(name, ++fitsDone, fitsPlanned);
    opts.onProgress?.(name, 0, fitsPlanned); // this method's step starts now
    const s = scoreMethod(choice, input, opts, tick);
    checkFinite(s.probs, k, `method ${name}`);
    let final = s.final;
    if (final === null) {
      final = choice.method.fit(input.fit.outputs, { labels: input.fit.gold, seed: opts.seed, folds: opts.folds }, choice.options);
      tick();
    }
    params.set(name, final);
    fused.set(name, s.probs);
    const cost = s.stats['cost'] ?? memberCostSum;
    drafts.push({
      name,
      kind: 'fusion',
      scoring: s.scoring,
      cost,
      options: choice.options,
      params: final,
      ...(Object.keys(s.stats).length > 0 ? { stats: s.stats } : {}),
      ...scoreProbabilities(s.probs, scored.gold, labels),
    });
  }
  for (const x of opts.external ?? []) {
    if (x.probs.length !== n * k) throw new Error(`external row ${x.name}: ${x.probs.length} values for ${n} rows of ${k}`);
    checkFinite(x.probs, k, x.name);
    fused.set(x.name, x.probs);
    drafts.push({ name: x.name, kind: x.kind, scoring: x.scoring, cost: x.cost, ...scoreProbabilities(x.probs, scored.gold, labels) });
  }
  const front = paretoFront(drafts);
  const allProbs = new Map<string, Float64Array>([...input.members.map((m, i): [string, Float64Array] => [m.name, memberProbs[i]!]), ...fused]);
  const resamples = opts.resamples ?? DEFAULT_EVAL_RESAMPLES;
  const boot = resamples > 0 && n > 0 ? bootstrap(allProbs, scored.gold, k, { resamples, seed: opts.seed, ...(opts.level !== undefined ? { level: opts.level } : {}) }) : null;
  const memberRows = drafts.filter((d) => d.kind === 'member');
  const meanMemberLoss = memberRows.reduce((a, d) => a + d.logLoss, 0) / memberRows.length;
  const rows: EvalRow[] = drafts.map((d, i) => ({
    ...d,
    pareto: front[i]!,
    ...(boot ? { intervals: scoreIntervals(boot, d.name) } : {}),
    ...(boot && d.kind !== 'member' ? { vsBestMember: versusBestMember(boot, d, memberRows) } : {}),
    riskCoverage: riskCoverage(allProbs.get(d.name)!, scored.gold, k),
    ...(d.kind === 'merge' ? { barrier: d.logLoss - meanMemberLoss } : {}),
  }));
  const extraSets = (input.extra ?? []).map((x) => scoreExtraSet(x, input, methods, params, opts));

  // Members' hard predictions: agreement, oracle, the rows they disagree on.
  const preds = memberProbs.map((p) => predictions(p, k));
  const disagreements: Disagreement[] = [];
  let allAgree = 0;
  for (let r = 0; r < n; r++) {
    if (preds.every((p) => p[r] === preds[0]![r])) {
      allAgree++;
      continue;
    }
    const row = (p: Float64Array): number[] => Array.from(p.subarray(r * k, (r + 1) * k));
    const line = scored.lines?.[r];
    disagreements.push({
      index: r,
      ...(line !== undefined ? { line } : {}),
      text: scored.inputs[r]!.text,
      textPair: scored.inputs[r]!.textPair ?? null,
      gold: labels[scored.gold[r]!]!,
      members: Object.fromEntries(input.members.map((m, i) => [m.name, row(memberProbs[i]!)])),
      fused: Object.fromEntries([...fused].map(([name, p]) => [name, row(p)])),
    });
  }
  const pairs: { a: string; b: string; rate: number }[] = [];
  for (let i = 0; i < memberProbs.length; i++) {
    for (let j = i + 1; j < memberProbs.length; j++) pairs.push({ a: input.members[i]!.name, b: input.members[j]!.name, rate: agreement(memberProbs[i]!, memberProbs[j]!, k) });
  }
  const result: EvalResult = {
    version: EVAL_RESULT_VERSION,
    tool: { name: 'bertfuse', version: VERSION },
    labels: [...labels],
    data: { fit: { path: input.fit.path, n: input.fit.outputs.n }, eval: input.eval ? { path: input.eval.path, n: input.eval.outputs.n } : null },
    protocol: input.eval ? { kind: 'eval-data', seed: opts.seed } : { kind: 'out-of-fold', folds: opts.folds, seed: opts.seed },
    members: input.members,
    rows,
    agreement: { all: n > 0 ? allAgree / n : 0, pairs },
    oracleAccuracy: oracleAccuracy(memberProbs, scored.gold, k),
    selection: null,
    disagreements,
    uncertainty: boot ? { method: 'paired bootstrap', resamples: boot.resamples, level: boot.level, seed: boot.seed } : null,
    extraSets,
    robustness: robustness(rows, extraSets),
  };
  return { result, params, bootstrap: boot };
}

type Draft = Omit<EvalRow, 'pareto'>;

/** Exact McNemar against the most accurate member, paired bootstrap of log-loss against the member with the lowest log-loss. */
function versusBestMember(boot: BootstrapSamples, row: Draft, members: readonly Draft[]): VersusBestMember {
  const byAcc = members.reduce((b, m) => (m.accuracy > b.accuracy ? m : b));
  const byLoss = members.reduce((b, m) => (m.logLoss < b.logLoss ? m : b));
  const d = discordant(boot, row.name, byAcc.name);
  const diff = pairedDifference(boot, row.name, byLoss.name, 'logLoss');
  return {
    accuracy: { member: byAcc.name, difference: row.accuracy - byAcc.accuracy, onlyThis: d.onlyA, onlyMember: d.onlyB, p: mcnemarExact(d.onlyA, d.onlyB) },
    logLoss: { member: byLoss.name, difference: row.logLoss - byLoss.logLoss, interval: diff.interval, p: logLossPValue(boot, row.name, byLoss.name) },
  };
}

/**
 * A further scoring set: members as they are, each method with the params fit on all of `fit`
 * (what the export contains). Rows scored elsewhere (merges) are not re-run here.
 */
function scoreExtraSet(x: EvalSplit, input: EvalInput, methods: readonly MethodChoice[], params: ReadonlyMap<string, FusionParams>, opts: EvaluateOptions): ExtraSet {
  const k = input.labels.length;
  const probs = new Map<string, { kind: EvalRow['kind']; cost: number; p: Float64Array }>();
  input.members.forEach((m, i) => probs.set(m.name, { kind: 'member', cost: m.cost, p: Float64Array.from(logSoftmaxRows(x.outputs.members[i]!.logits, k), Math.exp) }));
  const memberCostSum = input.members.reduce((a, m) => a + m.cost, 0);
  for (const { method } of methods) {
    const fitted = params.get(method.name)!;
    const p = method.apply(x.outputs, fitted);
    checkFinite(p, k, `method ${method.name}`);
    probs.set(method.name, { kind: 'fusion', cost: method.stats?.(x.outputs, fitted)['cost'] ?? memberCostSum, p });
  }
  const resamples = opts.resamples ?? DEFAULT_EVAL_RESAMPLES;
  const boot = resamples > 0 && x.outputs.n > 0 ? bootstrap(new Map([...probs].map(([name, v]) => [name, v.p])), x.gold, k, { resamples, seed: opts.seed, ...(opts.level !== undefined ? { level: opts.level } : {}) }) : null;
  const rows = [...probs].map(([name, v]) => {
    const s = scoreProbabilities(v.p, x.gold, input.labels);
    return { name, kind: v.kind, cost: v.cost, accuracy: s.accuracy, macroF1: s.macroF1, logLoss: s.logLoss, ece: s.ece, ...(boot ? { intervals: scoreIntervals(boot, name) } : {}) };
  });
  return { path: x.path, n: x.outputs.n, rows };
}

/** The drop from the first scored set to each further one, per row present in both. */
function robustness(rows: readonly EvalRow[], sets: readonly ExtraSet[]): Robustness[] {
  if (sets.length === 0) return [];
  return rows.flatMap((r) => {
    const per = sets.flatMap((s) => {
      const o = s.rows.find((x) => x.name === r.name);
      return o ? [{ path: s.path, accuracyDrop: r.accuracy - o.accuracy, logLossRise: o.logLoss - r.logLoss }] : [];
    });
    return per.length > 0 ? [{ name: r.name, sets: per }] : [];
  });
}
