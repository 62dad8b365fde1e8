import type { AdamWScalars } from './adamw.js';

/** What an optimizer worker is started with: the moments and the norm's partial sums, all shared. */
export interface OptimizerWorkerData {
  /** Every parameter's moments (SharedArrayBuffer-backed), indexed like the parameters. */
  readonly m: readonly Float32Array[];
  readonly v: readonly Float32Array[];
  /** One float64 slot per norm chunk of every tensor (SharedArrayBuffer-backed). */
  readonly partials: Float64Array;
  /** Index of each tensor's first slot in `partials`. */
  readonly chunkAt: readonly number[];
  readonly decay: readonly boolean[];
}

/**
 * One step is two messages. `norm` moves this worker's tensors' weights and gradients to it (their
 * ArrayBuffers are transferred, not copied) and has it write their partial sums; `update` has it apply
 * AdamW with the step's scalars (null: the step is not applied) and moves the buffers back.
 */
export type ToOptimizerWorker =
  | { readonly type: 'norm'; readonly tensors: readonly number[]; readonly w: readonly ArrayBuffer[]; readonly g: readonly ArrayBuffer[] }
  | { readonly type: 'update'; readonly scalars: AdamWScalars | null };

export type FromOptimizerWorker =
  | { readonly type: 'normed' }
  | { readonly type: 'updated'; readonly w: readonly ArrayBuffer[]; readonly g: readonly ArrayBuffer[] }
  | { readonly type: 'failed'; readonly message: string };
