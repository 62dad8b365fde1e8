import YAML from 'yaml';
import { BertfuseError } from '../errors.js';
import { mergeMethod } from '../merge/registry.js';
import type { QuantizeMode } from '../graph/quantize.js';
import { unsetRequired, validateParams, type FilteredValue, type ParamMap, type ParamValue } from '../merge/params.js';
import type { ParamScalar } from '../merge/types.js';
import { MAX_RECIPE_BYTES, readFileBounded } from '../util/read-bounded.js';

/**
 * A merge recipe, mergekit-like:
 *
 *   merge_method: ties
 *   base_model: fixtures/base-mlm
 *   models:
 *     - model: fixtures/sst2-sibling-a
 *       parameters: { weight: 0.5, density: 0.5 }
 *     - model: fixtures/sst2-sibling-b
 *       parameters: { weight: 0.5, density: [{ filter: classifier, value: 1 }, { value: 0.5 }] }
 *   parameters: { lambda: 1 }
 *   dtype: float32
 *
 * mergekit's `slices:` form is accepted when it is one slice of whole models (its
 * `layer_range` must cover every layer); `dtype` is the compute dtype and `out_dtype` the written
 * one, as in mergekit. Plus bertfuse's own keys: seed, align, heads, label_match, texts,
 * max_texts, shard_size, onnx, quantize. Paths are taken as written, relative to the working directory (as
 * mergekit does).
 */

export const ALIGN_MODES = ['none', 'weights', 'activations'] as const;
export type AlignMode = (typeof ALIGN_MODES)[number];
export const HEAD_MODES = ['auto', 'merge', 'separate'] as const;
export type HeadsMode = (typeof HEAD_MODES)[number];
export const MERGE_DTYPES = ['float32', 'float16', 'bfloat16'] as const;
export type MergeDType = (typeof MERGE_DTYPES)[number];
export const LABEL_MATCHES = ['name', 'position'] as const;
export type LabelMatch = (typeof LABEL_MATCHES)[number];

export interface MergeModelSpec {
  /** Path of a Hugging Face BERT classifier folder. */
  readonly model: string;
  readonly parameters: ParamMap;
  /** Name of this model's task when heads stay separate (output `logits_<task>`, folder `<task>/`). */
  readonly task: string | null;
  /** From mergekit's `slices:` form: the layers taken from this model (checked to be all of them). */
  readonly layerRange?: readonly [number, number];
}

export interface MergeRecipe {
  readonly mergeMethod: string;
  readonly models: readonly MergeModelSpec[];
  readonly baseModel: string | null;
  readonly parameters: ParamMap;
  /** mergekit's `dtype`: inputs are rounded to it before the math, the result after. */
  readonly dtype: MergeDType;
  /** mergekit's `out_dtype`: the dtype written (null: `dtype`). */
  readonly outDtype: MergeDType | null;
  /** mergekit's `tokenizer_source`: `base`, `union`, or one of the models (null: the first model's). */
  readonly tokenizerSource: string | null;
  /** Classifier rows of one merged head: matched by label `name` (bertfuse) or by `position` (mergekit). */
  readonly labelMatch: LabelMatch;
  /** Seeds every random choice (DARE masks); same recipe, same bytes. */
  readonly seed: number;
  /** Permutation alignment of members 2..n to member 1 before merging (models from different initialisations). */
  readonly align: AlignMode;
  /** `merge`: one head (label sets must match by name); `separate`: one head per member; `auto`: merge when the label sets match. */
  readonly heads: HeadsMode;
  /** Unlabelled texts (plain lines, JSONL, or a TSV with a text column) for RegMean statistics and activation alignment. */
  readonly texts: readonly string[];
  /** Encoding of the texts files (utf8, latin1, utf16le). */
  readonly textsEncoding: string | null;
  readonly maxTexts: number;
  /** Largest safetensors shard, in bytes. */
  readonly shardSize: number;
  /** Also write model.onnx. */
  readonly onnx: boolean;
  /** model.onnx with its encoder layers dynamically int8-quantised (heads stay float), as combine --quantize int8; null: float32. */
  readonly quantize: QuantizeMode | null;
}

