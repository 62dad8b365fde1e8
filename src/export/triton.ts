import fs from 'node:fs';
import path from 'node:path';
import { isCombinedFolder, readManifest } from '../artifact/manifest.js';
import { BertfuseError } from '../errors.js';
import { decodeModel } from '../graph/onnx-builder.js';
import { withTempDir } from '../util/atomic.js';
import { PbEnum, toPbtxt, type PbMessage } from './pbtxt.js';
import type onnxProto from 'onnx-proto';

type ValueInfo = onnxProto.onnx.IValueInfoProto;

/**
 * `bertfuse export triton`: a Triton Inference Server model repository for the onnxruntime
 * backend, from a combined folder (or any bertfuse model folder with a model.onnx):
 *
 *   <repo>/<name>/config.pbtxt         max_batch_size, inputs/outputs (sequence dims -1),
 *                                      dynamic_batching, instance_group KIND_CPU, label_filename
 *   <repo>/<name>/labels.txt           one label per line, in the logits' column order
 *   <repo>/<name>/1/model.onnx         the graph as bertfuse wrote it (+ model.onnx_data)
 *   <repo>/<name>/tokenizer/…          tokenizer files per input group, and bertfuse-client.json
 *
 * Tokenisation stays on the client. The alternative — a Python-backend step plus an `ensemble`
 * config — needs Python `tokenizers` inside the Triton image and turns one model into two, with
 * a BYTES tensor crossing between them; client-side ids keep the repository a single onnxruntime
 * model that any Triton (and KServe's Triton runtime) serves as is, and bertfuse's own tokenizer
 * (or HF `tokenizers`) produces the ids from the shipped files. bertfuse-client.json says which
 * tokenizer folder feeds which input names, and each group's max length.
 */
export interface TritonOptions {
  /** Model name in the repository (default: the folder's name, sanitised). */
  readonly name?: string;
  readonly maxBatchSize?: number;
  /** Queue delay Triton may wait to form a larger batch. */
  readonly maxQueueDelayMicroseconds?: number;
  /** CPU instances of the model. */
  readonly instances?: number;
}

export const TRITON_DEFAULTS = { maxBatchSize: 64, maxQueueDelayMicroseconds: 2000, instances: 1 } as const;

export interface TritonExport {
  readonly repo: string;
  readonly name: string;
  readonly config: string;
  readonly files: readonly string[];
}

const ELEM_TO_TRITON: Readonly<Record<number, string>> = { 1: 'TYPE_FP32', 6: 'TYPE_INT32', 7: 'TYPE_INT64', 9: 'TYPE_BOOL', 10: 'TYPE_FP16', 11: 'TYPE_FP64' };

interface Tensor {
  readonly name: string;
  readonly type: string;
  /** Dims after the batch dimension; -1 where dynamic. */
  readonly dims: readonly number[];
}

function graphTensors(file: string): { inputs: Tensor[]; outputs: Tensor[] } {
  let model;
  try {
    model = decodeModel(fs.readFileSync(file));
  } catch (e) {
    throw new BertfuseError('E_BAD_ONNX', `cannot read the ONNX graph (${(e as Error).message.split('\n')[0]})`, file);
  }
  const tensors = (vs: readonly ValueInfo[], what: string): Tensor[] =>
    vs.map((v) => {
      const t = v.type?.tensorType;
      const name = v.name ?? '';
      const type = ELEM_TO_TRITON[t?.elemType ?? -1];
      if (!t || !type) throw new BertfuseError('E_BAD_ONNX', `${what} ${JSON.stringify(name)} has a type Triton's onnxruntime backend cannot take`, file);
      const dims = (t.shape?.dim ?? []).map((d) => (d.dimValue !== undefined && d.dimValue !== null && Number(d.dimValue) > 0 ? Number(d.dimValue) : -1));
      if (dims.length < 1 || dims[0] !== -1) throw new BertfuseError('E_BAD_ONNX', `${what} ${JSON.stringify(name)} has no dynamic batch dimension first`, file);
      return { name, type, dims: dims.slice(1) };
    });
  const g = model.graph;
  if (!g) throw new BertfuseError('E_BAD_ONNX', 'no graph', file);
  const initializers = new Set((g.initializer ?? []).map((i) => i.name));
  return { inputs: tensors((g.input ?? []).filter((i) => !initializers.has(i.name)), 'input'), outputs: tensors(g.output ?? [], 'output') };
}

function labelsOf(folder: string): string[] {
  if (isCombinedFolder(folder)) return [...readManifest(folder).labels];
  const file = path.join(folder, 'config.json');
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    throw new BertfuseError('E_BAD_CONFIG', 'cannot read config.json for the label names', file);
  }
  const id2label = (raw as { id2label?: Record<string, string> }).id2label;
  if (!id2label || typeof id2label !== 'object') throw new BertfuseError('E_BAD_CONFIG', 'no id2label: Triton needs the label names', file);
  return Object.keys(id2label)
    .map(Number)
    .sort((a, b) => a - b)
    .map((i) => id2label[String(i)]!);
}

