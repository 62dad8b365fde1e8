import type { Command } from 'commander';
import { combine } from '../../artifact/combine.js';
import { BertfuseError } from '../../errors.js';
import { evalSummary, evalTable, extraSetTables, membersSummary, methodsHelp } from '../../eval/format.js';
import { parseOptionFlags } from '../../eval/methods.js';
import type { DataSpec, PrepareProgress } from '../../eval/prepare.js';
import { FUSION_METHODS } from '../../fusion/registry.js';
import type { QuantizeMode } from '../../graph/quantize.js';
import { DEFAULT_FOLDS, DEFAULT_SEED, readCombineRecipe, withCombineDefaults, type CombineRecipe } from '../../recipe/combine.js';
import { nonNegativeInt as wholeNumber, printJson, printLine, printNote } from '../output.js';
import { quantizeMode } from '../graph-flags.js';
import { addDataFlags, addMethodFlag, addParamFlag, addRecipeFlag, addRunFlags, dataSpec, labelMapOf, paramValues, parseLabels, type DataFlags, type ParamFlags, type RunFlags } from '../flags.js';
import { statusLine } from '../progress.js';
import { baseMergeCandidates, mergeCandidates } from '../../merge/auto-candidates.js';
import { DEFAULT_MAX_BARRIER } from '../../eval/select.js';

/** Flags shared by `combine` and `eval` (the vocabulary shared with merge, predict and serve is in ../flags.ts). */
export interface FusionFlags extends DataFlags, ParamFlags, RunFlags {
  bootstrap?: number;
  minGain?: number;
  maxCost?: number;
  maxBarrier?: number;
  allowBelowChance?: boolean;
  method?: string;
  weights?: string;
  seed?: number;
  folds?: number;
  recipe?: string;
}

/** -p NAME=VALUE values plus --weights (weighted's fixed weights). */
function methodParams(f: FusionFlags): Record<string, string> {
  return parseOptionFlags([...paramValues(f), ...(f.weights !== undefined ? [`weights=${f.weights}`] : [])]);
}

const nonNegativeInt = (v: string): number => {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new BertfuseError('E_USAGE', `--seed must be a whole number ≥ 0, got "${v}"`);
  return n;
};
const nonNegativeNumber = (flag: string) => (v: string): number => {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < 0) throw new BertfuseError('E_USAGE', `${flag} must be a number ≥ 0, got "${v}"`);
  return n;
};
const foldsInt = (v: string): number => {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 2) throw new BertfuseError('E_USAGE', `--folds must be a whole number ≥ 2, got "${v}"`);
  return n;
};

export function addFusionFlags(cmd: Command, methodHelp: string, opts: { severalMethods?: boolean } = {}): Command {
  addRecipeFlag(cmd, 'a combine');
  addDataFlags(cmd, {
    data: 'labelled data to fit on (TSV, CSV or JSONL with a text and a label column)',
    evalData: 'separate labelled data to score on (default: out-of-fold on --data); repeat for further sets (e.g. shifted domains): one block each and a robustness summary',
  });
  addMethodFlag(cmd, methodHelp, { several: Boolean(opts.severalMethods) });
  addParamFlag(cmd, 'a method parameter, e.g. l2_steps=6');
  cmd
    .option('--weights <w,...>', 'weighted: fixed weights, one per member (e.g. 0.6,0.4; same as -p weights=0.6,0.4); implies --method weighted unless -m says otherwise')
    .option('--seed <n>', `seed for folds and fitting (default ${DEFAULT_SEED})`, nonNegativeInt)
    .option('--folds <k>', `folds for out-of-fold scoring (default ${DEFAULT_FOLDS})`, foldsInt)
    .option('--bootstrap <n>', 'paired-bootstrap rounds for the intervals and tests (default 1000; 0 = off)', wholeNumber('--bootstrap'))
    .option('--min-gain <nats>', 'auto: a costlier candidate must lower log-loss by more than this across its whole interval (default 0)', nonNegativeNumber('--min-gain'))
    .option('--max-cost <x>', 'auto: only candidates costing at most this (cheapest member = 1)', nonNegativeNumber('--max-cost'))
    .option('--max-barrier <nats>', `auto: leave out merges whose loss barrier (merged log-loss − members' mean) exceeds this (default ${DEFAULT_MAX_BARRIER})`, nonNegativeNumber('--max-barrier'))
    .option('--allow-below-chance', 'go on when a member scores below chance under the declared labels (normally a sign the label order is wrong)');
  return addRunFlags(cmd);
}

