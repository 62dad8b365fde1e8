import fs from 'node:fs';
import { BertfuseError } from '../../errors.js';
import { DTYPE_BYTES, decodeToFloat32 } from '../dtype.js';
import { numel, type Tensor, type TensorInfo, type TensorStore } from '../tensor-store.js';
import { TensorView, TorchStateDictHost, checkViewSize } from './torch-host.js';
import { Unpickler } from './unpickler.js';
import { PyDict, type PickleValue } from './values.js';
import { ZipArchive } from './zip-archive.js';

/*
 * `pytorch_model.bin` as torch.save writes it since 1.6: a zip with `<root>/data.pkl` (the state
 * dict's pickle, which refers to storages by key) and one entry `<root>/data/<key>` per storage.
 * Opening reads the central directory and the pickle; tensor bytes are read on `read`.
 */

const LEGACY_HINT = 'legacy PyTorch format (saved before torch 1.6, or with _use_new_zipfile_serialization=False) is not supported: re-save it with torch>=1.6 (torch.save(model.state_dict(), path)) or convert it to model.safetensors';

/** Row-major strides for a shape: what a contiguous tensor's stride tuple looks like. */
export function contiguousStrides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

/** True when the elements are laid out row-major without gaps (dims of size 1 may carry any stride). */
export function isContiguous(shape: readonly number[], stride: readonly number[]): boolean {
  const want = contiguousStrides(shape);
  return shape.every((d, i) => d <= 1 || stride[i] === want[i]);
}

/**
 * Copies a strided view into a row-major array. `src` holds the storage's elements starting at the
 * view's offset; `stride` is in elements.
 */
export function gatherStrided(src: Float32Array, shape: readonly number[], stride: readonly number[]): Float32Array {
  const n = numel(shape);
  const out = new Float32Array(n);
  if (n === 0) return out;
  const rank = shape.length;
  const idx = new Array<number>(rank).fill(0);
  let at = 0;
  for (let k = 0; k < n; k++) {
    out[k] = src[at]!;
    // Odometer over the multi-index, moving `at` by the stride of each digit that turns.
    for (let d = rank - 1; d >= 0; d--) {
      if (++idx[d]! < shape[d]!) {
        at += stride[d]!;
        break;
      }
      at -= (shape[d]! - 1) * stride[d]!;
      idx[d] = 0;
    }
  }
  return out;
}

/** State dicts are flat or nested a level or two (`{"model": {...}}`); deeper is not a checkpoint. */
const MAX_NESTING = 32;
/** Tensor names are ~100 characters; a longer key is not a weight name (and would make long prefixes). */
const MAX_KEY_LENGTH = 1024;
/** A state dict's pickle is tens of KB (a few MB for thousands of tensors). */
export const MAX_PICKLE_BYTES = 64 * 2 ** 20;

/**
 * Collects the tensors of a state dict (and of dicts nested in it) by dotted name. Each dict is
 * walked once: a dict reachable twice (shared through the memo) would multiply the walk, up to
 * 2^depth paths for a few hundred bytes of pickle, and torch never writes one. Iterative, so the
 * depth bound is the only limit on nesting.
 */
function flatten(root: PyDict, into: Map<string, TensorView>, file: string): void {
  const seen = new Map<PyDict, string>([[root, '']]);
  const todo: { dict: PyDict; prefix: string; depth: number }[] = [{ dict: root, prefix: '', depth: 0 }];
  while (todo.length > 0) {
    const { dict, prefix, depth } = todo.pop()!;
    for (const [k, v] of dict.entries) {
      if (typeof k !== 'string') continue;
      if (k.length > MAX_KEY_LENGTH) throw new BertfuseError('E_BAD_PICKLE', `a key of ${k.length} characters at "${prefix.slice(0, 80)}" is not a tensor name (at most ${MAX_KEY_LENGTH})`, file);
      if (v instanceof TensorView) {
        if (into.has(prefix + k)) throw new BertfuseError('E_BAD_PICKLE', `tensor name "${(prefix + k).slice(0, 200)}" appears twice`, file);
        into.set(prefix + k, v);
      } else if (v instanceof PyDict) {
        const at = `${prefix}${k}`;
        const first = seen.get(v);
        if (first !== undefined) {
          throw new BertfuseError('E_BAD_PICKLE', first === '' || at.startsWith(first + '.') || v === dict ? `the dict at "${at.slice(0, 80)}" contains itself` : `the dict at "${at.slice(0, 80)}" is the same object as the one at "${first.slice(0, 80)}" (a state dict never shares dicts)`, file);
        }
        if (depth + 1 >= MAX_NESTING) throw new BertfuseError('E_BAD_PICKLE', `dicts nested more than ${MAX_NESTING} deep (at "${at.slice(0, 80)}…")`, file);
        seen.set(v, at);
        todo.push({ dict: v, prefix: `${at}.`, depth: depth + 1 });
      }
      // Other values (ints, strings, None, lists) in a checkpoint dict carry no weights; they are skipped, never walked.
    }
  }
}

export class TorchBinStore implements TensorStore {
  readonly source: string;
  private readonly zip: ZipArchive;
  private readonly root: string;
  private readonly tensors: ReadonlyMap<string, TensorView>;

