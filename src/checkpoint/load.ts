import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { BertfuseError } from '../errors.js';
import { familyOf } from '../architectures/registry.js';
import { LEGACY_ALIASES } from './bert-names.js';
import { readModelConfig, type ModelConfig } from './config.js';
import { assertFilesInside, assertInsideFolder } from './folder-files.js';
import { openTorchBin } from './pickle/torch-bin.js';
import { SafetensorsFile, ShardedSafetensors } from './safetensors.js';
import { ShardedStore } from './sharded.js';
import type { Tensor, TensorInfo, TensorStore } from './tensor-store.js';
import { loadTokenizer, type BertTokenizer } from './tokenizer.js';

/** A Hugging Face BERT folder, opened: config and tokenizer in memory, weights lazy. */
export interface Checkpoint {
  readonly dir: string;
  readonly name: string;
  readonly config: ModelConfig;
  /** Encoder-name prefix: "bert." / "roberta." / ... for task models; "" for bare encoders saved without it. */
  readonly prefix: string;
  readonly tensors: TensorStore;
  readonly tokenizer: BertTokenizer;
  /** The weights file(s) as found on disk, for hashing and provenance. */
  readonly weightFiles: readonly string[];
  close(): void;
}

/**
 * Resolves legacy names (gamma/beta) so the rest of the code only sees modern names. Only the
 * header is consulted here; bytes are read on demand.
 */
class AliasedStore implements TensorStore {
  readonly source: string;
  private readonly inner: TensorStore;
  private readonly aliases = new Map<string, string>();
  constructor(
    inner: TensorStore,
    private readonly allowNonFinite: boolean,
  ) {
    this.inner = inner;
    this.source = inner.source;
    for (const n of inner.names()) {
      for (const [modern, legacy] of LEGACY_ALIASES) {
        if (n.endsWith(legacy)) this.aliases.set(n.slice(0, -legacy.length) + modern, n);
      }
    }
  }
  names(): string[] {
    return this.inner.names().map((n) => {
      for (const [modern, legacy] of LEGACY_ALIASES) if (n.endsWith(legacy)) return n.slice(0, -legacy.length) + modern;
      return n;
    });
  }
  has(name: string): boolean {
    return this.inner.has(this.aliases.get(name) ?? name);
  }
  info(name: string): TensorInfo {
    return { ...this.inner.info(this.aliases.get(name) ?? name), name };
  }
  read(name: string): Tensor {
    const t = this.inner.read(this.aliases.get(name) ?? name);
    if (!this.allowNonFinite) assertFinite(t.data, name, this.source);
    return t;
  }
  close(): void {
    this.inner.close();
  }
}

/** Index of the first NaN or ±Infinity, or -1. One subtraction per value: x - x is NaN exactly when x is not finite. */
export function firstNonFinite(data: Float32Array): number {
  for (let i = 0; i < data.length; i++) {
    const x = data[i]!;
    if (x - x !== 0) return i;
  }
  return -1;
}

/**
 * NaN/Inf weights poison every output they touch (a merge spreads them into the merged model), so
 * they are refused where tensors are read for graph building and merging, unless allowed.
 */
export function assertFinite(data: Float32Array, tensor: string, file: string): void {
  const first = firstNonFinite(data);
  if (first < 0) return;
  let count = 0;
  for (let i = first; i < data.length; i++) if (data[i]! - data[i]! !== 0) count++;
  throw new BertfuseError(
    'E_NONFINITE',
    `tensor "${tensor}" holds ${count} non-finite value${count === 1 ? '' : 's'} (first: ${data[first]} at index ${first}); refusing to use it (--allow-nonfinite to accept)`,
    file,
  );
}

export interface LoadCheckpointOptions {
  /** Accept NaN/±Infinity weights. Default: refused with E_NONFINITE when the tensor is read. */
  readonly allowNonFinite?: boolean;
}

let allowNonFiniteDefault = false;
/** What loads that do not say get for `allowNonFinite` (the CLI's `--allow-nonfinite` sets it). */
export function setAllowNonFiniteDefault(allow: boolean): void {
  allowNonFiniteDefault = allow;
}
export function getAllowNonFiniteDefault(): boolean {
  return allowNonFiniteDefault;
}

/** Opens a pytorch_model.bin; the restricted pickle reader by default, replaceable for tests or other readers. */
export type BinOpener = (file: string) => TensorStore;
let binOpener: BinOpener = openTorchBin;
export function registerBinOpener(open: BinOpener): void {
  binOpener = open;
}