/** The recipe fields of the evaluation and selection flags (only those given, so a recipe's values stay otherwise). */
export function evaluationFlags(f: FusionFlags): Pick<CombineRecipe, 'extraEvalData' | 'resamples' | 'minGain' | 'maxCost' | 'maxBarrier' | 'allowBelowChance'> {
  return {
    ...(f.evalData && f.evalData.length > 1 ? { extraEvalData: f.evalData.slice(1).map((d) => dataSpec(d, f)) } : {}),
    ...(f.bootstrap !== undefined ? { resamples: f.bootstrap } : {}),
    ...(f.minGain !== undefined ? { minGain: f.minGain } : {}),
    ...(f.maxCost !== undefined ? { maxCost: f.maxCost } : {}),
    ...(f.maxBarrier !== undefined ? { maxBarrier: f.maxBarrier } : {}),
    ...(f.allowBelowChance ? { allowBelowChance: true } : {}),
  };
}

/**
 * The status line of eval, combine and demo (TTY only): a spinner from the start until the first
 * member's run has a count, then the step running now — `run <member>` per member and dataset,
 * `fit <method>` per method, and the steps combine names (scoring merges, writing the folder).
 */
export function fusionProgress(quiet: boolean): { members: PrepareProgress; fits: (method: string, done: number, total: number) => void; step: (label: string) => void; stop(): void } {
  const line = statusLine({ quiet });
  line.spin('loading members');
  return {
    members: (s, d, t) => line.bar(`run ${s.member}${s.dataset === 'eval' ? ' (eval data)' : ''}`, d, t),
    fits: (m, d, t) => line.bar(`fit ${m}`, d, t),
    step: (label) => line.spin(label),
    stop: () => line.stop(),
  };
}

function recipeFromFlags(members: string[], f: FusionFlags & { out?: string }, command: string, needOut: boolean): CombineRecipe {
  if (members.length < 2) throw new BertfuseError('E_USAGE', `${command} needs at least two member folders, got ${members.length}`);
  if (!f.data) throw new BertfuseError('E_USAGE', `${command} needs --data <labelled file> to fit and score on`);
  if (needOut && !f.out) throw new BertfuseError('E_USAGE', `${command} needs --out <folder> for the combined model`);
  return withCombineDefaults({
    members: members.map((path) => ({ path })),
    data: dataSpec(f.data, f),
    evalData: f.evalData?.[0] !== undefined ? dataSpec(f.evalData[0], f) : undefined,
    ...evaluationFlags(f),
    labels: parseLabels(f.labels) ?? undefined,
    labelMap: labelMapOf(f),
    // --weights alone means the weighted method with those weights.
    method: f.method ?? (f.weights !== undefined ? 'weighted' : undefined),
    options: methodParams(f),
    seed: f.seed,
    folds: f.folds,
    out: f.out ?? '',
  });
}

/** Flags given next to --recipe override the recipe's values (members too: positional members replace the recipe's). */
function applyOverrides(r: CombineRecipe, f: FusionFlags & { out?: string }, members: string[]): CombineRecipe {
  if (members.length === 1) throw new BertfuseError('E_USAGE', `give at least two members on the command line (they replace the recipe's), got ${members[0]}`);
  const options = { ...r.options, ...methodParams(f) };
  // A data flag without a file (e.g. --encoding latin1) applies to the recipe's files.
  const reread = (d: DataSpec): DataSpec => ({ ...d, ...dataSpec(d.path, f) });
  return {
    ...r,
    ...(members.length > 0 ? { members: members.map((path) => ({ path })) } : {}),
    data: f.data ? dataSpec(f.data, f) : reread(r.data),
    evalData: f.evalData?.[0] !== undefined ? dataSpec(f.evalData[0], f) : r.evalData ? reread(r.evalData) : null,
    ...(r.extraEvalData ? { extraEvalData: r.extraEvalData.map(reread) } : {}),
    ...evaluationFlags(f),
    ...(f.labels ? { labels: parseLabels(f.labels) } : {}),
    ...(f.labelMap ? { labelMap: { ...r.labelMap, ...labelMapOf(f) } } : {}),
    ...(f.method ? { method: f.method } : {}),
    options,
    ...(f.seed !== undefined ? { seed: f.seed } : {}),
    ...(f.folds !== undefined ? { folds: f.folds } : {}),
    ...(f.out ? { out: f.out } : {}),
  };
}

