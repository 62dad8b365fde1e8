import fs from 'node:fs';
import path from 'node:path';
import type { BertConfig } from '../checkpoint/config.js';
import { classifierArchitecture, toHfConfig } from '../checkpoint/config.js';
import { familyOf } from '../architectures/registry.js';
import { loadCheckpoint, type Checkpoint } from '../checkpoint/load.js';
import { writeSafetensors, type TensorSource, type WriteDType } from '../checkpoint/safetensors.js';
import { numel, type Tensor, type TensorInfo, type TensorStore } from '../checkpoint/tensor-store.js';
import { emitBert } from '../graph/bert-graph.js';
import { EmitContext } from '../graph/encoder-blocks.js';
import onnxProto from 'onnx-proto';
import { GraphBuilder, encodeModel, type ModelProto } from '../graph/onnx-builder.js';
import { quantizeGraph, type QuantizeMode, type QuantizeReport } from '../graph/quantize.js';
import { withTempFile, writeFileAtomic } from '../util/atomic.js';
import { recordOf } from '../util/names.js';

/**
 * The merged checkpoint on disk: a plain Hugging Face folder (config.json with the merged labels,
 * sharded safetensors `model-0000k-of-0000N.safetensors` + `model.safetensors.index.json`,
 * tokenizer files) plus `merge.yaml`, a README model card and `model.onnx`.
 *
 * With separate heads (members of different tasks) every task gets its own HF folder
 * `<task>/`: the merged encoder shards are written once and hard-linked into each task folder
 * (copied where links are not possible), and the last shard holds that task's pooler and
 * classifier. The top-level `model.onnx` runs the encoder once and has one output per task,
 * `logits_<task>`.
 */

export interface MergedHead {
  /** Task name; outputs are `logits_<task>` when heads are separate. */
  readonly task: string;
  readonly labels: readonly string[];
  /** Pooler and classifier tensors of this head. */
  readonly tensors: readonly TensorSource[];
}

export interface MergedFolderSpec {
  /** Template config (sizes, dropout, ...): the first member's. */
  readonly config: BertConfig;
  readonly encoder: readonly TensorSource[];
  readonly heads: readonly MergedHead[];
  /** One HF folder per head instead of the top-level folder. */
  readonly separateHeads: boolean;
  readonly tokenizerFiles: Readonly<Record<string, string>>;
  readonly dtype: WriteDType;
  readonly shardSize: number;
  readonly onnx: boolean;
  /** model.onnx with dynamically int8-quantised encoder layers (single and multi-task alike). */
  readonly quantize?: QuantizeMode | null;
  /** Extra files for the top level (merge.yaml, README.md, bertfuse-merge.json), written as given. */
  readonly extraFiles: Readonly<Record<string, string>>;
  readonly onShard?: (done: number, total: number) => void;
  /** Called with (0, 1) before the ONNX export and (1, 1) after. */
  readonly onOnnx?: (done: number, total: number) => void;
}

export interface MergedFolderFiles {
  /** Relative paths of every file written. */
  readonly files: readonly string[];
  /** Task → folder relative to the output ('' for a single merged head). */
  readonly folders: Readonly<Record<string, string>>;
  readonly onnx: string | null;
  /** What the int8 pass replaced in model.onnx (null when it is float32 or not written). */
  readonly quantized: QuantizeReport | null;
}

/** Models with more weight bytes than this get `model.onnx_data` (protobuf caps a file at 2 GiB; streaming the weights out also keeps memory flat). */
export const ONNX_EXTERNAL_BYTES = 256 * 1024 * 1024;

const BYTES: Record<WriteDType, number> = { F32: 4, F16: 2, BF16: 2 };
const TORCH_DTYPE: Record<WriteDType, string> = { F32: 'float32', F16: 'float16', BF16: 'bfloat16' };

export function shardName(k: number, n: number): string {
  return `model-${String(k).padStart(5, '0')}-of-${String(n).padStart(5, '0')}.safetensors`;
}

/** Sorted by name, packed greedily into shards of at most `maxBytes` (a larger tensor gets a shard alone). */
export function planShards(tensors: readonly TensorSource[], bytesPerValue: number, maxBytes: number): TensorSource[][] {
  const sorted = [...tensors].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const shards: TensorSource[][] = [];
  let cur: TensorSource[] = [];
  let size = 0;
  for (const t of sorted) {
    const bytes = numel(t.shape) * bytesPerValue;
    if (cur.length && size + bytes > maxBytes) {
      shards.push(cur);
      cur = [];
      size = 0;
    }
    cur.push(t);
    size += bytes;
  }
  if (cur.length) shards.push(cur);
  return shards;
}

