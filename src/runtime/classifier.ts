import fs from 'node:fs';
import path from 'node:path';
import { assertInsideFolder } from '../checkpoint/folder-files.js';
import { readBertConfig } from '../checkpoint/config.js';
import { resolveModelPath, type HubOptions } from '../checkpoint/hub.js';
import { loadCheckpoint, loadModelTokenizer, type Checkpoint } from '../checkpoint/load.js';
import type { TextInput } from '../checkpoint/tokenizer.js';
import { BertfuseError } from '../errors.js';
import { buildBertModel } from '../graph/bert-model.js';
import type { QuantizeMode } from '../graph/quantize.js';
import { encodeModel } from '../graph/onnx-builder.js';
import { GraphRunner, type RunOptions } from './runner.js';
import type { RuntimeOptions } from './session.js';
import { softmaxRows } from '../util/math.js';

/** Fused probabilities plus every member's (by member name), all row-major [n, labels.length]. */
export interface DetailedProbabilities {
  readonly fused: Float32Array;
  readonly members: Readonly<Record<string, Float32Array>>;
  /**
   * For members that ran on some rows only (the cascade's later members): 1 where the member ran,
   * 0 where it was skipped. On a skipped row its `members` row is a placeholder, not an answer.
   * A member not listed here ran on every row.
   */
  readonly ran?: Readonly<Record<string, Uint8Array>>;
}

/** Whether `member` gave an answer on `row` (false only where a gate skipped it). */
export function memberRan(d: DetailedProbabilities, member: string, row: number): boolean {
  const r = d.ran?.[member];
  return r === undefined || r[row] === 1;
}

/** Anything that turns texts into label probabilities: a member, an ONNX export, a combined model. */
export interface Classifier {
  readonly name: string;
  readonly source: string;
  readonly labels: readonly string[];
  /** Row-major probabilities [n, labels.length], labels in `labels` order. */
  predictProba(inputs: readonly TextInput[], opts?: RunOptions): Promise<Float32Array>;
  /** Combined models only: the fused probabilities and each member's, all in `labels` order. */
  predictDetailed?(inputs: readonly TextInput[], opts?: RunOptions): Promise<DetailedProbabilities>;
  /** Set when this is one head of a multi-task merge (loaded with `task`). */
  readonly task?: string;
  /**
   * int8 when the graph that runs has bertfuse's dynamic int8 encoder layers (built with `quantize`,
   * or a combined/merged folder whose manifest says so); null or absent for float32 and for an
   * .onnx file bertfuse did not write (it runs as it is, whatever it holds).
   */
  readonly quantize?: QuantizeMode | null;
  /** Why the model can no longer answer (e.g. its worker thread died), or null while it can. */
  failure?(): string | null;
  close(): Promise<void>;
}

/** A single BERT classifier run through our ONNX graph (built in memory from its checkpoint). */
export class BertClassifier implements Classifier {
  readonly name: string;
  readonly source: string;
  readonly labels: readonly string[];
  constructor(
    readonly runner: GraphRunner,
    labels: readonly string[],
    source: string,
    readonly checkpoint: Checkpoint | null,
    readonly quantize: QuantizeMode | null = null,
  ) {
    this.labels = labels;
    this.source = source;
    this.name = path.basename(source);
  }

  async predictProba(inputs: readonly TextInput[], opts: RunOptions = {}): Promise<Float32Array> {
    const out = await this.runner.run(inputs, { ...opts, outputs: ['logits'] });
    return softmaxRows(out['logits']!.data, this.labels.length);
  }

  async close(): Promise<void> {
    await this.runner.close();
    this.checkpoint?.close();
  }
}

export interface LoadOptions {
  readonly runtime?: RuntimeOptions;
  /** Also expose pooled / [CLS] embeddings (for embedding fusion). */
  readonly embeddings?: boolean;
  /** How `org/name` hub ids are resolved (cache folder, endpoint, offline, download progress). */
  readonly hub?: HubOptions;
  /** Dynamic int8 quantisation of the encoder's linear layers, for models built from weights. */
  readonly quantize?: QuantizeMode | null;
  /** Multi-task merges (one encoder, one head per task): the task whose head answers. */
  readonly task?: string;
}

