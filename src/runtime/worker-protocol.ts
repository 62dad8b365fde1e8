import type { TextInput } from '../checkpoint/tokenizer.js';
import { BertfuseError, isBertfuseError, type ErrorCode } from '../errors.js';
import { AbortedError } from './aborted.js';
import type { QuantizeMode } from '../graph/quantize.js';
import type { RuntimeOptions } from './session.js';

/* Messages between a WorkerClassifier (main thread) and its worker (classifier-worker.ts). */

export interface WorkerData {
  /** A local model path (hub ids are resolved before the worker starts). */
  readonly target: string;
  readonly runtime?: RuntimeOptions;
  readonly quantize?: QuantizeMode | null;
  readonly task?: string;
}

export interface RunRequest {
  readonly type: 'run';
  readonly id: number;
  readonly inputs: readonly TextInput[];
  readonly detailed: boolean;
  readonly batchSize?: number;
  readonly maxTokens?: number;
}

export type ToWorker = RunRequest | { readonly type: 'cancel'; readonly id: number } | { readonly type: 'close' };

export interface WireError {
  readonly message: string;
  readonly code?: ErrorCode;
  readonly aborted?: boolean;
}

export type FromWorker =
  | { readonly type: 'ready'; readonly name: string; readonly source: string; readonly labels: readonly string[]; readonly detailed: boolean; readonly task: string | null; readonly quantize: QuantizeMode | null }
  | { readonly type: 'failed'; readonly error: WireError }
  | { readonly type: 'progress'; readonly id: number; readonly done: number; readonly total: number }
  | { readonly type: 'done'; readonly id: number; readonly probs: Float32Array; readonly members?: readonly (readonly [string, Float32Array])[]; readonly ran?: readonly (readonly [string, Uint8Array])[] }
  | { readonly type: 'error'; readonly id: number; readonly error: WireError };

/** An error as it crosses the thread boundary: a BertfuseError keeps its code, anything else its message. */
export function toWire(e: unknown, aborted = false): WireError {
  if (isBertfuseError(e)) return { message: e.message, code: e.code, aborted };
  return { message: e instanceof Error ? e.message : String(e), aborted };
}

export function fromWire(w: WireError): Error {
  if (w.aborted) return new AbortedError();
  return w.code ? new BertfuseError(w.code, w.message) : new Error(w.message);
}