  private constructor(file: string, zip: ZipArchive, root: string, tensors: Map<string, TensorView>) {
    this.source = file;
    this.zip = zip;
    this.root = root;
    this.tensors = tensors;
  }

  static open(file: string): TorchBinStore {
    let head: Uint8Array;
    try {
      const fd = fs.openSync(file, 'r');
      try {
        head = new Uint8Array(512);
        head = head.subarray(0, fs.readSync(fd, head, 0, 512, 0));
      } finally {
        fs.closeSync(fd);
      }
    } catch {
      throw new BertfuseError('E_MISSING_FILE', 'cannot open weights file', file);
    }
    if (!ZipArchive.looksLikeZip(head)) {
      const isPickle = head[0] === 0x80;
      const isTar = head.length >= 262 && new TextDecoder().decode(head.subarray(257, 262)) === 'ustar';
      if (isPickle || isTar) throw new BertfuseError('E_BAD_PICKLE', LEGACY_HINT, file);
      throw new BertfuseError('E_BAD_PICKLE', 'not a PyTorch checkpoint (neither a torch.save zip archive nor a legacy pickle)', file);
    }
    const zip = ZipArchive.open(file);
    try {
      return TorchBinStore.fromArchive(file, zip);
    } catch (e) {
      zip.close();
      throw e;
    }
  }

  private static fromArchive(file: string, zip: ZipArchive): TorchBinStore {
    const pkls = [...zip.entries.keys()].filter((n) => /^[^/]+\/data\.pkl$/.test(n));
    if (pkls.length !== 1) {
      throw new BertfuseError('E_BAD_PICKLE', pkls.length === 0 ? 'zip archive has no <root>/data.pkl (not written by torch.save)' : `zip archive has ${pkls.length} data.pkl entries`, file);
    }
    const root = pkls[0]!.slice(0, -'/data.pkl'.length);
    const byteorder = `${root}/byteorder`;
    if (zip.entries.has(byteorder)) {
      const order = new TextDecoder().decode(zip.read(byteorder)).trim();
      if (order !== 'little') throw new BertfuseError('E_BAD_PICKLE', `storages are saved ${order}-endian; only little-endian is supported`, file);
    }
    const pklEntry = zip.entries.get(pkls[0]!)!;
    if (pklEntry.size > MAX_PICKLE_BYTES) throw new BertfuseError('E_BAD_PICKLE', `${pkls[0]} is ${pklEntry.size} bytes; a state dict's pickle is a few MB at most (limit ${MAX_PICKLE_BYTES})`, file);
    const host = new TorchStateDictHost(file);
    const value: PickleValue = new Unpickler(zip.read(pkls[0]!), host, `${file} (${pkls[0]})`).load();
    if (!(value instanceof PyDict)) throw new BertfuseError('E_BAD_PICKLE', 'the pickle holds no state dict (top-level object is not a dict)', file);
    for (const s of host.storages.values()) {
      const entry = zip.entries.get(`${root}/data/${s.key}`);
      if (!entry) throw new BertfuseError('E_BAD_PICKLE', `storage "${s.key}" is missing from the archive (expected ${root}/data/${s.key})`, file);
      const need = s.numel * DTYPE_BYTES[s.dtype];
      if (entry.size < need) throw new BertfuseError('E_BAD_PICKLE', `storage "${s.key}" has ${entry.size} bytes but ${s.dtype}[${s.numel}] needs ${need} (truncated?)`, file);
    }
    const tensors = new Map<string, TensorView>();
    flatten(value, tensors, file);
    if (tensors.size === 0) throw new BertfuseError('E_BAD_PICKLE', 'the state dict holds no tensors', file);
    for (const [name, v] of tensors) checkViewSize(name, v, file);
    return new TorchBinStore(file, zip, root, tensors);
  }

  names(): string[] {
    return [...this.tensors.keys()];
  }
  has(name: string): boolean {
    return this.tensors.has(name);
  }
  info(name: string): TensorInfo {
    const t = this.view(name);
    return { name, dtype: t.storage.dtype, shape: t.shape };
  }
  read(name: string): Tensor {
    const t = this.view(name);
    const n = numel(t.shape);
    if (n === 0) return { shape: t.shape, data: new Float32Array(0) };
    // Read only the span the view touches: from its offset to its furthest element.
    let span = 1;
    t.shape.forEach((d, i) => (span += (d - 1) * t.stride[i]!));
    const width = DTYPE_BYTES[t.storage.dtype];
    const bytes = this.zip.read(`${this.root}/data/${t.storage.key}`, t.offset * width, span * width);
    const values = decodeToFloat32(bytes, t.storage.dtype);
    const data = isContiguous(t.shape, t.stride) ? values : gatherStrided(values, t.shape, t.stride);
    return { shape: t.shape, data };
  }
  close(): void {
    this.zip.close();
  }
  private view(name: string): TensorView {
    const t = this.tensors.get(name);
    if (!t) throw new BertfuseError('E_MISSING_TENSOR', `no tensor named "${name}"`, this.source);
    return t;
  }
}

/** Opens a `pytorch_model.bin` without executing its pickle. */
export function openTorchBin(file: string): TensorStore {
  return TorchBinStore.open(file);
}
