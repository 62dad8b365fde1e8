import path from 'node:path';
import { evaluate, evalInputFrom, type Evaluation, type ExternalRow } from '../eval/evaluate.js';
import { ALL_METHODS, chooseMethods } from '../eval/methods.js';
import type { MethodChoice } from '../eval/evaluate.js';
import type { EvalRow } from '../eval/result.js';
import { scoreQuantized } from '../eval/quantized.js';
import { scoreProbabilities } from '../eval/score.js';
import { riskCoverage } from '../eval/risk-coverage.js';
import { runMembers } from '../members/run.js';
import { BertfuseError } from '../errors.js';
import { prepare, type PrepareProgress, type Prepared } from '../eval/prepare.js';
import { summarise, type EvalResult } from '../eval/result.js';
import { selectBest } from '../eval/select.js';
import type { FusionMethod } from '../fusion/types.js';
import type { CombineRecipe } from '../recipe/combine.js';
import type { RuntimeOptions } from '../runtime/session.js';
import type { CombinedManifest } from './manifest.js';
import { checkOutputFolder, writeCombined } from './write.js';

/**
 * Hook for weight merges in `--method auto`. A source looks at the prepared members and data and
 * offers candidates (e.g. a linear merge when the members share an architecture and a tokenizer);
 * each is scored on the same rows as the fusion methods and, if it wins, writes its own artifact.
 * Pass sources as `CombineOptions.autoCandidates`; the CLI passes none until src/merge offers a
 * scoring and export API for them.
 */
export interface AutoCandidate {
  readonly name: string;
  /** Probabilities on the scored rows (common label order), never fit on those rows. */
  score(prepared: Prepared): Promise<Omit<ExternalRow, 'name' | 'kind'>>;
  /** Writes the candidate's model folder to `out`, completely or not at all. */
  write(out: string): Promise<void>;
}
export type AutoCandidateSource = (prepared: Prepared) => Promise<readonly AutoCandidate[]>;

export interface CombineOptions {
  /** The fusion methods available (normally FUSION_METHODS from the registry). */
  readonly registry: readonly FusionMethod[];
  readonly batchSize?: number;
  readonly runtime?: RuntimeOptions;
  readonly onMemberProgress?: PrepareProgress;
  readonly onFitProgress?: (method: string, done: number, total: number) => void;
  /** Hears the name of each step that has no count (scoring merge candidates, writing the folder) as it starts. */
  readonly onStep?: (label: string) => void;
  /** Keep the full EvalResult in the folder as eval.json (holds texts of disagreement rows). */
  readonly saveEval?: boolean;
  /** Extra candidates for `--method auto` (the weight-merge hook above). */
  readonly autoCandidates?: readonly AutoCandidateSource[];
}

export interface CombineOutcome {
  readonly result: EvalResult;
  /** The method (or merge) written to `out`. */
  readonly exported: string;
  /** The manifest written (null when a merge candidate won and wrote its own folder). */
  readonly manifest: CombinedManifest | null;
  readonly out: string;
  /** Lines worth telling the user (how integer labels were read, …). */
  readonly notes: readonly string[];
}

/**
 * `bertfuse combine`: run the members once on the data, score the method(s) out-of-fold (or on
 * eval data), pick one (the given method, or the best under the selection rule for auto), fit it
 * on all the data and write ONE combined model folder. Every input is checked before the first
 * byte is written; the folder appears complete or not at all.
 */
