import type { Command } from 'commander';
import { BertfuseError } from '../../errors.js';
import type { EvalSet } from '../../merge/evaluate.js';
import { merge, type MergePhase, type MergeResult } from '../../merge/merge.js';
import { MERGE_METHODS } from '../../merge/registry.js';
import { loadMergeRecipe, parseMergeRecipe, type MergeRecipe } from '../../recipe/merge.js';
import { positiveInt, printJson, printLine } from '../output.js';
import { progressBar, type Progress } from '../progress.js';
import { renderTable } from '../../util/table.js';

interface MergeFlags {
  out?: string;
  model?: string[];
  method?: string;
  base?: string;
  weights?: string;
  param?: string[];
  align?: string;
  heads?: string;
  task?: string[];
  texts?: string[];
  textsEncoding?: string;
  maxTexts?: number;
  dtype?: string;
  seed?: string;
  shardSize?: string;
  onnx: boolean;
  eval?: string[];
  listMethods?: boolean;
  json?: boolean;
  quiet?: boolean;
  threads?: number;
}

const RECIPE_FLAGS = ['model', 'method', 'base', 'weights', 'param', 'align', 'heads', 'task', 'texts', 'textsEncoding', 'maxTexts', 'dtype', 'seed', 'shardSize'] as const;

/** `--param key=value`: numbers and true/false become values, the rest stays text (and fails validation with a clear message). */
function parseParam(p: string): [string, unknown] {
  const eq = p.indexOf('=');
  if (eq <= 0) throw new BertfuseError('E_USAGE', `--param "${p}" is not KEY=VALUE (example: --param lambda=0.7)`);
  const raw = p.slice(eq + 1).trim();
  const value = raw === 'true' ? true : raw === 'false' ? false : raw !== '' && Number.isFinite(Number(raw)) ? Number(raw) : raw;
  return [p.slice(0, eq).trim(), value];
}

/** The flags describe a recipe the same way a YAML file does, and go through the same validation. */
function recipeFromFlags(f: MergeFlags): MergeRecipe {
  const models = f.model ?? [];
  if (models.length === 0) throw new BertfuseError('E_USAGE', 'nothing to merge: give a recipe file or --model <folder> (twice or more)');
  const weights = f.weights?.split(',').map((w) => Number(w.trim()));
  if (weights && (weights.length !== models.length || weights.some((w) => !Number.isFinite(w)))) {
    throw new BertfuseError('E_USAGE', `--weights needs ${models.length} comma-separated numbers (one per --model), got "${f.weights}"`);
  }
  if (f.task && f.task.length !== models.length) throw new BertfuseError('E_USAGE', `--task needs one name per --model (${models.length}), got ${f.task.length}`);
  const raw: Record<string, unknown> = {
    merge_method: f.method ?? 'linear',
    models: models.map((model, i) => ({ model, ...(weights ? { parameters: { weight: weights[i] } } : {}), ...(f.task ? { task: f.task[i] } : {}) })),
    parameters: Object.fromEntries((f.param ?? []).map(parseParam)),
  };
  if (f.base) raw['base_model'] = f.base;
  if (f.align) raw['align'] = f.align;
  if (f.heads) raw['heads'] = f.heads;
  if (f.texts) raw['texts'] = f.texts;
  if (f.textsEncoding) raw['texts_encoding'] = f.textsEncoding;
  if (f.maxTexts) raw['max_texts'] = f.maxTexts;
  if (f.dtype) raw['dtype'] = f.dtype;
  if (f.seed !== undefined) raw['seed'] = Number(f.seed);
  if (f.shardSize) raw['shard_size'] = f.shardSize;
  return parseMergeRecipe(raw, 'command line');
}

