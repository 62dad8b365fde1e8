import YAML from 'yaml';
import { BertfuseError, isBertfuseError } from '../errors.js';
import { chooseMethods } from '../eval/methods.js';
import type { DataSpec, MemberSpec } from '../eval/prepare.js';
import { FUSION_METHODS } from '../fusion/registry.js';
import type { QuantizeMode } from '../graph/quantize.js';
import { MAX_RECIPE_BYTES, readFileBounded } from '../util/read-bounded.js';

/**
 * A combine recipe: the same choices as the `bertfuse combine` flags, in a file you can keep.
 *
 *   members:
 *     - fixtures/sst2-sibling-a
 *     - { path: fixtures/sst2-stranger-b, name: stranger }
 *   data: data/sst2_dev.tsv          # or { path, text_column, text_pair_column, label_column, encoding }
 *   eval_data: held-out.jsonl        # optional: score here instead of out-of-fold; a list = further
 *                                    #   sets (e.g. shifted domains) scored too, with a robustness summary
 *   labels: [negative, positive]     # optional common label order (default: the first member's)
 *   label_map: { NEG: negative }     # optional renames (member labels and data labels)
 *   method: auto                     # a method name, or auto
 *   options: { l2: 0.01 }            # optional method options
 *   seed: 0
 *   folds: 5
 *   bootstrap: 1000                  # paired-bootstrap rounds for intervals and tests (0 = off)
 *   min_gain: 0                      # auto: a costlier candidate must gain more than this (log-loss)
 *   max_cost: 2                      # auto: budget, relative to the cheapest member
 *   max_barrier: 0.05                # auto: merges with a larger loss barrier are left out
 *   allow_below_chance: false        # go on when a member scores below chance under these labels
 *   quantize: int8                   # export with dynamic int8 members (the table adds its int8 row)
 *   merge_base: fixtures/base-mlm    # auto: the members' parent, for task arithmetic / TIES (λ, density
 *                                    #   searched on held-out rows) and Model Stock candidates
 *   out: out/combined
 *
 * Paths are taken as written, relative to the working directory (as merge recipes and mergekit do).
 */
export interface CombineRecipe {
  readonly members: readonly MemberSpec[];
  readonly data: DataSpec;
  readonly evalData: DataSpec | null;
  readonly labels: readonly string[] | null;
  readonly labelMap: Readonly<Record<string, string>>;
  readonly method: string;
  readonly options: Readonly<Record<string, number | boolean | string>>;
  readonly seed: number;
  readonly folds: number;
  readonly out: string;
  /** Further scoring sets after `evalData` (robustness across sets). */
  readonly extraEvalData?: readonly DataSpec[];
  /** Paired-bootstrap rounds (default 1000; 0 = no intervals, point estimates decide auto). */
  readonly resamples?: number;
  /** Selection under auto (see src/eval/select.ts). */
  readonly minGain?: number;
  readonly maxCost?: number;
  readonly maxBarrier?: number;
  readonly allowBelowChance?: boolean;
  /** The members' common parent: auto then also tries merges that need a base (task arithmetic, TIES, Model Stock). */
  readonly mergeBase?: string;
  /** Export the combined graph with its members' encoder layers dynamically int8-quantised. */
  readonly quantize?: QuantizeMode;
  /** Lines for the user about the recipe file itself (old key names still read). */
  readonly notes?: readonly string[];
}

/**
 * Every default of a combine recipe, in one place: the YAML recipe, the library's `combine()`, the
 * CLI flags and the demo all fill what they were not given from here (withCombineDefaults). The
 * optional fields (bootstrap rounds, selection thresholds) stay absent and take their defaults
 * where they are used (src/eval/bootstrap.ts, src/eval/select.ts).
 */
export const COMBINE_DEFAULTS = {
  evalData: null,
  labels: null,
  labelMap: {},
  method: 'auto',
  options: {},
  seed: 0,
  folds: 5,
} as const satisfies Partial<CombineRecipe>;

export const DEFAULT_SEED = COMBINE_DEFAULTS.seed;
export const DEFAULT_FOLDS = COMBINE_DEFAULTS.folds;

type Defaulted = keyof typeof COMBINE_DEFAULTS;

/** What a caller must give (members, data, out); the rest may be absent or undefined. */
export type CombineRecipeInput = Pick<CombineRecipe, 'members' | 'data' | 'out'> & { readonly [K in Exclude<keyof CombineRecipe, 'members' | 'data' | 'out'>]?: CombineRecipe[K] | undefined };

/** The complete recipe: every field not given (or given as undefined) takes COMBINE_DEFAULTS'. */
export function withCombineDefaults(r: CombineRecipeInput): CombineRecipe {
  const given = Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined)) as CombineRecipeInput;
  // Fresh objects per recipe: no caller can change another's (or the shared) defaults.
  const filled: Record<Defaulted, unknown> = { ...COMBINE_DEFAULTS, labelMap: { ...COMBINE_DEFAULTS.labelMap }, options: { ...COMBINE_DEFAULTS.options } };
  return { ...filled, ...given } as CombineRecipe;
}

