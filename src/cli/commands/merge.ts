import fs from 'node:fs';
import type { Command } from 'commander';
import { BertfuseError } from '../../errors.js';
import type { EvalSet } from '../../merge/evaluate.js';
import { merge, type MergePhase, type MergeResult } from '../../merge/merge.js';
import { MERGE_METHODS } from '../../merge/registry.js';
import { parseMergeRecipe, readMergeRecipeYaml, type MergeRecipe } from '../../recipe/merge.js';
import { positiveInt, printJson, printLine } from '../output.js';
import { addDataFlags, addMethodFlag, addParamFlag, addRecipeFlag, addRunFlags, collect, dataSpec, deprecatedOption, evalDataFiles, labelMapOf, paramValues, parseLabels, type DataFlags, type ParamFlags } from '../flags.js';
import { statusLine } from '../progress.js';
import { renderTable } from '../../util/table.js';

interface MergeFlags extends DataFlags, ParamFlags {
  out?: string;
  recipe?: string;
  /** Old way to give members (merge's -m used to mean this); hidden. */
  model?: string[];
  method?: string;
  base?: string;
  weights?: string;
  align?: string;
  heads?: string;
  task?: string[];
  texts?: string[];
  /** Old name of --encoding for the texts files; hidden. */
  textsEncoding?: string;
  maxTexts?: number;
  dtype?: string;
  seed?: string;
  shardSize?: string;
  onnx: boolean;
  quantize?: string;
  eval?: string[];
  listMethods?: boolean;
  json?: boolean;
  quiet?: boolean;
  threads?: number;
}