const TOP_KEYS = [
  'merge_method',
  'base_model',
  'models',
  'slices',
  'parameters',
  'dtype',
  'out_dtype',
  'tokenizer_source',
  'seed',
  'align',
  'heads',
  'label_match',
  'texts',
  'texts_encoding',
  'max_texts',
  'shard_size',
  'onnx',
  'quantize',
] as const;
const MODEL_KEYS = ['model', 'parameters', 'task'] as const;
export const DEFAULT_SHARD_SIZE = 5_000_000_000;
export const DEFAULT_MAX_TEXTS = 512;

function fail(msg: string, source: string | undefined): never {
  throw new BertfuseError('E_BAD_RECIPE', msg, source);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkKeys(obj: Record<string, unknown>, known: readonly string[], where: string, source: string | undefined): void {
  for (const k of Object.keys(obj)) {
    if (!known.includes(k)) {
      const hint = k === 'layer_range' || k === 'sources' ? ' (only the slices form with one slice of whole models is supported)' : '';
      fail(`${where}: unknown key "${k}"${hint} (known: ${known.join(', ')})`, source);
    }
  }
}

function oneOf<T extends string>(v: unknown, choices: readonly T[], key: string, fallback: T, source: string | undefined): T {
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'string' || !(choices as readonly string[]).includes(v)) fail(`"${key}" must be one of ${choices.join(', ')}, got ${JSON.stringify(v)}`, source);
  return v as T;
}

/** "2GB", "500MB", "1.5GiB", "1e9" or a number of bytes. */
export function parseSize(v: unknown, key: string, source: string | undefined): number {
  if (typeof v === 'number' && Number.isSafeInteger(Math.floor(v)) && v >= 1) return Math.floor(v);
  if (typeof v === 'string') {
    const m = /^\s*([0-9]*\.?[0-9]+(?:e[0-9]+)?)\s*(b|kb|mb|gb|tb|kib|mib|gib|tib)?\s*$/i.exec(v);
    if (m) {
      const units: Record<string, number> = { b: 1, kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3, tib: 1024 ** 4 };
      const bytes = Math.floor(Number(m[1]) * units[(m[2] ?? 'b').toLowerCase()]!);
      if (bytes > 0 && Number.isSafeInteger(bytes)) return bytes;
    }
  }
  return fail(`"${key}" must be a size such as 2GB, 500MB or a number of bytes, got ${JSON.stringify(v)}`, source);
}

function isGradientList(v: unknown): v is number[] {
  return Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'number' && Number.isFinite(x));
}

/** A scalar, or a list of numbers: mergekit's layer gradient. */
function parseSetting(v: unknown): ParamScalar | readonly number[] | undefined {
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'string') return v;
  if (isGradientList(v)) return v;
  return undefined;
}

function parseParamValue(v: unknown, where: string, source: string | undefined): ParamValue {
  const scalar = parseSetting(v);
  if (scalar !== undefined) return scalar;
  if (Array.isArray(v) && v.length > 0) {
    return v.map((entry, i): FilteredValue => {
      if (!isObject(entry)) fail(`${where}[${i}] must be {filter, value} (a list of numbers is a layer gradient; do not mix the two)`, source);
      checkKeys(entry, ['filter', 'value'], `${where}[${i}]`, source);
      const f = entry['filter'];
      if (f !== undefined && f !== null && (typeof f !== 'string' || f === '')) fail(`${where}[${i}].filter must be a non-empty string`, source);
      const value = parseSetting(entry['value']);
      if (value === undefined) fail(`${where}[${i}].value must be a number, true/false, or a list of numbers (a layer gradient), got ${JSON.stringify(entry['value'])}`, source);
      return { filter: typeof f === 'string' ? f : null, value };
    });
  }
  return fail(`${where} must be a number, true/false, a list of numbers (a layer gradient) or a list of {filter, value}; got ${JSON.stringify(v)}`, source);
}

function parseParamMap(v: unknown, where: string, source: string | undefined): ParamMap {
  if (v === undefined || v === null) return {};
  if (!isObject(v)) fail(`${where} must be a mapping of parameter names to values`, source);
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, parseParamValue(x, `${where}.${k}`, source)]));
}

function modelPath(v: unknown, where: string, source: string | undefined): string {
  if (typeof v === 'string' && v.trim() !== '') return v;
  if (isObject(v) && typeof v['model'] === 'string') return v['model'];
  return fail(`${where} must be a model folder path`, source);
}

