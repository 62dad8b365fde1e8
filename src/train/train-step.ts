import type { RuntimeOptions } from '../runtime/session.js';
import { adamwStep, clipScale, globalNorm, initAdamWState, type AdamWState } from './adamw.js';
import { GradientSession, type TrainBatch } from './gradient-session.js';
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
 * norm is clipped, AdamW updates the weights in place. The trainer and the bench both drive this,
 * so what the bench times is what `distill` runs.
 */
export class TrainStep {
  private constructor(
    private readonly session: GradientSession,
    readonly weights: Float32Array[],
    readonly state: AdamWState,
    private readonly decay: readonly boolean[],
    private readonly weightDecay: number,
    private readonly clipNorm: number,
  ) {}

  static async create(graph: TrainingGraph, opts: TrainStepOptions = {}): Promise<TrainStep> {
    const weights = opts.weights ?? graph.params.map((p) => Float32Array.from(p.data));
    const state = opts.state ?? initAdamWState(weights.map((w) => w.length));
    const session = await GradientSession.create(graph, opts.runtime);
    return new TrainStep(session, weights, state, opts.decay ?? graph.params.map(() => true), opts.weightDecay ?? 0.01, opts.clipNorm ?? 1);
  }

  /** `masks`: the graph's dropout masks for this step (drawMasks), none without dropout. */
  async step(batch: TrainBatch, lr: number, masks: readonly Float32Array[] = []): Promise<StepResult> {
    const t0 = performance.now();
    const res = await this.session.compute(batch, this.weights, masks);
    const t1 = performance.now();
    const gradNorm = globalNorm(res.grads);
    const applied = Number.isFinite(res.loss) && Number.isFinite(gradNorm);
    // Clipping is folded into the update as a scale on each gradient read.
    if (applied) adamwStep(this.weights, res.grads, this.decay, this.state, lr, { weightDecay: this.weightDecay, gradScale: clipScale(gradNorm, this.clipNorm) });
    const t2 = performance.now();
    return { loss: res.loss, gradNorm, applied, graphMs: t1 - t0, optimizerMs: t2 - t1 };
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
