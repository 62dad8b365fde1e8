import os from 'node:os';
import type { RuntimeOptions } from '../runtime/session.js';
import { clipScale, initAdamWState, type AdamWState } from './adamw.js';
import { GradientSession, type TrainBatch } from './gradient-session.js';
import { OptimizerPool } from './optimizer-pool.js';
import type { TrainingGraph } from './training-graph.js';

export interface TrainStepOptions {
  readonly runtime?: RuntimeOptions;
  /** Which parameters get weight decay (default: all). */
  readonly decay?: readonly boolean[];
  readonly weightDecay?: number;
  /** Clip the global gradient norm to this (default 1). */
  readonly clipNorm?: number;
  /** Start from these weights and this optimizer state (resume) instead of the graph's. */
  readonly weights?: Float32Array[];
  readonly state?: AdamWState;
  /**
   * Threads for clipping + AdamW, the calling one included (default: the runtime's thread count,
   * else one per core; onnxruntime is idle meanwhile). Any count gives the same bytes.
   */
  readonly optimizerThreads?: number;
}

export interface StepResult {
  readonly loss: number;
  /** Global gradient norm before clipping. */
  readonly gradNorm: number;
  /** False when the loss or the gradient was not finite: the step was not applied. */
  readonly applied: boolean;
  /** Wall time of the onnxruntime run and of clipping + AdamW. */
  readonly graphMs: number;
  readonly optimizerMs: number;
}

/**
 * One training step, owned in one place: the training graph gives loss and gradients, the global
 * norm is clipped, AdamW updates the weights in place (OptimizerPool, across threads). The trainer
 * and the bench both drive this, so what the bench times is what `distill` runs.
 */
export class TrainStep {
  private constructor(
    private readonly session: GradientSession,
    /** The current weights; its entries may be replaced by new views of the same memory after a step. */
    readonly weights: Float32Array[],
    private readonly pool: OptimizerPool,
    private readonly weightDecay: number,
    private readonly clipNorm: number,
    /**
     * Gradient buffers the session writes into every step (allocated once: no 440 MB of fresh
     * arrays per BERT-base step); like `weights`, the pool may replace entries by new views.
     */
    private readonly grads: Float32Array[],
  ) {}

  static async create(graph: TrainingGraph, opts: TrainStepOptions = {}): Promise<TrainStep> {
    const weights = opts.weights ?? graph.params.map((p) => Float32Array.from(p.data));
    const state = opts.state ?? initAdamWState(weights.map((w) => w.length));
    const session = await GradientSession.create(graph, opts.runtime);
    const threads = opts.optimizerThreads ?? opts.runtime?.threads ?? os.availableParallelism();
    const pool = OptimizerPool.create(state, opts.decay ?? graph.params.map(() => true), threads);
    const grads = graph.params.map((p) => new Float32Array(p.data.length));
    return new TrainStep(session, weights, pool, opts.weightDecay ?? 0.01, opts.clipNorm ?? 1, grads);
  }

  /** The optimizer state (its moments in shared memory: a copy of the one given to `create`). */
  get state(): AdamWState {
    return this.pool.state;
  }

  /** `masks`: the graph's dropout masks for this step (drawMasks), none without dropout. */
  async step(batch: TrainBatch, lr: number, masks: readonly Float32Array[] = []): Promise<StepResult> {
    const t0 = performance.now();
    const res = await this.session.compute(batch, this.weights, masks, this.grads);
    const t1 = performance.now();
    // A non-finite loss or gradient leaves the weights untouched. Clipping is folded into the
    // update as a scale on each gradient read.
    const { gradNorm, applied } = await this.pool.step(this.weights, this.grads, (norm) =>
      Number.isFinite(res.loss) && Number.isFinite(norm) ? { lr, opts: { weightDecay: this.weightDecay, gradScale: clipScale(norm, this.clipNorm) } } : null,
    );
    const t2 = performance.now();
    return { loss: res.loss, gradNorm, applied, graphMs: t1 - t0, optimizerMs: t2 - t1 };
  }

  /** Releases the session and stops the optimizer's workers. */
  async release(): Promise<void> {
    try {
      await this.session.release();
    } finally {
      await this.pool.close();
    }
  }
}