const TASK_NAME = /^[A-Za-z][A-Za-z0-9_]*$/;

/**
 * mergekit's `slices:` form, accepted when it says the same as `models:` — one slice whose
 * sources each take a whole model (`layer_range: [0, num_layers]`, checked when the models are
 * opened). Layer stacking (frankenmerges, passthrough) has no meaning for a fixed-size classifier.
 */
function slicesToModels(v: unknown, source: string | undefined): unknown[] {
  if (!Array.isArray(v) || v.length !== 1 || !isObject(v[0])) fail('"slices" is supported as one slice of whole models (layer stacking is not): slices: [{sources: [{model, layer_range: [0, N]}, ...]}]', source);
  const slice = v[0];
  checkKeys(slice, ['sources'], 'slices[0]', source);
  const sources = slice['sources'];
  if (!Array.isArray(sources) || sources.length === 0) fail('slices[0].sources must be a non-empty list of {model, layer_range}', source);
  return sources.map((s, i) => {
    if (!isObject(s)) fail(`slices[0].sources[${i}] must be {model, layer_range}`, source);
    checkKeys(s, ['model', 'layer_range', 'parameters'], `slices[0].sources[${i}]`, source);
    const r = s['layer_range'];
    if (!Array.isArray(r) || r.length !== 2 || !r.every((x) => Number.isSafeInteger(x)) || r[0] !== 0) {
      fail(`slices[0].sources[${i}].layer_range must be [0, <number of layers>] (whole models only), got ${JSON.stringify(r)}`, source);
    }
    return { model: s['model'], ...(s['parameters'] !== undefined ? { parameters: s['parameters'] } : {}), layerRange: [r[0], r[1]] };
  });
}

export interface ParseOptions {
  /**
   * mergekit's rule: every model's `weight` must be given (per model or globally). YAML recipe
   * files are read this way; recipes built by flags or code default each weight to 1.
   */
  readonly requireWeights?: boolean;
}