/** `--param key=value`: numbers and true/false become values, the rest stays text (and fails validation with a clear message). */
function parseParam(p: string): [string, unknown] {
  const eq = p.indexOf('=');
  if (eq <= 0) throw new BertfuseError('E_USAGE', `--param "${p}" is not KEY=VALUE (example: --param lambda=0.7)`);
  const raw = p.slice(eq + 1).trim();
  const value = raw === 'true' ? true : raw === 'false' ? false : raw !== '' && Number.isFinite(Number(raw)) ? Number(raw) : raw;
  return [p.slice(0, eq).trim(), value];
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const RECIPE_EXT = /\.(ya?ml|json)$/i;

/** Positional inputs: member folders, or a recipe file optionally followed by the output folder (as `mergekit-yaml config.yml out/`). */
function splitInputs(inputs: readonly string[], f: MergeFlags): { recipe: string | null; members: string[]; out: string | null } {
  const first = inputs[0];
  const isRecipe = (p: string): boolean => RECIPE_EXT.test(p) && !(fs.existsSync(p) && fs.statSync(p).isDirectory());
  if (first !== undefined && isRecipe(first)) {
    if (f.recipe) throw new BertfuseError('E_USAGE', `two recipes: ${first} and --recipe ${f.recipe}`);
    if (inputs.length > 2) throw new BertfuseError('E_USAGE', `after the recipe ${first} only the output folder may follow, got ${inputs.slice(1).join(' ')}`);
    return { recipe: first, members: [], out: inputs[1] ?? null };
  }
  const members = [...inputs, ...(f.model ?? [])];
  return { recipe: f.recipe ?? null, members, out: null };
}

/**
 * The recipe a command line describes: the recipe file's YAML (if any) with every flag laid over
 * it (flags win), validated as one recipe by the same code as a file.
 */
function recipeFrom(recipeFile: string | null, members: readonly string[], f: MergeFlags): MergeRecipe {
  const raw: Record<string, unknown> = recipeFile ? (() => {
    const y = readMergeRecipeYaml(recipeFile);
    if (!isObject(y)) throw new BertfuseError('E_BAD_RECIPE', 'a recipe must be a mapping (merge_method, models, ...)', recipeFile);
    return { ...y };
  })() : { merge_method: 'linear', models: [], parameters: {} };
  if (members.length > 0) raw['models'] = members.map((model) => ({ model }));
  const models = Array.isArray(raw['models']) ? (raw['models'] as unknown[]).map((m) => (isObject(m) ? { ...m } : typeof m === 'string' ? { model: m } : m)) : [];
  // A recipe file may describe its models another way (mergekit's slices:); its own checks apply.
  if (models.length === 0 && !recipeFile) throw new BertfuseError('E_USAGE', 'nothing to merge: give member folders (bertfuse merge A B --method ties) or a recipe file');
  const weights = f.weights?.split(',').map((w) => Number(w.trim()));
  if (weights && (weights.length !== models.length || weights.some((w) => !Number.isFinite(w)))) {
    throw new BertfuseError('E_USAGE', `--weights needs ${models.length} comma-separated numbers (one per member), got "${f.weights}"`);
  }
  if (f.task && f.task.length !== models.length) throw new BertfuseError('E_USAGE', `--task needs one name per member (${models.length}), got ${f.task.length}`);
  if (models.length > 0) raw['models'] = models.map((m, i) => {
    if (!isObject(m)) return m;
    const params = isObject(m['parameters']) ? { ...m['parameters'] } : {};
    if (weights) params['weight'] = weights[i];
    return { ...m, ...(weights || m['parameters'] !== undefined ? { parameters: params } : {}), ...(f.task ? { task: f.task[i] } : {}) };
  });
  const params = paramValues(f);
  if (params.length) raw['parameters'] = { ...(isObject(raw['parameters']) ? raw['parameters'] : {}), ...Object.fromEntries(params.map(parseParam)) };
  if (f.method && fs.existsSync(f.method)) {
    throw new BertfuseError('E_USAGE', `-m ${f.method}: -m is the method (as in combine and eval); give members positionally: bertfuse merge A B --method ties`);
  }
  if (f.method) raw['merge_method'] = f.method;
  if (f.base) raw['base_model'] = f.base;
  if (f.align) raw['align'] = f.align;
  if (f.heads) raw['heads'] = f.heads;
  const texts = [...(f.texts ?? []), ...(f.data ? [f.data] : [])];
  if (texts.length) raw['texts'] = texts;
  const encoding = f.encoding ?? f.textsEncoding;
  if (encoding) raw['texts_encoding'] = encoding;
  if (f.maxTexts) raw['max_texts'] = f.maxTexts;
  if (f.dtype) raw['dtype'] = f.dtype;
  if (f.seed !== undefined) raw['seed'] = Number(f.seed);
  if (f.shardSize) raw['shard_size'] = f.shardSize;
  if (!f.onnx) raw['onnx'] = false;
  if (f.quantize) raw['quantize'] = f.quantize;
  // A recipe file must give weights, as in mergekit (unless --weights does); flags alone default them to 1.
  return parseMergeRecipe(raw, recipeFile ?? 'command line', { requireWeights: recipeFile !== null && !weights });
}

/** `--eval-data file` or `--eval-data task=file`, read with the shared data flags. */
function evalSets(f: MergeFlags): EvalSet[] {
  const spec = dataSpec('', f);
  const labelMap = labelMapOf(f);
  const read = {
    ...(spec.textColumn !== undefined ? { textColumn: spec.textColumn } : {}),
    ...(spec.textPairColumn !== undefined ? { textPairColumn: spec.textPairColumn } : {}),
    ...(spec.labelColumn !== undefined ? { labelColumn: spec.labelColumn } : {}),
    ...(spec.encoding !== undefined ? { encoding: spec.encoding } : {}),
    ...(Object.keys(labelMap).length ? { labelMap } : {}),
  };
  const labelNames = parseLabels(f.labels);
  return evalDataFiles(f as MergeFlags & Record<string, unknown>, ['--eval']).map((s) => {
    const m = /^([A-Za-z][A-Za-z0-9_]*)=(.+)$/.exec(s);
    return { ...(m ? { file: m[2]!, task: m[1]! } : { file: s }), labelNames, read };
  });
}

function methodsTable(): string {
  return renderTable(
    ['method', 'base', 'models', 'parameters (default)', 'what it does'],
    MERGE_METHODS.map((m) => [
      m.name,
      m.base === 'required' ? 'required' : m.base === 'optional' || m.baseIsMember ? 'optional' : '-',
      m.minModels === m.maxModels ? String(m.minModels) : `${m.minModels}+`,
      m.params.map((p) => `${p.name}${p.scope === 'model' ? '*' : ''}${p.default === undefined ? ' (required)' : `=${String(p.default)}`}`).join(' '),
      m.summary,
    ]),
  );
}

const PHASE_LABEL: Record<MergePhase, string> = {
  align: 'align neurons',
  statistics: 'collect statistics',
  merge: 'merge tensors',
  onnx: 'build model.onnx',
  evaluate: 'evaluate',
};

/** The status line (TTY only): a spinner while the members are read, then the phase running now. */
function phaseProgress(quiet: boolean): { update: (phase: MergePhase, done: number, total: number) => void; stop: () => void } {
  const line = statusLine({ quiet });
  line.spin('reading members');
  return { update: (phase, done, total) => line.bar(PHASE_LABEL[phase], done, total), stop: () => line.stop() };
}

function printResult(r: MergeResult): void {
  const shards = r.files.filter((f) => f.endsWith('.safetensors')).length;
  printLine(`merged ${r.members.length} models with ${r.method} into ${r.out} (${r.tensors} tensors, ${shards} safetensors shard${shards === 1 ? '' : 's'}${r.onnx ? `, model.onnx${r.onnxQuantize ? ` (${r.onnxQuantize})` : ''}` : ''}; ${r.seconds.toFixed(1)} s)`);
  printLine();
  printLine(renderTable(['task', 'labels', 'folder', 'ONNX output', 'members'], r.tasks.map((t) => [t.task, t.labels.join(', '), t.folder || '.', t.output, t.members.join(', ')])));
  for (const a of r.alignment) {
    printLine();
    printLine(`alignment of ${a.source} (${a.method}${a.method === 'weights' ? `, ${a.iterations} sweep${a.iterations === 1 ? '' : 's'}` : ''}):`);
    printLine(renderTable(['group', 'units', 'moved', 'similarity before', 'after'], a.groups.map((g) => [g.group, g.units, g.moved, g.before, g.after]), { digits: 3 }));
  }
  if (r.evaluation.length) {
    printLine();
    // An int8 model.onnx adds its rows and how often their label equals the float32 merged model's.
    const agreement = r.evaluation.some((e) => e.agreement !== undefined);
    const pct = (x: number): string => `${(x * 100).toFixed(2)}%`;
    printLine(renderTable(['task', 'data', 'model', 'accuracy', 'n', ...(agreement ? ['same label as merged'] : [])], r.evaluation.map((e) => [e.task, e.file, e.model, pct(e.accuracy), e.n, ...(agreement ? [e.agreement === undefined ? '' : pct(e.agreement)] : [])])));
  }
  for (const n of r.notes) printLine(`note: ${n}`);
}

export function register(program: Command): void {
  const cmd = program
    .command('merge')
    .description('merge BERT classifiers weight by weight into one model (members and flags, or a mergekit-like recipe)')
    .argument('[inputs...]', 'member model folders; or a recipe file, optionally followed by the output folder (as mergekit-yaml config.yml out/)')
    .option('-o, --out <dir>', 'output folder (Hugging Face checkpoint + model.onnx)');
  addRecipeFlag(cmd, 'a merge');
  addMethodFlag(cmd, `merge method: ${MERGE_METHODS.map((m) => m.name).join(', ')} (default linear)`);
  addParamFlag(cmd, 'method parameter for every model/tensor (e.g. lambda=0.7, density=0.5, t=0.3, alpha=0.9)');
  cmd
    .addOption(deprecatedOption<string[]>('--model <folder...>', 'positional members (bertfuse merge A B --method ties)', collect))
    .option('--base <folder>', 'base model the members were fine-tuned from')
    .option('--weights <w,...>', 'one weight per member')
    .option('--align <mode>', 'permutation alignment before merging: none, weights, activations')
    .option('--heads <mode>', 'auto (default), merge (one head, labels matched by name), separate (one head per task)')
    .option('--task <name...>', 'task name per member (outputs logits_<task>)')
    .option('--texts <file...>', 'unlabelled texts for regmean and --align activations (lines, JSONL, or TSV with a text column)')
    .addOption(deprecatedOption('--texts-encoding <name>', '--encoding'));
  addDataFlags(cmd, {
    data: 'texts for regmean and --align activations, like --texts (labels are not used)',
    evalData: 'labelled data ([task=]file) to score the merge next to the members and their ensemble',
    evalAliases: ['--eval'],
    evalRepeatable: true,
  });
  cmd
    .option('--max-texts <n>', 'use at most n texts', positiveInt('--max-texts'))
    .option('--dtype <t>', 'compute and output dtype: float32 (default), float16, bfloat16')
    .option('--seed <n>', 'seed for random choices (DARE masks)')
    .option('--shard-size <size>', 'largest safetensors shard (e.g. 2GB)')
    .option('--no-onnx', 'do not write model.onnx')
    .option('--quantize <mode>', 'int8: write model.onnx with dynamically int8-quantised encoder layers (single and multi-task; the safetensors stay float)')
    .option('--list-methods', 'list merge methods and their parameters (* = per model)');
  addRunFlags(cmd, { batchSize: false, json: 'print the result as JSON' }).action(async (inputs: string[], f: MergeFlags) => {
    if (f.listMethods) {
      if (f.json) printJson(MERGE_METHODS.map((m) => ({ name: m.name, summary: m.summary, base: m.base, minModels: m.minModels, maxModels: Number.isFinite(m.maxModels) ? m.maxModels : null, params: m.params, stats: m.stats })));
      else {
        printLine(methodsTable());
        printLine('* per model or global. (required): a recipe file must give it, as in mergekit; with flags (--weights) or from code each weight defaults to 1.');
      }
      return;
    }
    const split = splitInputs(inputs, f);
    if (split.out && f.out && split.out !== f.out) throw new BertfuseError('E_USAGE', `two output folders given (${split.out} and --out ${f.out}); give one`);
    const out = f.out ?? split.out;
    if (!out) throw new BertfuseError('E_USAGE', 'merge needs an output folder: bertfuse merge recipe.yml out/ (or --out <dir>)');
    const recipe = recipeFrom(split.recipe, split.members, f);
    const progress = phaseProgress(Boolean(f.quiet || f.json));
    let result: MergeResult;
    try {
      result = await merge(recipe, { out, evaluate: evalSets(f), onProgress: progress.update, ...(f.threads ? { threads: f.threads } : {}) });
    } finally {
      progress.stop();
    }
    if (f.json) printJson(result);
    else printResult(result);
  });
}