/** `--eval file` or `--eval task=file`. */
function evalSets(specs: readonly string[] | undefined): EvalSet[] {
  return (specs ?? []).map((s) => {
    const m = /^([A-Za-z][A-Za-z0-9_]*)=(.+)$/.exec(s);
    return m ? { file: m[2]!, task: m[1]! } : { file: s };
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

const PHASE_LABEL: Record<MergePhase, string> = { align: 'align', statistics: 'statistics', merge: 'merge', onnx: 'onnx', evaluate: 'evaluate' };

/** One bar per phase, on a TTY only. */
function phaseProgress(quiet: boolean): { update: (phase: MergePhase, done: number, total: number) => void; stop: () => void } {
  let current: MergePhase | null = null;
  let bar: Progress | null = null;
  return {
    update(phase, done, total) {
      if (phase !== current) {
        bar?.stop();
        bar = progressBar(PHASE_LABEL[phase], quiet);
        current = phase;
      }
      bar!.update(done, total);
    },
    stop() {
      bar?.stop();
    },
  };
}

function printResult(r: MergeResult): void {
  const shards = r.files.filter((f) => f.endsWith('.safetensors')).length;
  printLine(`merged ${r.members.length} models with ${r.method} into ${r.out} (${r.tensors} tensors, ${shards} safetensors shard${shards === 1 ? '' : 's'}${r.onnx ? ', model.onnx' : ''}; ${r.seconds.toFixed(1)} s)`);
  printLine();
  printLine(renderTable(['task', 'labels', 'folder', 'ONNX output', 'members'], r.tasks.map((t) => [t.task, t.labels.join(', '), t.folder || '.', t.output, t.members.join(', ')])));
  for (const a of r.alignment) {
    printLine();
    printLine(`alignment of ${a.source} (${a.method}${a.method === 'weights' ? `, ${a.iterations} sweep${a.iterations === 1 ? '' : 's'}` : ''}):`);
    printLine(renderTable(['group', 'units', 'moved', 'similarity before', 'after'], a.groups.map((g) => [g.group, g.units, g.moved, g.before, g.after]), { digits: 3 }));
  }
  if (r.evaluation.length) {
    printLine();
    printLine(renderTable(['task', 'data', 'model', 'accuracy', 'n'], r.evaluation.map((e) => [e.task, e.file, e.model, `${(e.accuracy * 100).toFixed(2)}%`, e.n])));
  }
  for (const n of r.notes) printLine(`note: ${n}`);
}

export function register(program: Command): void {
  program
    .command('merge')
    .description('merge BERT classifiers weight by weight into one model (mergekit-like recipe or flags)')
    .argument('[recipe]', 'YAML recipe (merge_method, models, base_model, parameters, ...)')
    .argument('[out]', 'output folder, as in mergekit-yaml (same as --out)')
    .option('-o, --out <dir>', 'output folder (Hugging Face checkpoint + model.onnx)')
    .option('-m, --model <folder...>', 'member model folders (instead of a recipe)')
    .option('--method <name>', `merge method: ${MERGE_METHODS.map((m) => m.name).join(', ')} (default linear)`)
    .option('--base <folder>', 'base model the members were fine-tuned from')
    .option('--weights <w,...>', 'one weight per --model')
    .option('-p, --param <key=value...>', 'method parameter for every model/tensor (e.g. lambda=0.7, density=0.5, t=0.3, alpha=0.9)')
    .option('--align <mode>', 'permutation alignment before merging: none, weights, activations')
    .option('--heads <mode>', 'auto (default), merge (one head, labels matched by name), separate (one head per task)')
    .option('--task <name...>', 'task name per --model (outputs logits_<task>)')
    .option('--texts <file...>', 'unlabelled texts for regmean and --align activations')
    .option('--texts-encoding <name>', 'encoding of the texts files (utf8, latin1, utf16le)')
    .option('--max-texts <n>', 'use at most n texts', positiveInt('--max-texts'))
    .option('--dtype <t>', 'compute and output dtype: float32 (default), float16, bfloat16')
    .option('--seed <n>', 'seed for random choices (DARE masks)')
    .option('--shard-size <size>', 'largest safetensors shard (e.g. 2GB)')
    .option('--no-onnx', 'do not write model.onnx')
    .option('--eval <[task=]file...>', 'labelled data (TSV: label, text) to score the merge next to the members and their ensemble')
    .option('--list-methods', 'list merge methods and their parameters (* = per model)')
    .option('--json', 'print the result as JSON')
    .option('--threads <n>', 'onnxruntime intra-op threads', positiveInt('--threads'))
    .option('-q, --quiet', 'no progress bars')
    .action(async (recipeFile: string | undefined, outArg: string | undefined, f: MergeFlags) => {
      if (f.listMethods) {
        if (f.json) printJson(MERGE_METHODS.map((m) => ({ name: m.name, summary: m.summary, base: m.base, minModels: m.minModels, maxModels: Number.isFinite(m.maxModels) ? m.maxModels : null, params: m.params, stats: m.stats })));
        else {
          printLine(methodsTable());
          printLine('* per model or global. (required): a recipe file must give it, as in mergekit; with flags (--weights) or from code each weight defaults to 1.');
        }
        return;
      }
      if (outArg !== undefined && f.out !== undefined && outArg !== f.out) throw new BertfuseError('E_USAGE', `two output folders given (${outArg} and --out ${f.out}); give one`);
      if (outArg !== undefined && !recipeFile) throw new BertfuseError('E_USAGE', 'an output folder argument follows a recipe file (bertfuse merge recipe.yml out/)');
      f.out ??= outArg;
      if (!f.out) throw new BertfuseError('E_USAGE', 'merge needs an output folder: bertfuse merge recipe.yml out/ (or --out <dir>)');
      let recipe: MergeRecipe;
      if (recipeFile) {
        const clash = RECIPE_FLAGS.filter((k) => f[k] !== undefined);
        if (clash.length) throw new BertfuseError('E_USAGE', `give a recipe file or recipe flags, not both (got ${recipeFile} and --${clash.map((k) => k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)).join(', --')})`);
        recipe = loadMergeRecipe(recipeFile);
        if (!f.onnx) recipe = { ...recipe, onnx: false };
      } else {
        recipe = recipeFromFlags(f);
        if (!f.onnx) recipe = { ...recipe, onnx: false };
      }
      const progress = phaseProgress(Boolean(f.quiet || f.json));
      let result: MergeResult;
      try {
        result = await merge(recipe, { out: f.out, evaluate: evalSets(f.eval), onProgress: progress.update, ...(f.threads ? { threads: f.threads } : {}) });
      } finally {
        progress.stop();
      }
      if (f.json) printJson(result);
      else printResult(result);
    });
}
