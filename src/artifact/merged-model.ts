import fs from 'node:fs';
import path from 'node:path';
import { loadCheckpoint, type Checkpoint } from '../checkpoint/load.js';
import type { TextInput } from '../checkpoint/tokenizer.js';
import { BertfuseError } from '../errors.js';
import { GraphBuilder, encodeModel } from '../graph/onnx-builder.js';
import { quantizeGraph, type QuantizeMode } from '../graph/quantize.js';
import { registerFolderLoader, type Classifier, type LoadOptions } from '../runtime/classifier.js';
import { GraphRunner, type RunOptions } from '../runtime/runner.js';
import { softmaxRows } from '../util/math.js';
import { badMergeManifest, readMultiTaskManifest, type MergeManifest, type TaskHead } from './merged-manifest.js';
import { emitMultiTask, MERGE_MANIFEST, MULTITASK_GRAPH } from './merged.js';

export type { TaskHead } from './merged-manifest.js';

/*
 * The read side of a multi-task merge (one encoder, one head per task): `predict` and `serve` run
 * its model.onnx, every head in one run, or one head as a plain Classifier (`task`).
 *
 * Which graph runs: the model.onnx the merge wrote, as written (int8 when merged with
 * `quantize: int8`). `quantize: int8` asked of a folder whose model.onnx is float32 (or that has
 * none) builds the same graph from the task folders' weights and quantises it with the pass the
 * merge uses, so `predict <folder> --quantize int8` answers alike for both. A graph file named
 * directly (`<folder>/model.onnx`) runs as it is, like any .onnx.
 */

/** Every head of a multi-task merge from one run of its graph. */
export class MultiTaskClassifier {
  constructor(
    /** The merge folder's name, also when a graph file inside it was given: serve shows `<name>.<task>`. */
    readonly name: string,
    readonly source: string,
    readonly tasks: readonly TaskHead[],
    /** int8 when the graph that runs has int8 encoder layers. */
    readonly quantize: QuantizeMode | null,
    private readonly runner: GraphRunner,
  ) {}

  /** Each task's probabilities, row-major [n, labels.length], keyed by task name. */
  async predictTasks(inputs: readonly TextInput[], opts: RunOptions = {}): Promise<Record<string, Float32Array>> {
    const out = await this.runner.run(inputs, { ...opts, outputs: this.tasks.map((t) => t.output) });
    return Object.fromEntries(this.tasks.map((t) => [t.task, softmaxRows(out[t.output]!.data, t.labels.length)]));
  }

  /**
   * One head as a Classifier, named `<folder>.<task>`: a name is one URL path segment on serve's /v2
   * (`/v2/models/{name}`), so no "/" in it. Closing the head closes this model.
   */
  head(task: string): Classifier {
    const t = this.tasks.find((x) => x.task === task);
    if (!t) throw new BertfuseError('E_USAGE', `no task "${task}" in this multi-task merge (tasks: ${this.tasks.map((x) => x.task).join(', ')})`, this.source);
    return {
      name: `${this.name}.${t.task}`,
      source: this.source,
      labels: t.labels,
      task: t.task,
      quantize: this.quantize,
      predictProba: async (inputs, opts = {}) => softmaxRows((await this.runner.run(inputs, { ...opts, outputs: [t.output] }))[t.output]!.data, t.labels.length),
      close: () => this.close(),
    };
  }

  async close(): Promise<void> {
    await this.runner.close();
  }
}

/** The graph to run: the merge's model.onnx as written, or built here from the task folders (see the top of this file). */
function graphSource(dir: string, m: MergeManifest, ckpts: readonly Checkpoint[], quantize: QuantizeMode | null, file: string | null): { model: Uint8Array | string; quantize: QuantizeMode | null } {
  const written = m.onnx === null ? null : path.join(dir, m.onnx);
  if (file !== null) {
    // A graph file named by the user runs as it is; asking it for int8 is fine only when it already is.
    if (quantize !== null && (path.resolve(file) !== path.resolve(written ?? '') || m.quantize !== quantize)) {
      throw new BertfuseError('E_USAGE', `--quantize ${quantize} applies to models built from weights; an .onnx file runs as it is (give the folder ${dir} with --quantize ${quantize} to build its ${quantize} graph)`, file);
    }
    return { model: file, quantize: path.resolve(file) === path.resolve(written ?? '') ? m.quantize : null };
  }
  if (written !== null && (quantize === null || quantize === m.quantize)) {
    if (!fs.existsSync(written)) throw new BertfuseError('E_MISSING_FILE', `${m.onnx} is missing (named in ${MERGE_MANIFEST})`, dir);
    return { model: written, quantize: m.quantize };
  }
  const g = new GraphBuilder(MULTITASK_GRAPH);
  emitMultiTask(g, ckpts, m.tasks.map((t) => t.task));
  if (quantize === 'int8') quantizeGraph(g);
  return { model: encodeModel(g.toModel()), quantize };
}

