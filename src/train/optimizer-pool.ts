import type { Worker } from 'node:worker_threads';
import { spawnModuleWorker } from '../util/module-worker.js';
import { adamwScalars, normChunks, normOfPartials, sumSquaresInto, updateTensor, type AdamWOptions, type AdamWState } from './adamw.js';
import type { FromOptimizerWorker, OptimizerWorkerData, ToOptimizerWorker } from './optimizer-protocol.js';

/** What a step does once the gradient norm is known: AdamW's learning rate and options, or null to skip it. */
export interface StepPlan {
  readonly lr: number;
  readonly opts: AdamWOptions;
}

/**
 * Global-norm clipping and AdamW over the tensors of a model, spread over threads: the calling
 * thread takes one share of the tensors and each worker thread another (balanced by size). While
 * the optimizer runs, onnxruntime is idle, so its cores are free.
 *
 * onnxruntime-node refuses SharedArrayBuffer-backed feeds (checked: "Invalid argument"), so the
 * weights stay in ordinary ArrayBuffers: for the length of a step each worker's tensors' weights
 * and gradients are transferred to it (moved, not copied) and back. After `step`, `weights[k]` and
 * `grads[k]` of those tensors are new views of the same memory: hold the arrays, not the typed
 * arrays. A buffer that cannot be moved alone (a view into a larger buffer, or one buffer behind
 * two tensors) is copied into one of its own first. The moments live in SharedArrayBuffers, which
 * every thread sees, and the squared norm is summed in fixed chunks into shared slots added in one
 * order, so the result is the same bytes for any thread count.
 */
export class OptimizerPool {
  private failure: Error | null = null;

  private constructor(
    readonly state: AdamWState,
    private readonly decay: readonly boolean[],
    /** groups[0]: the calling thread's tensors; groups[j + 1]: lanes[j]'s. */
    private readonly groups: readonly (readonly number[])[],
    private readonly lanes: readonly Lane[],
    private readonly partials: Float64Array,
    private readonly chunkAt: readonly number[],
  ) {}

  /**
   * `threads` counts the calling thread (1: no worker). The state's moments are copied into shared
   * memory: use `pool.state` from here on.
   */
  static create(state: AdamWState, decay: readonly boolean[], threads: number): OptimizerPool {
    const shared = sharedState(state);
    const sizes = shared.m.map((m) => m.length);
    const chunkAt: number[] = [];
    let chunks = 0;
    for (const n of sizes) {
      chunkAt.push(chunks);
      chunks += normChunks(n);
    }
    const partials = new Float64Array(new SharedArrayBuffer(8 * chunks));
    const groups = partition(sizes, Math.max(1, Math.floor(threads))).filter((g, j) => j === 0 || g.length > 0);
    const data: OptimizerWorkerData = { m: shared.m, v: shared.v, partials, chunkAt, decay };
    const lanes = groups.slice(1).map(() => new Lane(spawnModuleWorker(import.meta.url, 'optimizer-worker', { workerData: data })));
    return new OptimizerPool(shared, decay, groups, lanes, partials, chunkAt);
  }

  get threads(): number {
    return this.groups.length;
  }

  /**
   * The gradients' global norm, then the update `plan(norm)` asks for (none if it returns null).
   * Gradients are read, never rewritten (clipping is a scale on each read).
   */
  async step(weights: Float32Array[], grads: Float32Array[], plan: (gradNorm: number) => StepPlan | null): Promise<{ gradNorm: number; applied: boolean }> {
    if (this.failure) throw this.failure;
    try {
      const mine = this.groups[0]!;
      // Buffers the calling thread keeps: a worker's tensor must not move one of them.
      const kept = new Set<ArrayBufferLike>(mine.flatMap((k) => [weights[k]!.buffer, grads[k]!.buffer]));
      const normed = this.lanes.map((lane, j) => {
        const tensors = this.groups[j + 1]!;
        const w = tensors.map((k) => movable(weights, k, kept));
        const g = tensors.map((k) => movable(grads, k, kept));
        return lane.call({ type: 'norm', tensors, w, g }, [...w, ...g]);
      });
      await alongside(() => mine.forEach((k) => sumSquaresInto(grads[k]!, this.partials, this.chunkAt[k]!)), normed);
      const gradNorm = normOfPartials(this.partials);
      const p = plan(gradNorm);
      const s = p ? adamwScalars(++this.state.step, p.lr, p.opts) : null;
      const updated = this.lanes.map((lane) => lane.call({ type: 'update', scalars: s }, []));
      const back = await alongside(() => {
        if (s) for (const k of mine) updateTensor(weights[k]!, grads[k]!, this.state.m[k]!, this.state.v[k]!, s, this.decay[k]!);
      }, updated);
      back.forEach((r, j) => {
        if (r.type !== 'updated') throw new Error(`the optimizer worker answered ${r.type} to update`);
        this.groups[j + 1]!.forEach((k, i) => {
          weights[k] = new Float32Array(r.w[i]!);
          grads[k] = new Float32Array(r.g[i]!);
        });
      });
      return { gradNorm, applied: s !== null };
    } catch (e) {
      // A share of the weights may be stranded in a worker: this pool cannot go on.
      this.failure = e instanceof Error ? e : new Error(String(e));
      throw this.failure;
    }
  }

