import fs from 'node:fs';
import os from 'node:os';
import ort from 'onnxruntime-node';
import { getAllowNonFiniteDefault } from '../checkpoint/load.js';
import { BertfuseError } from '../errors.js';
import { assertOnnxFinite } from './onnx-finite.js';

export type OptimizationLevel = 'disabled' | 'basic' | 'extended' | 'all';

export interface RuntimeOptions {
  /** Intra-op threads; default one per core. */
  readonly threads?: number;
  readonly optimization?: OptimizationLevel;
  /** `parallel` lets independent branches (two members) run at once. */
  readonly executionMode?: 'sequential' | 'parallel';
  /** Threads running independent nodes at once in `parallel` mode (default 1). */
  readonly interOpThreads?: number;
  /**
   * Let idle pool threads spin-wait for work (onnxruntime's default, true). Spinning wins on an
   * idle machine and loses when other processes want the same cores.
   */
  readonly spinning?: boolean;
}

export type Session = ort.InferenceSession;

/**
 * onnxruntime's load errors repeat the path and carry a C++ source location and signature
 * ("Load model from X failed:/onnxruntime_src/...cc:187 onnxruntime::Model::Model(...) ModelProto
 * does not have a graph."): keep only what the user can act on.
 */
export function ortLoadMessage(raw: string): string {
  let m = raw.split('\n')[0] ?? raw;
  m = m.replace(/^Load model from .*? failed:/, '');
  m = m.replace(/\/onnxruntime_src\/\S+:\d+ \S.*?\) (?=[A-Z])/, '');
  return m.trim() || raw.trim();
}

export async function createSession(model: Uint8Array | string, opts: RuntimeOptions = {}, source = typeof model === 'string' ? model : '<model bytes>'): Promise<Session> {
  if (typeof model === 'string') {
    let size: number;
    try {
      const st = fs.statSync(model);
      if (!st.isFile()) throw new BertfuseError('E_BAD_ONNX', 'is not a file', source);
      size = st.size;
    } catch (e) {
      if (e instanceof BertfuseError) throw e;
      throw new BertfuseError('E_MISSING_FILE', 'cannot read the model file', source);
    }
    if (size === 0) throw new BertfuseError('E_BAD_ONNX', 'the model file is empty', source);
    // NaN/Inf weights are refused in .onnx files as in safetensors (unless --allow-nonfinite).
    if (!getAllowNonFiniteDefault()) assertOnnxFinite(model);
  }
  try {
    return await ort.InferenceSession.create(model as Uint8Array, {
      intraOpNumThreads: opts.threads ?? os.availableParallelism(),
      interOpNumThreads: opts.interOpThreads ?? 1,
      graphOptimizationLevel: opts.optimization ?? 'all',
      executionMode: opts.executionMode ?? 'sequential',
      ...(opts.spinning === false ? { extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } } } : {}),
    });
  } catch (e) {
    throw new BertfuseError('E_BAD_ONNX', `onnxruntime cannot load the model (${ortLoadMessage((e as Error).message ?? String(e))})`, source);
  }
}

export interface FloatOutput {
  readonly data: Float32Array;
  readonly dims: readonly number[];
}

export async function runSession(session: Session, feeds: Record<string, ort.Tensor>, outputs?: readonly string[]): Promise<Record<string, FloatOutput>> {
  const res = outputs ? await session.run(feeds, [...outputs]) : await session.run(feeds);
  const out: Record<string, FloatOutput> = {};
  for (const [k, v] of Object.entries(res)) out[k] = { data: v.data as Float32Array, dims: v.dims };
  return out;
}

export function int64Tensor(data: BigInt64Array, dims: readonly number[]): ort.Tensor {
  return new ort.Tensor('int64', data, dims);
}