/**
 * A multi-task merge at `target` (its folder, or a graph file inside it) with every head, or null
 * when `target` is something else. `opts.quantize` as described at the top of this file.
 */
export async function loadMultiTask(target: string, opts: LoadOptions = {}, file: string | null = null): Promise<MultiTaskClassifier | null> {
  if (!fs.existsSync(target)) return null;
  if (fs.statSync(target).isFile()) {
    if (!target.endsWith('.onnx')) return null;
    return loadMultiTask(path.dirname(path.resolve(target)), opts, target);
  }
  const dir = target;
  const m = readMultiTaskManifest(dir);
  if (!m) return null;
  const manifestFile = path.join(dir, MERGE_MANIFEST);
  // The task folders are plain checkpoints: their configs name the labels, the first one's tokenizer feeds the graph.
  const ckpts: Checkpoint[] = [];
  try {
    for (const t of m.tasks) {
      const c = loadCheckpoint(path.join(dir, t.folder));
      ckpts.push(c);
      const labels = c.config.labels ?? [];
      if (labels.join('\n') !== t.labels.join('\n')) throw badMergeManifest(`task ${t.task} lists labels ${t.labels.join(', ')}, but ${path.join(t.folder, 'config.json')} has ${labels.join(', ') || 'none'}`, manifestFile);
    }
    const source = graphSource(dir, m, ckpts, opts.quantize ?? null, file);
    const runner = await GraphRunner.create(source.model, [{ suffix: '', tokenizer: ckpts[0]!.tokenizer }], opts.runtime);
    const missing = m.tasks.filter((t) => !runner.outputNames.includes(t.output)).map((t) => t.output);
    if (missing.length > 0) {
      await runner.close();
      throw new BertfuseError('E_BAD_ONNX', `graph does not match ${MERGE_MANIFEST} (missing outputs ${missing.join(', ')})`, typeof source.model === 'string' ? source.model : dir);
    }
    return new MultiTaskClassifier(path.basename(path.resolve(dir)), file ?? dir, m.tasks, source.quantize, runner);
  } finally {
    for (const c of ckpts) c.close();
  }
}

/**
 * Lets `loadClassifier` open a multi-task merge: with `task` as that head's Classifier; without,
 * it says which tasks there are (a Classifier has one label list; `predict` shows every head).
 */
let loaderRegistered = false;
export function registerMergedLoader(): void {
  if (loaderRegistered) return;
  loaderRegistered = true;
  registerFolderLoader(async (dir, opts, file) => {
    // Only the merge's own top-level graph file stands for the merge (not one in a task folder).
    if (file !== undefined && path.resolve(path.dirname(file)) !== path.resolve(dir)) return null;
    const m = readMultiTaskManifest(dir);
    if (!m) return null;
    if (!opts.task) {
      const list = m.tasks.map((t) => t.task).join(', ');
      throw new BertfuseError('E_USAGE', `a multi-task merge answers one task at a time here: pick a task (bertfuse predict/serve --task <name>; tasks: ${list}) or load a task folder (${m.tasks.map((t) => path.join(dir, t.folder)).join(', ')}); bertfuse predict without --task answers with every head`, dir);
    }
    // Checked before the graph is built or opened.
    if (!m.tasks.some((t) => t.task === opts.task)) throw new BertfuseError('E_USAGE', `no task "${opts.task}" in this multi-task merge (tasks: ${m.tasks.map((t) => t.task).join(', ')})`, dir);
    const model = (await loadMultiTask(dir, opts, file ?? null))!;
    return model.head(opts.task);
  });
}