/** Validate a parsed YAML/JSON object as a merge recipe. `source` names the file in errors. */
export function parseMergeRecipe(raw: unknown, source?: string, opts: ParseOptions = {}): MergeRecipe {
  if (!isObject(raw)) fail('a recipe must be a mapping (merge_method, models, ...)', source);
  checkKeys(raw, TOP_KEYS, 'recipe', source);
  const methodName = raw['merge_method'];
  if (typeof methodName !== 'string') fail('missing "merge_method"', source);
  const method = mergeMethod(methodName, source);
  if (raw['slices'] !== undefined && raw['models'] !== undefined) fail('give "models" or "slices", not both', source);
  const modelsRaw = raw['slices'] !== undefined ? slicesToModels(raw['slices'], source) : raw['models'];
  if (!Array.isArray(modelsRaw) || modelsRaw.length === 0) fail('"models" must be a non-empty list of {model: <path>}', source);
  let models = modelsRaw.map((m, i): MergeModelSpec => {
    const where = `models[${i}]`;
    if (typeof m === 'string') return { model: m, parameters: {}, task: null };
    if (!isObject(m)) fail(`${where} must be {model: <path>, parameters: {...}}`, source);
    checkKeys(m, [...MODEL_KEYS, ...('layerRange' in m ? ['layerRange'] : [])], where, source);
    const task = m['task'];
    if (task !== undefined && (typeof task !== 'string' || !TASK_NAME.test(task))) fail(`${where}.task must be a name of letters, digits and _ (starting with a letter), got ${JSON.stringify(task)}`, source);
    const range = m['layerRange'] as [number, number] | undefined;
    return {
      model: modelPath(m['model'], `${where}.model`, source),
      parameters: parseParamMap(m['parameters'], `${where}.parameters`, source),
      task: (task as string | undefined) ?? null,
      ...(range ? { layerRange: range } : {}),
    };
  });
  const baseRaw = raw['base_model'];
  const baseModel = baseRaw === undefined || baseRaw === null ? null : modelPath(baseRaw, 'base_model', source);
  if (method.baseIsMember && baseModel !== null) {
    // slerp: base_model is v0. mergekit adds it to the models when it is not listed; it goes first.
    const at = models.findIndex((m) => m.model === baseModel);
    if (at < 0 && models.length >= method.maxModels) fail(`${method.name}'s base_model must be one of its ${method.maxModels} models (it is the t = 0 end)`, source);
    const own = at < 0 ? { model: baseModel, parameters: {}, task: null } : models[at]!;
    models = [own, ...models.filter((_, i) => i !== at)];
  }
  if (models.length < method.minModels || models.length > method.maxModels) {
    const want = method.minModels === method.maxModels ? `exactly ${method.minModels}` : `at least ${method.minModels}`;
    fail(`${method.name} needs ${want} models, the recipe lists ${models.length}`, source);
  }
  if (method.base === 'required' && baseModel === null) fail(`${method.name} needs a base_model (the checkpoint the members were fine-tuned from)`, source);
  if (method.base === 'none' && !method.baseIsMember && baseModel !== null) fail(`${method.name} does not use base_model (list it under models to include it in the merge)`, source);
  if (method.base === 'optional' && baseModel !== null && models.some((m) => m.model === baseModel)) fail(`${method.name}'s base_model cannot also be one of the models it merges`, source);
  let parameters = parseParamMap(raw['parameters'], 'parameters', source);
  validateParams(method, parameters, models.map((m) => m.parameters), source);
  // Weights: required in recipe files (mergekit), 1 each for recipes from flags or code — written
  // out explicitly, so merge.yaml reads back the same under either rule.
  if (!opts.requireWeights && method.params.some((p) => p.name === 'weight') && parameters['weight'] === undefined && models.some((m) => m.parameters['weight'] === undefined)) {
    parameters = { ...parameters, weight: 1 };
  }
  const unset = unsetRequired(method, parameters, models.map((m) => m.parameters));
  if (unset.length) fail(`${method.name} needs ${unset.join(', ')} (mergekit requires it too; it has no default)`, source);
  const seed = raw['seed'] ?? 0;
  if (typeof seed !== 'number' || !Number.isSafeInteger(seed) || seed < 0) fail(`"seed" must be an integer >= 0, got ${JSON.stringify(seed)}`, source);
  const textsRaw = raw['texts'];
  let texts: string[] = [];
  if (typeof textsRaw === 'string') texts = [textsRaw];
  else if (Array.isArray(textsRaw) && textsRaw.every((t) => typeof t === 'string')) texts = textsRaw as string[];
  else if (textsRaw !== undefined && textsRaw !== null) fail('"texts" must be a file path or a list of file paths', source);
  const maxTexts = raw['max_texts'] ?? DEFAULT_MAX_TEXTS;
  if (typeof maxTexts !== 'number' || !Number.isSafeInteger(maxTexts) || maxTexts <= 0) fail(`"max_texts" must be a positive integer, got ${JSON.stringify(maxTexts)}`, source);
  const textsEncoding = raw['texts_encoding'] ?? null;
  if (textsEncoding !== null && typeof textsEncoding !== 'string') fail('"texts_encoding" must be a name such as utf8 or latin1', source);
  const onnx = raw['onnx'] ?? true;
  if (typeof onnx !== 'boolean') fail(`"onnx" must be true or false, got ${JSON.stringify(onnx)}`, source);
  const quantize = raw['quantize'] ?? null;
  if (quantize !== null && quantize !== 'int8') fail(`"quantize" must be int8, got ${JSON.stringify(quantize)}`, source);
  if (quantize !== null && !onnx) fail('"quantize: int8" quantises model.onnx; it needs onnx: true', source);
  const tokenizerSource = raw['tokenizer_source'] ?? null;
  if (tokenizerSource !== null) {
    const known = ['base', 'union', ...models.map((m) => m.model), ...(baseModel !== null ? [baseModel] : [])];
    if (typeof tokenizerSource !== 'string' || !known.includes(tokenizerSource)) fail(`"tokenizer_source" must be base, union or one of the recipe's models, got ${JSON.stringify(tokenizerSource)}`, source);
    if (tokenizerSource === 'base' && baseModel === null) fail('"tokenizer_source: base" needs a base_model', source);
  }
  const recipe: MergeRecipe = {
    mergeMethod: method.name,
    models,
    baseModel,
    parameters,
    dtype: oneOf(raw['dtype'], MERGE_DTYPES, 'dtype', 'float32', source),
    outDtype: raw['out_dtype'] === undefined || raw['out_dtype'] === null ? null : oneOf(raw['out_dtype'], MERGE_DTYPES, 'out_dtype', 'float32', source),
    tokenizerSource: tokenizerSource as string | null,
    labelMatch: oneOf(raw['label_match'], LABEL_MATCHES, 'label_match', 'name', source),
    seed,
    align: oneOf(raw['align'], ALIGN_MODES, 'align', 'none', source),
    heads: oneOf(raw['heads'], HEAD_MODES, 'heads', 'auto', source),
    texts,
    textsEncoding,
    maxTexts,
    shardSize: raw['shard_size'] === undefined ? DEFAULT_SHARD_SIZE : parseSize(raw['shard_size'], 'shard_size', source),
    onnx,
    quantize,
  };
  const tasks = models.map((m) => m.task).filter((t): t is string => t !== null);
  const dup = tasks.find((t, i) => tasks.indexOf(t) !== i);
  if (dup !== undefined) fail(`two models use task name "${dup}"`, source);
  if (method.stats !== null && texts.length === 0) fail(`${method.name} runs the members on unlabelled texts: give "texts" (a file of sentences)`, source);
  if (recipe.align === 'activations' && texts.length === 0) fail('align: activations runs the members on unlabelled texts: give "texts" (a file of sentences)', source);
  return recipe;
}