function openWeights(dir: string): { store: TensorStore; files: string[] } {
  const single = path.join(dir, 'model.safetensors');
  const index = path.join(dir, 'model.safetensors.index.json');
  const bin = path.join(dir, 'pytorch_model.bin');
  const binIndex = path.join(dir, 'pytorch_model.bin.index.json');
  // Before anything is opened: no symlink out of the folder, no FIFO or device.
  assertFilesInside([single, index, bin, binIndex], dir);
  if (fs.existsSync(single)) return { store: SafetensorsFile.open(single), files: [single] };
  if (fs.existsSync(index)) return sharded(new ShardedSafetensors(index));
  if (fs.existsSync(bin)) return { store: binOpener(bin), files: [bin] };
  // transformers writes a model over its shard size as pytorch_model-0000k-of-0000N.bin + this index.
  if (fs.existsSync(binIndex)) return sharded(new ShardedStore(binIndex, (f) => binOpener(f), 'E_BAD_PICKLE'));
  throw new BertfuseError('E_MISSING_FILE', 'no weights: expected model.safetensors, model.safetensors.index.json, pytorch_model.bin or pytorch_model.bin.index.json', dir);
}

function sharded(store: ShardedStore): { store: TensorStore; files: string[] } {
  return { store, files: [store.source, ...store.shardFiles()] };
}

function detectPrefix(store: TensorStore, cfg: ModelConfig): string {
  const f = familyOf(cfg);
  for (const p of f.prefixes) if (store.has(p + f.probeTensor)) return p;
  const looked = f.prefixes.map((p) => `"${p}${f.probeTensor}"`).join(' and ');
  throw new BertfuseError('E_MISSING_TENSOR', `no word embeddings found (looked for ${looked}) in a ${cfg.architecture}`, store.source);
}

/** Every tensor the config implies must exist with the config's shape. Checked from headers only. */
function validateShapes(store: TensorStore, cfg: ModelConfig, prefix: string): void {
  const family = familyOf(cfg);
  // Count layers before listing every expected name: a config claiming 10^9 layers must fail here,
  // not after building billions of names.
  let layers = 0;
  while (layers < cfg.numLayers && store.has(`${prefix}${family.layerProbe(layers)}`)) layers++;
  if (layers < cfg.numLayers) {
    throw new BertfuseError(
      'E_MISSING_TENSOR',
      `config.json says num_hidden_layers = ${cfg.numLayers} but the weights hold ${layers} layer${layers === 1 ? '' : 's'} (missing tensor "${prefix}${family.layerProbe(layers)}")`,
      store.source,
    );
  }
  const expected = family.expectedTensors(cfg, prefix);
  for (const [name, shape] of expected) {
    const optional = family.isOptional?.(cfg, name, prefix) ?? false;
    if (!store.has(name)) {
      if (optional) continue;
      throw new BertfuseError('E_MISSING_TENSOR', `missing tensor "${name}" required by ${cfg.architecture}`, store.source);
    }
    const got = store.info(name).shape;
    if (got.length !== shape.length || got.some((d, i) => d !== shape[i])) {
      throw new BertfuseError('E_SHAPE_MISMATCH', `tensor "${name}" has shape [${got.join(', ')}] but config.json implies [${shape.join(', ')}]`, store.source);
    }
  }
}

/** The tokenizer of a model folder, with its family's template and the model's length limit. */
export function loadModelTokenizer(dir: string, config: ModelConfig): BertTokenizer {
  const family = familyOf(config);
  return loadTokenizer(dir, family.maxTokens?.(config) ?? config.maxPositions, family.tokenizer, family.name);
}

export function loadCheckpoint(dirOrFile: string, opts: LoadCheckpointOptions = {}): Checkpoint {
  const dir = path.resolve(dirOrFile);
  if (!fs.existsSync(dir)) throw new BertfuseError('E_MISSING_FILE', 'no such model folder', dirOrFile);
  if (!fs.statSync(dir).isDirectory()) throw new BertfuseError('E_MISSING_FILE', 'expected a model folder (config.json + weights)', dirOrFile);
  assertInsideFolder(path.join(dir, 'config.json'), dir);
  const config = readModelConfig(path.join(dir, 'config.json'));
  const { store: raw, files } = openWeights(dir);
  try {
    const tensors = new AliasedStore(raw, opts.allowNonFinite ?? allowNonFiniteDefault);
    const prefix = detectPrefix(tensors, config);
    validateShapes(tensors, config, prefix);
    const tokenizer = loadModelTokenizer(dir, config);
    if (tokenizer.vocabSize > config.vocabSize) {
      throw new BertfuseError(
        'E_BAD_TOKENIZER',
        `tokenizer can produce ids up to ${tokenizer.vocabSize - 1} but the model's vocab_size is ${config.vocabSize} (embedding table too small: wrong tokenizer for this model?)`,
        Object.values(tokenizer.files)[0] ?? dir,
      );
    }
    return { dir, name: path.basename(dir), config, prefix, tensors, tokenizer, weightFiles: files, close: () => tensors.close() };
  } catch (e) {
    raw.close();
    throw e;
  }
}

/** sha256 of the weight files, streamed (BERT-base is 440 MB). */
export function hashFiles(files: readonly string[]): string {
  const h = crypto.createHash('sha256');
  const buf = Buffer.alloc(1 << 20);
  for (const f of files) {
    const fd = fs.openSync(f, 'r');
    try {
      let n: number;
      while ((n = fs.readSync(fd, buf, 0, buf.length, null)) > 0) h.update(buf.subarray(0, n));
    } finally {
      fs.closeSync(fd);
    }
  }
  return h.digest('hex');
}
