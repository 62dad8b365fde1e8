import type { DType } from './dtype.js';
import { BertfuseError } from '../errors.js';

/** Where a tensor lives and what it looks like, known before any of its bytes are read. */
export interface TensorInfo {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
}

/** A float32 tensor in memory: row-major data plus its shape. */
export interface Tensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/**
 * Lazy access to a checkpoint's weights. Nothing is read until `read` is called, so merging can
 * walk names and hold a few tensors at a time.
 */
export interface TensorStore {
  /** File (or index file) the tensors come from, for error messages. */
  readonly source: string;
  names(): string[];
  has(name: string): boolean;
  info(name: string): TensorInfo;
  /** Reads and converts to float32. Throws BertfuseError E_MISSING_TENSOR for unknown names. */
  read(name: string): Tensor;
  close(): void;
}

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** An in-memory store, for tensors computed by merges and permutations. */
export class MemoryTensorStore implements TensorStore {
  readonly source: string;
  private readonly map: Map<string, Tensor>;

  constructor(tensors: Map<string, Tensor> | Record<string, Tensor>, source = '<memory>') {
    this.map = tensors instanceof Map ? tensors : new Map(Object.entries(tensors));
    this.source = source;
  }
  names(): string[] {
    return [...this.map.keys()];
  }
  has(name: string): boolean {
    return this.map.has(name);
  }
  info(name: string): TensorInfo {
    const t = this.get(name);
    return { name, dtype: 'F32', shape: t.shape };
  }
  read(name: string): Tensor {
    return this.get(name);
  }
  close(): void {}
  private get(name: string): Tensor {
    const t = this.map.get(name);
    if (!t) throw new BertfuseError('E_MISSING_TENSOR', `no tensor "${name}"`, this.source);
    return t;
  }
}