  /** Stops the workers (idempotent). */
  async close(): Promise<void> {
    this.failure ??= new Error('the optimizer pool is closed');
    await Promise.all(this.lanes.map((l) => l.close()));
  }
}

/** The state with its moments in SharedArrayBuffers (copied unless they already are). */
export function sharedState(state: AdamWState): AdamWState {
  return { step: state.step, m: state.m.map(sharedCopy), v: state.v.map(sharedCopy) };
}

function sharedCopy(a: Float32Array): Float32Array {
  if (a.buffer instanceof SharedArrayBuffer) return a;
  const s = new Float32Array(new SharedArrayBuffer(a.byteLength));
  s.set(a);
  return s;
}

/** Tensors into `threads` groups of about equal size: largest first, each to the lightest group. */
function partition(sizes: readonly number[], threads: number): number[][] {
  const groups: number[][] = Array.from({ length: threads }, () => []);
  const load = new Array<number>(threads).fill(0);
  const order = sizes.map((_, k) => k).sort((a, b) => sizes[b]! - sizes[a]! || a - b);
  for (const k of order) {
    const j = load.indexOf(Math.min(...load));
    groups[j]!.push(k);
    load[j]! += sizes[k]!;
  }
  return groups.map((g) => g.sort((a, b) => a - b));
}

/** The buffer of `list[k]`, first replaced by a copy when it cannot be moved on its own. */
function movable(list: Float32Array[], k: number, taken: Set<ArrayBufferLike>): ArrayBuffer {
  let a = list[k]!;
  if (a.byteOffset !== 0 || a.byteLength !== a.buffer.byteLength || taken.has(a.buffer) || a.buffer instanceof SharedArrayBuffer) {
    a = a.slice();
    list[k] = a;
  }
  taken.add(a.buffer);
  return a.buffer as ArrayBuffer;
}

/** Runs `own` on this thread while the workers work, then waits for all; the first failure is thrown. */
async function alongside(own: () => void, workers: readonly Promise<FromOptimizerWorker>[]): Promise<FromOptimizerWorker[]> {
  let failed: unknown = null;
  try {
    own();
  } catch (e) {
    failed = e;
  }
  const settled = await Promise.allSettled(workers);
  for (const r of settled) if (r.status === 'rejected') failed ??= r.reason;
  if (failed !== null) throw failed;
  return settled.map((r) => (r as PromiseFulfilledResult<FromOptimizerWorker>).value);
}

/**
 * One worker and its one outstanding request. The worker is unref'd while idle, so a pool that was
 * never closed does not keep the process alive; a worker that throws or exits fails the request.
 */
class Lane {
  private pending: { resolve(m: FromOptimizerWorker): void; reject(e: Error): void } | null = null;
  private dead: Error | null = null;

  constructor(private readonly worker: Worker) {
    worker.unref();
    worker.on('message', (m: FromOptimizerWorker) => {
      const p = this.pending;
      this.pending = null;
      if (!p) return;
      if (m.type === 'failed') p.reject(new Error(`the optimizer worker failed: ${m.message}`));
      else p.resolve(m);
    });
    worker.on('error', (e: Error) => this.fail(new Error(`the optimizer worker failed: ${e.message}`)));
    worker.on('exit', (code: number) => this.fail(new Error(`the optimizer worker stopped (exit code ${code})`)));
  }

  call(msg: ToOptimizerWorker, transfer: ArrayBuffer[]): Promise<FromOptimizerWorker> {
    if (this.dead) return Promise.reject(this.dead);
    if (this.pending) return Promise.reject(new Error('the optimizer worker is busy'));
    this.worker.ref();
    return new Promise((resolve, reject) => {
      this.pending = {
        resolve: (m) => {
          this.worker.unref();
          resolve(m);
        },
        reject: (e) => {
          this.worker.unref();
          reject(e);
        },
      };
      this.worker.postMessage(msg, transfer);
    });
  }

  private fail(e: Error): void {
    this.dead ??= e;
    const p = this.pending;
    this.pending = null;
    p?.reject(this.dead);
  }

  async close(): Promise<void> {
    this.dead ??= new Error('the optimizer pool is closed');
    await this.worker.terminate();
  }
}