function writeJson(file: string, value: unknown): void {
  writeFileAtomic(file, JSON.stringify(value, null, 2) + '\n');
}

function linkOrCopy(from: string, to: string): void {
  try {
    fs.linkSync(from, to);
  } catch {
    fs.copyFileSync(from, to);
  }
}

function hfConfig(template: BertConfig, labels: readonly string[], dtype: WriteDType): Record<string, unknown> {
  const cfg: BertConfig = { ...template, architecture: classifierArchitecture(template), task: 'classify', labels };
  return toHfConfig(cfg, { torch_dtype: TORCH_DTYPE[dtype], _name_or_path: undefined, transformers_version: undefined });
}

/** Write the whole merged output into `dir` (a fresh temp folder the caller renames into place). */
export function writeMergedFolder(dir: string, spec: MergedFolderSpec): MergedFolderFiles {
  const width = BYTES[spec.dtype];
  const encoderShards = planShards(spec.encoder, width, spec.shardSize);
  const n = encoderShards.length + 1;
  const totalShards = encoderShards.length + spec.heads.length;
  let shardsDone = 0;
  const files: string[] = [];
  const folders = new Map<string, string>();
  const encoderBytes = spec.encoder.reduce((s, t) => s + numel(t.shape) * width, 0);
  const encoderMap = new Map<string, string>();
  encoderShards.forEach((shard, k) => {
    for (const t of shard) encoderMap.set(t.name, shardName(k + 1, n));
  });

  let firstFolder: string | null = null;
  for (const head of spec.heads) {
    const rel = spec.separateHeads ? head.task : '';
    const folder = path.join(dir, rel);
    fs.mkdirSync(folder, { recursive: true });
    folders.set(head.task, rel);
    const add = (f: string): void => void files.push(path.join(rel, f));
    encoderShards.forEach((shard, k) => {
      const name = shardName(k + 1, n);
      if (firstFolder === null) {
        writeSafetensors(path.join(folder, name), shard, { dtype: spec.dtype });
        spec.onShard?.(++shardsDone, totalShards);
      } else {
        linkOrCopy(path.join(firstFolder, name), path.join(folder, name));
      }
      add(name);
    });
    const headShard = shardName(n, n);
    writeSafetensors(path.join(folder, headShard), head.tensors, { dtype: spec.dtype });
    spec.onShard?.(++shardsDone, totalShards);
    add(headShard);
    const weightMap = new Map(encoderMap);
    for (const t of head.tensors) weightMap.set(t.name, headShard);
    const headBytes = head.tensors.reduce((s, t) => s + numel(t.shape) * width, 0);
    writeJson(path.join(folder, 'model.safetensors.index.json'), {
      metadata: { total_size: encoderBytes + headBytes },
      weight_map: recordOf([...weightMap].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
    });
    add('model.safetensors.index.json');
    writeJson(path.join(folder, 'config.json'), hfConfig(spec.config, head.labels, spec.dtype));
    add('config.json');
    for (const [name, src] of Object.entries(spec.tokenizerFiles).sort()) {
      fs.copyFileSync(src, path.join(folder, name));
      add(name);
    }
    firstFolder ??= folder;
  }

  for (const [name, text] of Object.entries(spec.extraFiles)) {
    writeFileAtomic(path.join(dir, name), text);
    files.push(name);
  }

  let onnx: string | null = null;
  let quantized: QuantizeReport | null = null;
  if (spec.onnx) {
    spec.onOnnx?.(0, 1);
    const quantize = { mode: spec.quantize ?? null, onReport: (r: QuantizeReport) => void (quantized = r) };
    const written = spec.separateHeads ? writeMultiTaskOnnx(dir, spec.heads.map((h) => ({ task: h.task, folder: path.join(dir, folders.get(h.task)!) })), quantize) : writeSingleOnnx(dir, quantize);
    files.push(...written);
    onnx = 'model.onnx';
    spec.onOnnx?.(1, 1);
  }
  return { files: files.sort(), folders: recordOf(folders), onnx, quantized };
}

type InitData = Float32Array | BigInt64Array | Int32Array | Int8Array | Uint8Array;

const ONNX_TYPE = onnxProto.onnx.TensorProto.DataType;
function onnxType(data: InitData): number {
  if (data instanceof Float32Array) return ONNX_TYPE.FLOAT;
  if (data instanceof BigInt64Array) return ONNX_TYPE.INT64;
  if (data instanceof Int32Array) return ONNX_TYPE.INT32;
  if (data instanceof Int8Array) return ONNX_TYPE.INT8;
  return ONNX_TYPE.UINT8;
}

/**
 * A graph builder whose large initializers go straight to `model.onnx_data` as they are created,
 * so exporting a BERT-base-sized merge never holds the whole model in memory (the plain builder
 * keeps every initializer until it serialises). Small ones (shapes, scalars) stay in the graph.
 */
class SpillingGraphBuilder extends GraphBuilder {
  private readonly external: onnxProto.onnx.ITensorProto[] = [];
  private offset = 0;

  constructor(
    graphName: string,
    private readonly fd: number,
    private readonly location: string,
  ) {
    super(graphName);
  }

  override initializer(hint: string, data: InitData, dims: readonly number[]): string {
    if (data.byteLength < 1024) return super.initializer(hint, data, dims);
    const n = dims.reduce((a, d) => a * d, 1);
    if (n !== data.length) throw new Error(`initializer ${hint}: ${data.length} values for dims [${dims.join(',')}]`);
    const name = this.fresh(hint);
    fs.writeSync(this.fd, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    this.external.push({
      name,
      dims: [...dims],
      dataType: onnxType(data),
      dataLocation: onnxProto.onnx.TensorProto.DataLocation.EXTERNAL,
      externalData: [
        { key: 'location', value: this.location },
        { key: 'offset', value: String(this.offset) },
        { key: 'length', value: String(data.byteLength) },
      ],
    });
    this.offset += data.byteLength;
    return name;
  }

  override toModel(opts: Parameters<GraphBuilder['toModel']>[0] = {}): ModelProto {
    const model = super.toModel(opts);
    model.graph!.initializer = [...(model.graph!.initializer ?? []), ...this.external];
    return model;
  }
}

/**
 * Build a graph and save it as `model.onnx`: embedded weights for small models, weights streamed
 * to `model.onnx_data` for large ones (protobuf caps a file at 2 GiB, and streaming keeps memory
 * at about one tensor). With `quantize` the graph's encoder layers become dynamic int8 first
 * (quantizeGraph, as `predict --quantize int8` and `combine --quantize int8` do): that pass needs
 * the float weights in memory, so the graph is built whole and only its int8 result is spilled
 * when it is still above the threshold.
 */
export function saveGraph(dir: string, graphName: string, weightBytes: number, build: (g: GraphBuilder) => void, externalAbove = ONNX_EXTERNAL_BYTES, quantize: QuantizeMode | null = null, onReport?: (r: QuantizeReport) => void): string[] {
  const file = path.join(dir, 'model.onnx');
  const dataName = 'model.onnx_data';
  if (quantize === 'int8') {
    const g = new GraphBuilder(graphName);
    build(g);
    const report = quantizeGraph(g); // not inside `onReport?.(…)`: an absent callback would skip the pass
    onReport?.(report);
    if (g.weightBytes() <= externalAbove) {
      writeFileAtomic(file, encodeModel(g.toModel()));
      return ['model.onnx'];
    }
    let model: ModelProto | null = null;
    withTempFile(path.join(dir, dataName), (fd) => {
      let offset = 0;
      const write = (bytes: Uint8Array): number => {
        fs.writeSync(fd, bytes);
        offset += bytes.byteLength;
        return offset - bytes.byteLength;
      };
      model = g.toModel({ external: { location: dataName, write } });
    });
    writeFileAtomic(file, encodeModel(model!));
    return ['model.onnx', dataName];
  }
  if (weightBytes <= externalAbove) {
    const g = new GraphBuilder(graphName);
    build(g);
    writeFileAtomic(file, encodeModel(g.toModel()));
    return ['model.onnx'];
  }
  let model: ModelProto | null = null;
  withTempFile(path.join(dir, dataName), (fd) => {
    const g = new SpillingGraphBuilder(graphName, fd, dataName);
    build(g);
    model = g.toModel();
  });
  writeFileAtomic(file, encodeModel(model!));
  return ['model.onnx', dataName];
}

function storeBytes(store: TensorStore): number {
  return store.names().reduce((s, n) => s + numel(store.info(n).shape) * 4, 0);
}

/** The single-head folder is a plain checkpoint: the standard one-model graph with output `logits`. */
/** Which graph to write: float32 or int8, and who hears what the int8 pass replaced. */
interface OnnxQuantize {
  readonly mode: QuantizeMode | null;
  readonly onReport: (r: QuantizeReport) => void;
}

function writeSingleOnnx(dir: string, quantize: OnnxQuantize): string[] {
  const ckpt = loadCheckpoint(dir);
  try {
    return saveGraph(dir, `bertfuse_${ckpt.config.architecture}`, storeBytes(ckpt.tensors), (g) => {
      const inputs = {
        inputIds: g.input('input_ids', 'int64', ['batch', 'sequence']),
        attentionMask: g.input('attention_mask', 'int64', ['batch', 'sequence']),
        tokenTypeIds: familyOf(ckpt.config).tokenizer.tokenTypes ? g.input('token_type_ids', 'int64', ['batch', 'sequence']) : null,
      };
      const out = emitBert(g, ckpt, inputs);
      g.output(out.logits!, 'logits', 'float', ['batch', ckpt.config.labels!.length]);
    }, ONNX_EXTERNAL_BYTES, quantize.mode, quantize.onReport);
  } finally {
    ckpt.close();
  }
}

/** Shows a checkpoint's encoder only (pooler and classifier hidden), so emitBert emits no head. */
class EncoderOnlyStore implements TensorStore {
  constructor(private readonly inner: TensorStore) {}
  get source(): string {
    return this.inner.source;
  }
  private visible(name: string): boolean {
    return !name.includes('pooler.') && !name.startsWith('classifier.');
  }
  names(): string[] {
    return this.inner.names().filter((n) => this.visible(n));
  }
  has(name: string): boolean {
    return this.visible(name) && this.inner.has(name);
  }
  info(name: string): TensorInfo {
    return this.inner.info(name);
  }
  read(name: string): Tensor {
    return this.inner.read(name);
  }
  close(): void {}
}

/**
 * One encoder, then each task's own head as its family writes it (BERT's pooler + tanh, RoBERTa's
 * dense/out_proj, DistilBERT's ReLU pre_classifier, ModernBERT's pooling + norm, DeBERTa's
 * ContextPooler) on the shared states: outputs `logits_<task>`. `ckpts[k]` is task k's folder; they
 * share the encoder, so the first one's is emitted. Written to model.onnx by the merge and built in
 * memory by `predict` / `serve` when they quantise a merge whose model.onnx is float32.
 */
export function emitMultiTask(g: GraphBuilder, ckpts: readonly Checkpoint[], tasks: readonly string[]): void {
  const first = ckpts[0]!;
  const family = familyOf(first.config);
  const inputs = {
    inputIds: g.input('input_ids', 'int64', ['batch', 'sequence']),
    attentionMask: g.input('attention_mask', 'int64', ['batch', 'sequence']),
    tokenTypeIds: family.tokenizer.tokenTypes ? g.input('token_type_ids', 'int64', ['batch', 'sequence']) : null,
  };
  const enc = emitBert(g, { config: { ...first.config, task: 'encoder', labels: null }, prefix: first.prefix, tensors: new EncoderOnlyStore(first.tensors) }, inputs);
  tasks.forEach((task, k) => {
    const c = ckpts[k]!;
    const head = family.emitHead(new EmitContext(g, c, { scope: task }), { cls: enc.cls, hidden: enc.hidden, attentionMask: inputs.attentionMask });
    g.output(head.logits, `logits_${task}`, 'float', ['batch', c.config.labels!.length]);
  });
}

/** The multi-task graph's name (model.onnx and the in-memory build alike). */
export const MULTITASK_GRAPH = 'bertfuse_merged_multitask';

function writeMultiTaskOnnx(dir: string, tasks: ReadonlyArray<{ task: string; folder: string }>, quantize: OnnxQuantize): string[] {
  const ckpts = tasks.map((t) => loadCheckpoint(t.folder));
  try {
    return saveGraph(dir, MULTITASK_GRAPH, storeBytes(ckpts[0]!.tensors), (g) => emitMultiTask(g, ckpts, tasks.map((t) => t.task)), ONNX_EXTERNAL_BYTES, quantize.mode, quantize.onReport);
  } finally {
    for (const c of ckpts) c.close();
  }
}

/** Written next to the merge output: what the folder holds (tasks, folders, ONNX outputs). */
export const MERGE_MANIFEST = 'bertfuse-merge.json';