/** The combine recipe a command line describes: --recipe plus overriding flags, or flags alone. */
export function fusionRecipe(members: string[], f: FusionFlags & { out?: string }, command: string, needOut: boolean): CombineRecipe {
  if (!f.recipe) return recipeFromFlags(members, f, command, needOut);
  const read = readCombineRecipe(f.recipe);
  for (const line of read.notes ?? []) printNote(line);
  const r = applyOverrides(read, f, members);
  if (needOut && !r.out) throw new BertfuseError('E_USAGE', `${command} needs --out <folder> (or out: in the recipe)`);
  return r;
}

export function register(program: Command): void {
  const cmd = program
    .command('combine')
    .description('fuse two or more classifiers into ONE model folder (one model.onnx), scored honestly on your data')
    .argument('[members...]', 'member model folders (BertForSequenceClassification)')
    .option('-o, --out <folder>', 'where to write the combined model')
    .option('--quantize <mode>', 'int8: export the combined graph with dynamically int8-quantised members; the table adds the method\'s int8 row', quantizeMode)
    .option('--merge-base <folder>', "auto: the members' common parent; adds task arithmetic and TIES (λ, density searched on held-out rows) and Model Stock to the candidates")
    .option('--save-eval', 'also keep the full evaluation as eval.json in the folder (for bertfuse report; it contains texts of rows the members disagree on)');
  cmd.addHelpText('after', '\n' + methodsHelp(FUSION_METHODS));
  addFusionFlags(cmd, `fusion method: ${FUSION_METHODS.map((m) => m.name).join(', ')}, or auto (try all, export the best; default)`).action(async (members: string[], f: FusionFlags & { out?: string; recipe?: string; saveEval?: boolean; mergeBase?: string; quantize?: QuantizeMode }) => {
    const base = fusionRecipe(members, f, 'combine', true);
    const recipe: CombineRecipe = { ...base, ...(f.mergeBase ? { mergeBase: f.mergeBase } : {}), ...(f.quantize ? { quantize: f.quantize } : {}) };
    const progress = fusionProgress(Boolean(f.quiet || f.json));
    const outcome = await combine(recipe, {
      registry: FUSION_METHODS,
      ...(f.batchSize ? { batchSize: f.batchSize } : {}),
      ...(f.threads ? { runtime: { threads: f.threads } } : {}),
      onMemberProgress: progress.members,
      onFitProgress: progress.fits,
      onStep: progress.step,
      saveEval: Boolean(f.saveEval),
      // --method auto also weighs one-encoder weight merges, where the members allow one.
      autoCandidates: [mergeCandidates, ...(recipe.mergeBase ? [baseMergeCandidates(recipe.mergeBase, recipe.seed)] : [])],
    }).finally(() => progress.stop());
    for (const line of outcome.notes) printNote(line);
    if (f.json) return printJson({ out: outcome.out, exported: outcome.exported, manifest: outcome.manifest, result: outcome.result });
    for (const line of membersSummary(outcome.result)) printLine(line);
    printLine();
    printLine(evalTable(outcome.result));
    printLine();
    for (const block of extraSetTables(outcome.result)) {
      printLine(block);
      printLine();
    }
    for (const line of evalSummary(outcome.result)) printLine(line);
    const man = outcome.manifest;
    const io = man ? ` — inputs ${man.model.inputs.join(', ')}; outputs ${man.model.outputs.join(', ')}` : '';
    printLine(`wrote ${outcome.out} (${outcome.exported})${io}`);
  });
}