/** A Hugging Face folder becomes a graph built in memory; its weights are read once, here. */
export async function classifierFromCheckpoint(ckpt: Checkpoint, opts: LoadOptions = {}): Promise<BertClassifier> {
  if (!ckpt.config.labels) {
    throw new BertfuseError('E_UNSUPPORTED_ARCH', `${ckpt.config.architecture} has no classification head; predict needs a sequence classifier (e.g. BertForSequenceClassification)`, path.join(ckpt.dir, 'config.json'));
  }
  const bytes = encodeModel(buildBertModel(ckpt, { embeddings: opts.embeddings ?? false, quantize: opts.quantize ?? null }));
  const runner = await GraphRunner.create(bytes, [{ suffix: '', tokenizer: ckpt.tokenizer }], opts.runtime);
  return new BertClassifier(runner, ckpt.config.labels, ckpt.dir, ckpt, opts.quantize ?? null);
}

/** An exported `.onnx` with its folder (config.json for labels, tokenizer files). */
export async function classifierFromOnnx(file: string, opts: LoadOptions = {}): Promise<BertClassifier> {
  if (opts.quantize) throw new BertfuseError('E_USAGE', `--quantize ${opts.quantize} applies to models built from weights; an .onnx file runs as it is`, file);
  const dir = path.dirname(path.resolve(file));
  // transformers.js layout keeps the graph in onnx/ and the rest one level up.
  const home = fs.existsSync(path.join(dir, 'config.json')) ? dir : path.dirname(dir);
  assertInsideFolder(path.join(home, 'config.json'), home);
  const cfg = readBertConfig(path.join(home, 'config.json'));
  if (!cfg.labels) throw new BertfuseError('E_UNSUPPORTED_ARCH', `${cfg.architecture} has no labels`, path.join(home, 'config.json'));
  const tokenizer = loadModelTokenizer(home, cfg);
  const runner = await GraphRunner.create(file, [{ suffix: '', tokenizer }], opts.runtime);
  const known = ['input_ids', 'attention_mask', 'token_type_ids'];
  const foreign = runner.session.inputNames.filter((n) => !known.includes(n));
  let problem: string | null = null;
  if (!runner.outputNames.includes('logits')) problem = `graph has no "logits" output (outputs: ${runner.outputNames.join(', ')})`;
  else if (foreign.length > 0) problem = `graph needs inputs ${foreign.join(', ')} besides one tokenizer's (a model with several tokenizers): run its folder instead`;
  if (problem) {
    await runner.close();
    throw new BertfuseError('E_BAD_ONNX', problem, file);
  }
  return new BertClassifier(runner, cfg.labels, file, null);
}

/**
 * Loaders for folder kinds other than a plain checkpoint, tried in order (combined artifacts, merged
 * multi-head folders). `file` is the graph file the user named inside `dir`, when it was a file.
 */
export type FolderLoader = (dir: string, opts: LoadOptions, file?: string) => Promise<Classifier | null>;
const folderLoaders: FolderLoader[] = [];
export function registerFolderLoader(loader: FolderLoader): void {
  folderLoaders.push(loader);
}

/** `<model>` as the CLI takes it: an HF folder, an `.onnx` file, a bertfuse artifact folder, or a hub id `org/name` (see checkpoint/hub.ts). */
export async function loadClassifier(target: string, opts: LoadOptions = {}): Promise<Classifier> {
  const c = await loadAny(await resolveModelPath(target, opts.hub), opts);
  // `task` names a head of a multi-task merge; anything else has one label list.
  if (opts.task !== undefined && c.task === undefined) {
    await c.close();
    throw new BertfuseError('E_USAGE', `task "${opts.task}" was named (--task), but this is not a multi-task merge: it has one head (labels ${c.labels.join(', ')})`, target);
  }
  return c;
}

async function loadAny(target: string, opts: LoadOptions): Promise<Classifier> {
  if (!fs.existsSync(target)) throw new BertfuseError('E_MISSING_FILE', 'no such file or folder', target);
  if (fs.statSync(target).isFile()) {
    if (!target.endsWith('.onnx')) throw new BertfuseError('E_USAGE', 'expected a model folder or an .onnx file', target);
    // The graph of a folder bertfuse wrote (model.onnx or onnx/model.onnx) runs best as that folder:
    // its manifest knows every tokenizer group (a combined model) or every head (a multi-task merge).
    const dir = path.dirname(path.resolve(target));
    for (const home of [dir, path.dirname(dir)]) {
      for (const loader of folderLoaders) {
        const c = await loader(home, opts, target);
        if (c) return c;
      }
    }
    return classifierFromOnnx(target, opts);
  }
  for (const loader of folderLoaders) {
    const c = await loader(target, opts);
    if (c) return c;
  }
  return classifierFromCheckpoint(loadCheckpoint(target), opts);
}