// `models` / `model:` and `parameters` are the merge recipe's (mergekit's) words for members and
// method options: one shape for both kinds of recipe.
const TOP_KEYS = ['members', 'models', 'parameters', 'data', 'eval_data', 'labels', 'label_map', 'method', 'options', 'seed', 'folds', 'out', 'bootstrap', 'min_gain', 'max_cost', 'max_barrier', 'allow_below_chance', 'merge_base', 'quantize'] as const;
// `pair_column` is the old name of `text_pair_column` (read, with a note in `notes`).
const DATA_KEYS = ['path', 'text_column', 'text_pair_column', 'pair_column', 'label_column', 'encoding'] as const;
const MEMBER_KEYS = ['path', 'model', 'name'] as const;

function fail(msg: string, source: string): never {
  throw new BertfuseError('E_BAD_RECIPE', msg, source);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function checkKeys(obj: Record<string, unknown>, known: readonly string[], where: string, source: string): void {
  for (const k of Object.keys(obj)) if (!known.includes(k)) fail(`${where}: unknown key "${k}" (known: ${known.join(', ')})`, source);
}

function str(v: unknown, where: string, source: string): string {
  if (typeof v !== 'string' || v.trim() === '') fail(`${where} must be a non-empty string, got ${JSON.stringify(v)}`, source);
  return v;
}

function dataSpec(v: unknown, where: string, source: string, notes: string[]): DataSpec {
  if (typeof v === 'string') return { path: str(v, where, source) };
  if (!isObject(v)) fail(`${where} must be a path or { path, text_column, label_column, ... }`, source);
  checkKeys(v, DATA_KEYS, where, source);
  const opt = (k: string): string | undefined => (v[k] === undefined || v[k] === null ? undefined : str(v[k], `${where}.${k}`, source));
  const spec: { -readonly [K in keyof DataSpec]: DataSpec[K] } = { path: str(v['path'], `${where}.path`, source) };
  const text = opt('text_column');
  if (v['text_pair_column'] !== undefined && v['pair_column'] !== undefined) fail(`${where}: give "text_pair_column" or its old name "pair_column", not both`, source);
  if (v['pair_column'] !== undefined) notes.push(`${source}: ${where}.pair_column is deprecated; write text_pair_column`);
  const pair = opt('text_pair_column') ?? opt('pair_column');
  const label = opt('label_column');
  const enc = opt('encoding');
  if (text !== undefined) spec.textColumn = text;
  if (pair !== undefined) spec.textPairColumn = pair;
  if (label !== undefined) spec.labelColumn = label;
  if (enc !== undefined) spec.encoding = enc;
  return spec;
}

function positiveInt(v: unknown, key: string, min: number, source: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) fail(`"${key}" must be an integer ≥ ${min}, got ${JSON.stringify(v)}`, source);
  return v;
}

function quantizeMode(v: unknown, source: string): QuantizeMode {
  if (v !== 'int8') fail(`"quantize" must be int8, got ${JSON.stringify(v)}`, source);
  return v;
}