/** Triton model names: letters, digits, '-', '_' and '.' (a path component, never '.'/'..'). */
function modelName(raw: string): string {
  const n = raw.replace(/[^A-Za-z0-9_.-]/g, '_').replace(/^\.+/, '_');
  if (n === '' || n === '_') throw new BertfuseError('E_USAGE', `cannot make a Triton model name from ${JSON.stringify(raw)}: give --name`);
  return n;
}

const posInt = (v: number, what: string): number => {
  if (!Number.isSafeInteger(v) || v < 1) throw new BertfuseError('E_USAGE', `${what} must be a positive integer, got ${v}`);
  return v;
};

export function tritonConfig(name: string, inputs: readonly Tensor[], outputs: readonly Tensor[], labels: readonly string[], o: Required<Omit<TritonOptions, 'name'>>): PbMessage {
  const preferred = [4, 8, 16, 32].filter((b) => b <= o.maxBatchSize);
  return {
    name,
    platform: 'onnxruntime_onnx',
    backend: 'onnxruntime',
    max_batch_size: o.maxBatchSize,
    input: inputs.map((t) => ({ name: t.name, data_type: new PbEnum(t.type), dims: t.dims })),
    output: outputs.map((t) => ({
      name: t.name,
      data_type: new PbEnum(t.type),
      dims: t.dims,
      // Classification extension: Triton maps the top-k of `logits` to these names.
      ...(t.name === 'logits' && t.dims.length === 1 && t.dims[0] === labels.length ? { label_filename: 'labels.txt' } : {}),
    })),
    dynamic_batching: { ...(preferred.length > 0 ? { preferred_batch_size: preferred } : {}), max_queue_delay_microseconds: o.maxQueueDelayMicroseconds },
    instance_group: [{ count: o.instances, kind: new PbEnum('KIND_CPU') }],
  };
}

export async function exportTriton(folder: string, repo: string, opts: TritonOptions = {}): Promise<TritonExport> {
  const modelFile = path.join(folder, 'model.onnx');
  if (!fs.existsSync(modelFile)) throw new BertfuseError('E_MISSING_FILE', 'no model.onnx: export a combined folder (bertfuse combine) or a merge written with onnx: true', folder);
  const name = modelName(opts.name ?? path.basename(path.resolve(folder)));
  const o = {
    maxBatchSize: posInt(opts.maxBatchSize ?? TRITON_DEFAULTS.maxBatchSize, '--max-batch-size'),
    maxQueueDelayMicroseconds: opts.maxQueueDelayMicroseconds ?? TRITON_DEFAULTS.maxQueueDelayMicroseconds,
    instances: posInt(opts.instances ?? TRITON_DEFAULTS.instances, '--instances'),
  };
  const { inputs, outputs } = graphTensors(modelFile);
  const labels = labelsOf(folder);
  const config = toPbtxt(tritonConfig(name, inputs, outputs, labels, o));
  const manifest = isCombinedFolder(folder) ? readManifest(folder) : null;
  const groups = manifest
    ? manifest.tokenizers.map((t) => ({ dir: t.dir, suffix: t.suffix, maxLength: t.maxLength, files: t.files }))
    : [{ dir: '.', suffix: '', maxLength: null, files: ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'vocab.txt', 'vocab.json', 'merges.txt', 'sentencepiece.bpe.model', 'spm.model'].filter((f) => fs.existsSync(path.join(folder, f))) }];
  const files: string[] = [];
  await withTempDir(
    repo,
    (tmp) => {
      const m = path.join(tmp, name);
      fs.mkdirSync(path.join(m, '1'), { recursive: true });
      const put = (rel: string, data: string | Uint8Array): void => {
        fs.mkdirSync(path.dirname(path.join(m, rel)), { recursive: true });
        fs.writeFileSync(path.join(m, rel), data);
        files.push(`${name}/${rel}`);
      };
      put('config.pbtxt', config);
      put('labels.txt', labels.map((l) => `${l}\n`).join(''));
      put('1/model.onnx', fs.readFileSync(modelFile));
      const data = manifest?.model.externalData;
      if (data) put(`1/${data}`, fs.readFileSync(path.join(folder, data)));
      const client = groups.map((gr, i) => {
        const dir = `tokenizer/${gr.dir === '.' ? `group_${i}` : gr.dir}`;
        for (const f of gr.files) put(`${dir}/${f}`, fs.readFileSync(path.join(folder, gr.dir, f)));
        const suffix = gr.suffix;
        return { tokenizer: dir, inputs: inputs.map((t) => t.name).filter((n) => n === `input_ids${suffix}` || n === `attention_mask${suffix}` || n === `token_type_ids${suffix}`), maxLength: gr.maxLength };
      });
      put('tokenizer/bertfuse-client.json', JSON.stringify({ model: name, labels, outputs: outputs.map((t) => t.name), groups: client }, null, 2) + '\n');
    },
    { kind: 'triton' },
  );
  return { repo: path.resolve(repo), name, config, files: files.sort() };
}