/** Read and validate a recipe file (YAML; JSON is YAML too). */
export function loadMergeRecipe(file: string): MergeRecipe {
  return parseMergeRecipe(readMergeRecipeYaml(file), file, { requireWeights: true });
}

/** A recipe file's YAML as plain data, before validation (the CLI lays its flags over it). */
export function readMergeRecipeYaml(file: string): unknown {
  const text = readFileBounded(file, MAX_RECIPE_BYTES, 'cannot read recipe').toString('utf8');
  let raw: unknown;
  try {
    raw = YAML.parse(text);
  } catch (e) {
    const first = ((e as Error).message.split('\n')[0] ?? '').trim();
    throw new BertfuseError('E_BAD_RECIPE', `invalid YAML (${first})`, file);
  }
  return raw;
}

function paramValueToPlain(v: ParamValue): unknown {
  if (!Array.isArray(v) || isGradientList(v)) return v;
  return (v as readonly FilteredValue[]).map((e) => (e.filter === null ? { value: e.value } : { filter: e.filter, value: e.value }));
}

function paramMapToPlain(m: ParamMap): Record<string, unknown> {
  return Object.fromEntries(Object.keys(m).sort().map((k) => [k, paramValueToPlain(m[k]!)]));
}

/** The recipe as YAML in a stable key order (written next to the merged model as merge.yaml). */
export function mergeRecipeToYaml(r: MergeRecipe): string {
  const doc: Record<string, unknown> = { merge_method: r.mergeMethod };
  if (r.baseModel !== null) doc['base_model'] = r.baseModel;
  doc['models'] = r.models.map((m) => ({
    model: m.model,
    ...(m.task !== null ? { task: m.task } : {}),
    ...(Object.keys(m.parameters).length ? { parameters: paramMapToPlain(m.parameters) } : {}),
  }));
  if (Object.keys(r.parameters).length) doc['parameters'] = paramMapToPlain(r.parameters);
  doc['dtype'] = r.dtype;
  if (r.outDtype !== null) doc['out_dtype'] = r.outDtype;
  if (r.tokenizerSource !== null) doc['tokenizer_source'] = r.tokenizerSource;
  if (r.labelMatch !== 'name') doc['label_match'] = r.labelMatch;
  doc['seed'] = r.seed;
  doc['align'] = r.align;
  doc['heads'] = r.heads;
  if (r.texts.length) {
    doc['texts'] = r.texts.length === 1 ? r.texts[0] : [...r.texts];
    if (r.textsEncoding !== null) doc['texts_encoding'] = r.textsEncoding;
    doc['max_texts'] = r.maxTexts;
  }
  doc['shard_size'] = r.shardSize;
  doc['onnx'] = r.onnx;
  if (r.quantize !== null) doc['quantize'] = r.quantize;
  return YAML.stringify(doc);
}