/** Parses and checks a recipe's text; `source` names the file in messages. */
export function parseCombineRecipe(text: string, source: string): CombineRecipe {
  let doc: unknown;
  try {
    doc = YAML.parse(text);
  } catch (e) {
    fail(`not a combine recipe: invalid YAML (${(e as Error).message.split('\n')[0]})`, source);
  }
  if (!isObject(doc)) fail('a combine recipe is a YAML mapping (members, data, method, out, ...)', source);
  checkKeys(doc, TOP_KEYS, 'recipe', source);
  if (doc['members'] !== undefined && doc['models'] !== undefined) fail('give "members" or "models", not both', source);
  if (doc['options'] !== undefined && doc['parameters'] !== undefined) fail('give "options" or "parameters", not both', source);
  const key = doc['models'] !== undefined ? 'models' : 'members';
  const rawMembers = doc[key];
  if (!Array.isArray(rawMembers) || rawMembers.length < 2) fail(`"${key}" must list at least two model folders`, source);
  const members = rawMembers.map((m, i): MemberSpec => {
    if (typeof m === 'string') return { path: str(m, `${key}[${i}]`, source) };
    if (!isObject(m)) fail(`${key}[${i}] must be a path or { ${key === 'models' ? 'model' : 'path'}, name }`, source);
    checkKeys(m, MEMBER_KEYS, `${key}[${i}]`, source);
    const pk = m['model'] !== undefined ? 'model' : 'path';
    const p = str(m[pk], `${key}[${i}].${pk}`, source);
    return m['name'] === undefined ? { path: p } : { path: p, name: str(m['name'], `${key}[${i}].name`, source) };
  });
  if (doc['data'] === undefined) fail('"data" (the labelled file to fit on) is required', source);
  const labelsRaw = doc['labels'];
  if (labelsRaw !== undefined && labelsRaw !== null && (!Array.isArray(labelsRaw) || labelsRaw.length < 2 || !labelsRaw.every((l) => typeof l === 'string' && l !== ''))) {
    fail('"labels" must list at least two label names', source);
  }
  // Absent or null: the default (COMBINE_DEFAULTS).
  const mapRaw = doc['label_map'] ?? undefined;
  if (mapRaw !== undefined && (!isObject(mapRaw) || !Object.values(mapRaw).every((v) => typeof v === 'string' && v !== ''))) fail('"label_map" must map names to names ({ NEG: negative })', source);
  const optRaw = doc['options'] ?? doc['parameters'] ?? undefined;
  if (optRaw !== undefined && !isObject(optRaw)) fail('"options" (or "parameters") must be a mapping of option names to values', source);
  const options = optRaw as Record<string, unknown> | undefined;
  for (const [k, v] of Object.entries(options ?? {})) {
    // A list of numbers (weights: [0.6, 0.4]) is the same as the flag's "0.6,0.4".
    if (Array.isArray(v) && v.every((x) => typeof x === 'number')) options![k] = v.join(',');
    else if (typeof v !== 'number' && typeof v !== 'boolean' && typeof v !== 'string') fail(`options.${k} must be a number, true/false, a string or a list of numbers`, source);
  }
  const notes: string[] = [];
  const evalRaw = doc['eval_data'];
  const evalSets = evalRaw === undefined || evalRaw === null ? [] : Array.isArray(evalRaw) ? evalRaw.map((d, i) => dataSpec(d, `eval_data[${i}]`, source, notes)) : [dataSpec(evalRaw, 'eval_data', source, notes)];
  const nonNegative = (key: string): number | undefined => {
    const v = doc[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) fail(`"${key}" must be a number ≥ 0, got ${JSON.stringify(v)}`, source);
    return v;
  };
  const minGain = nonNegative('min_gain');
  const maxCost = nonNegative('max_cost');
  const maxBarrier = nonNegative('max_barrier');
  const below = doc['allow_below_chance'];
  if (below !== undefined && typeof below !== 'boolean') fail('"allow_below_chance" must be true or false', source);
  const recipe = withCombineDefaults({
    ...(evalSets.length > 1 ? { extraEvalData: evalSets.slice(1) } : {}),
    resamples: positiveInt(doc['bootstrap'], 'bootstrap', 0, source),
    minGain,
    maxCost,
    maxBarrier,
    ...(below === true ? { allowBelowChance: true } : {}),
    ...(doc['quantize'] !== undefined && doc['quantize'] !== null ? { quantize: quantizeMode(doc['quantize'], source) } : {}),
    ...(doc['merge_base'] !== undefined && doc['merge_base'] !== null ? { mergeBase: str(doc['merge_base'], 'merge_base', source) } : {}),
    members,
    data: dataSpec(doc['data'], 'data', source, notes),
    evalData: evalSets[0],
    labels: Array.isArray(labelsRaw) ? (labelsRaw as string[]) : undefined,
    labelMap: mapRaw as Record<string, string> | undefined,
    method: doc['method'] === undefined ? undefined : str(doc['method'], 'method', source),
    options: options as Record<string, number | boolean | string> | undefined,
    seed: positiveInt(doc['seed'], 'seed', 0, source),
    folds: positiveInt(doc['folds'], 'folds', 2, source),
    out: str(doc['out'], 'out', source),
    ...(notes.length > 0 ? { notes } : {}),
  });
  // Check the method and its options here, where the recipe file is known, so the message names it.
  try {
    chooseMethods(FUSION_METHODS, recipe.method, recipe.options);
  } catch (e) {
    if (isBertfuseError(e)) fail(e.message, source);
    throw e;
  }
  return recipe;
}

export function readCombineRecipe(file: string): CombineRecipe {
  const text = readFileBounded(file, MAX_RECIPE_BYTES, 'cannot read recipe').toString('utf8');
  return parseCombineRecipe(text, file);
}

/** The recipe a `combine` run corresponds to, as YAML (kept in the output folder for reproducibility). */
export function combineRecipeYaml(r: CombineRecipe): string {
  const data = (d: DataSpec): unknown =>
    d.textColumn === undefined && d.textPairColumn === undefined && d.labelColumn === undefined && d.encoding === undefined
      ? d.path
      : { path: d.path, text_column: d.textColumn, text_pair_column: d.textPairColumn, label_column: d.labelColumn, encoding: d.encoding };
  const doc: Record<string, unknown> = {
    members: r.members.map((m) => (m.name === undefined ? m.path : { path: m.path, name: m.name })),
    data: data(r.data),
    eval_data: r.evalData ? (r.extraEvalData?.length ? [r.evalData, ...r.extraEvalData].map(data) : data(r.evalData)) : undefined,
    labels: r.labels ?? undefined,
    label_map: Object.keys(r.labelMap).length > 0 ? r.labelMap : undefined,
    method: r.method,
    options: Object.keys(r.options).length > 0 ? r.options : undefined,
    seed: r.seed,
    folds: r.folds,
    bootstrap: r.resamples,
    min_gain: r.minGain,
    max_cost: r.maxCost,
    max_barrier: r.maxBarrier,
    allow_below_chance: r.allowBelowChance,
    merge_base: r.mergeBase,
    quantize: r.quantize,
    out: r.out,
  };
  return YAML.stringify(JSON.parse(JSON.stringify(doc)) as unknown);
}