export async function combine(recipe: CombineRecipe, opts: CombineOptions): Promise<CombineOutcome> {
  const auto = (ALL_METHODS as readonly string[]).includes(recipe.method);
  const methods = chooseMethods(opts.registry, recipe.method, recipe.options);
  checkOutputFolder(recipe.out);
  const prepared = await prepare(
    {
      members: recipe.members,
      data: recipe.data,
      evalData: recipe.evalData ? [recipe.evalData, ...(recipe.extraEvalData ?? [])] : null,
      ...(recipe.allowBelowChance ? { allowBelowChance: true } : {}),
      labelMap: recipe.labelMap,
      ...(recipe.labels ? { labels: recipe.labels } : {}),
      ...(opts.batchSize ? { batchSize: opts.batchSize } : {}),
      ...(opts.runtime ? { runtime: opts.runtime } : {}),
    },
    opts.onMemberProgress,
  );
  try {
    const candidates: AutoCandidate[] = [];
    if (auto && opts.autoCandidates?.length) opts.onStep?.('looking for weight merges');
    if (auto) for (const source of opts.autoCandidates ?? []) candidates.push(...(await source(prepared)));
    const external: ExternalRow[] = [];
    for (const c of candidates) {
      opts.onStep?.(`score merge ${c.name}`);
      external.push({ name: c.name, kind: 'merge', ...(await c.score(prepared)) });
    }
    const evaluation: Evaluation = evaluate(evalInputFrom(prepared), methods, {
      folds: recipe.folds,
      seed: recipe.seed,
      external,
      ...(recipe.resamples !== undefined ? { resamples: recipe.resamples } : {}),
      ...(opts.onFitProgress ? { onProgress: opts.onFitProgress } : {}),
    });
    const selection = auto
      ? selectBest(evaluation.result.rows, {
          bootstrap: evaluation.bootstrap,
          ...(recipe.minGain !== undefined ? { minGain: recipe.minGain } : {}),
          ...(recipe.maxCost !== undefined ? { maxCost: recipe.maxCost } : {}),
          ...(recipe.maxBarrier !== undefined ? { maxBarrier: recipe.maxBarrier } : {}),
        })
      : null;
    let result: EvalResult = { ...evaluation.result, selection };
    const exported = selection ? selection.winner : methods[0]!.method.name;
    const candidate = candidates.find((c) => c.name === exported);
    if (candidate && recipe.quantize) {
      throw new BertfuseError('E_USAGE', `--quantize ${recipe.quantize} applies to combined models; the winner ${exported} is a weight merge (quantise it at run time: bertfuse predict <folder> --quantize int8)`);
    }
    opts.onStep?.(`write ${exported} to ${recipe.out}`);
    if (candidate) {
      await candidate.write(recipe.out);
      return { result, exported, manifest: null, out: path.resolve(recipe.out), notes: prepared.notes };
    }
    const choice = methods.find((m) => m.method.name === exported)!;
    if (recipe.quantize === 'int8') {
      opts.onStep?.(`score ${exported} with int8 members`);
      result = { ...result, rows: [...result.rows, await int8Row(prepared, choice, evaluation, recipe, opts)] };
      opts.onStep?.(`write ${exported} to ${recipe.out}`);
    }
    const manifest = await writeCombined(recipe.out, {
      ...(recipe.quantize ? { quantize: recipe.quantize } : {}),
      set: prepared.set,
      method: choice.method,
      options: choice.options,
      params: evaluation.params.get(exported)!,
      metrics: summarise(result),
      ...(opts.saveEval ? { evalResult: result } : {}),
    });
    return { result, exported, manifest, out: path.resolve(recipe.out), notes: prepared.notes };
  } finally {
    prepared.close();
  }
}

/**
 * The exported method with its members int8-quantised, scored under the same protocol as its
 * float row (see scoreQuantized): the table's measure of what quantisation changes.
 */
async function int8Row(prepared: Prepared, choice: MethodChoice, evaluation: Evaluation, recipe: CombineRecipe, opts: CombineOptions): Promise<EvalRow> {
  const run = (inputs: Prepared['fit']['data']['inputs']) =>
    runMembers(prepared.set, inputs, { quantize: 'int8', ...(opts.batchSize ? { batchSize: opts.batchSize } : {}), ...(opts.runtime ? { runtime: opts.runtime } : {}) });
  const fitInt8 = await run(prepared.fit.data.inputs);
  const scoredInt8 = prepared.eval ? await run(prepared.eval.data.inputs) : null;
  const name = choice.method.name;
  const float = evaluation.result.rows.find((r) => r.name === name)!;
  const probs = scoreQuantized(
    choice,
    { float: prepared.fit.run.outputs, gold: prepared.fit.data.labels },
    scoredInt8 ? { int8: scoredInt8.outputs } : null,
    fitInt8.outputs,
    evaluation.params.get(name)!,
    recipe.folds,
    recipe.seed,
  );
  const gold = (prepared.eval ?? prepared.fit).data.labels;
  const scores = scoreProbabilities(probs, gold, prepared.set.labels);
  return {
    name: `${name} (int8)`,
    kind: 'fusion',
    scoring: float.scoring,
    cost: float.cost,
    pareto: false,
    ...scores,
    stats: { ...(float.stats ?? {}), int8_accuracy_change: scores.accuracy - float.accuracy, int8_log_loss_change: scores.logLoss - float.logLoss },
    riskCoverage: riskCoverage(probs, gold, prepared.set.labels.length),
  };
}
