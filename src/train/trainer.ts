import crypto from 'node:crypto';
import fs from 'node:fs';
import type { Encoded } from '../checkpoint/tokenizer.js';
import { padBatch, planBatches } from '../runtime/batch.js';
import type { RuntimeOptions } from '../runtime/session.js';
import { Rng, seedFor } from '../util/rng.js';
import { initAdamWState, learningRate, type AdamWState } from './adamw.js';
import { MaskBuffers, stepMasks } from './dropout.js';
import type { TrainBatch } from './gradient-session.js';
import { loadTrainState, saveTrainState } from './train-state.js';
import { TimeBudget } from './time-budget.js';
import { TrainStep } from './train-step.js';
import type { TrainingGraph } from './training-graph.js';

/** One transfer-set row: the student's tokens, the teacher's probabilities, and a label if known. */
export interface TrainExample {
  readonly encoded: Encoded;
  /** Teacher probabilities in the student's label order. */
  readonly soft: Float32Array;
  /** Gold label index in the student's order, or null for unlabelled text. */
  readonly label: number | null;
}

export interface TrainOptions {
  readonly epochs: number;
  readonly batchSize: number;
  readonly learningRate: number;
  /** Fraction of the steps spent warming up (default 0.1). */
  readonly warmup?: number;
  readonly weightDecay?: number;
  /** Clip the global gradient norm to this (default 1). */
  readonly clipNorm?: number;
  readonly seed: number;
  /** Weight α of the hard-label term on labelled rows (their distillation term gets 1 − α). */
  readonly alpha?: number;
  /** Stop after this many minutes (the schedule is shortened to fit after the first steps). */
  readonly maxMinutes?: number;
  /** Save weights and optimizer state here every `checkpointEvery` steps and at the end. */
  readonly checkpoint?: string;
  readonly checkpointEvery?: number;
  /** Continue from `checkpoint` when it exists. */
  readonly resume?: boolean;
  /** Stop (as if interrupted) after this many steps in this call, without changing the plan. */
  readonly stopAfter?: number;
  readonly runtime?: RuntimeOptions;
  /** Threads for clipping + AdamW (default: the runtime's); the bytes do not depend on it. */
  readonly optimizerThreads?: number;
  readonly onStep?: (s: StepInfo) => void;
}

export interface StepInfo {
  readonly step: number;
  readonly totalSteps: number;
  readonly loss: number;
  readonly lr: number;
  readonly gradNorm: number;
  readonly elapsedMs: number;
}

export interface TrainResult {
  /** Final weights in the graph's layout, in the order of `graph.params`. */
  readonly weights: Float32Array[];
  readonly steps: number;
  readonly totalSteps: number;
  readonly stoppedBy: 'done' | 'time' | 'nonfinite';
  /** Mean loss over the last epoch's steps (or all steps if fewer). */
  readonly meanLoss: number;
  readonly losses: number[];
  /** Step of the last checkpoint written (or resumed), if any. */
  readonly checkpointStep: number | null;
  readonly resumedFrom: number | null;
}

/**
 * Trains the graph's weights: length-bucketed batches padded to their longest row (as inference
 * does), batch order shuffled per epoch from the seed, AdamW with warm-up and linear decay, global
 * norm clipping, dropout when the graph has masks (drawn per step from the seed, so the same seed and
 * data give the same bytes, resumed or not).
 * A non-finite loss or gradient stops training before the step is applied; the weights returned
 * and the checkpoint on disk are the last good ones.
 */
export async function train(graph: TrainingGraph, examples: readonly TrainExample[], padId: number, opts: TrainOptions): Promise<TrainResult> {
  const C = graph.numLabels;
  const batches = planBatches(examples.map((e) => e.encoded.inputIds.length), opts.batchSize, true);
  const perEpoch = batches.length;
  let totalSteps = perEpoch * opts.epochs;
  const run = runFingerprint(graph, examples, opts);
  // No weight decay on vectors (biases and norm scales, whatever a family calls them), as HF's Trainer.
  const decay = graph.params.map((p) => p.dims.length > 1);

  let weights: Float32Array[] = graph.params.map((p) => Float32Array.from(p.data));
  let state: AdamWState = initAdamWState(weights.map((w) => w.length));
  let step = 0;
  let resumedFrom: number | null = null;
  let checkpointStep: number | null = null;
  if (opts.resume && opts.checkpoint && fs.existsSync(opts.checkpoint)) {
    const loaded = loadTrainState(opts.checkpoint, graph.params, run);
    weights = loaded.weights;
    state = loaded.opt;
    step = loaded.meta.step;
    totalSteps = loaded.meta.totalSteps;
    resumedFrom = checkpointStep = step;
  }

  const trainStep = await TrainStep.create(graph, {
    runtime: opts.runtime,
    decay,
    weightDecay: opts.weightDecay ?? 0.01,
    clipNorm: opts.clipNorm ?? 1,
    weights,
    state,
    ...(opts.optimizerThreads !== undefined ? { optimizerThreads: opts.optimizerThreads } : {}),
  });
  const alpha = opts.alpha ?? 0.5;
  const warmup = Math.max(1, Math.round((opts.warmup ?? 0.1) * totalSteps));
  const started = Date.now();
  const budgetMs = opts.maxMinutes !== undefined ? opts.maxMinutes * 60_000 : Infinity;
  const losses: number[] = [];
  let stoppedBy: TrainResult['stoppedBy'] = 'done';
  const save = (lastLoss: number): void => {
    if (!opts.checkpoint) return;
    // The step's own weights and state: the optimizer keeps its moments in shared memory.
    saveTrainState(opts.checkpoint, graph.params, trainStep.weights, trainStep.state, { step, totalSteps, run, lastLoss });
    checkpointStep = step;
  };
  const maskBuffers = new MaskBuffers();
  try {
    const startStep = step;
    const budget = new TimeBudget(budgetMs, startStep);
    while (step < totalSteps) {
      const epoch = Math.floor(step / perEpoch);
      const order = new Rng(seedFor(opts.seed, `epoch${epoch}`)).shuffle(batches.map((_, i) => i));
      const rows = batches[order[step % perEpoch]!]!.map((i) => examples[i]!);
      const lr = learningRate(step, opts.learningRate, warmup, totalSteps);
      const batch = makeBatch(rows, padId, C, alpha);
      // Masks from the step's own seed: the same at this step whether the run was resumed or not.
      const masks = stepMasks(graph.dropout, batch.dims[0], batch.dims[1], opts.seed, step, maskBuffers);
      // A non-finite loss or gradient leaves the weights untouched (the step is not applied).
      const res = await trainStep.step(batch, lr, masks);
      const gradNorm = res.gradNorm;
      if (!res.applied) {
        stoppedBy = 'nonfinite';
        break;
      }
      step++;
      losses.push(res.loss);
      const elapsedMs = Date.now() - started;
      opts.onStep?.({ step, totalSteps, loss: res.loss, lr, gradNorm, elapsedMs });
      if (opts.checkpointEvery && step % opts.checkpointEvery === 0 && step < totalSteps) save(res.loss);
      if (opts.stopAfter !== undefined && step - startStep >= opts.stopAfter) {
        stoppedBy = 'time';
        break;
      }
      if (elapsedMs > budgetMs) {
        stoppedBy = step < totalSteps ? 'time' : 'done';
        break;
      }
      // Shorten the plan so the decay ends within the time budget (measured past the warm-up steps).
      totalSteps = budget.plan(step, totalSteps, elapsedMs);
    }
    if (stoppedBy !== 'nonfinite') save(losses.at(-1) ?? NaN);
  } finally {
    await trainStep.release();
  }
  const tail = losses.slice(-perEpoch);
  return {
    weights: trainStep.weights,
    steps: step,
    totalSteps,
    stoppedBy,
    meanLoss: tail.reduce((a, b) => a + b, 0) / Math.max(1, tail.length),
    losses,
    checkpointStep,
    resumedFrom,
  };
}

function makeBatch(rows: readonly TrainExample[], padId: number, C: number, alpha: number): TrainBatch {
  const padded = padBatch(rows.map((r) => r.encoded), padId);
  const b = rows.length;
  const hard = new Float32Array(b * C);
  const soft = new Float32Array(b * C);
  const kd = new Float32Array(b);
  rows.forEach((r, i) => {
    soft.set(r.soft, i * C);
    if (r.label === null) {
      kd[i] = 1;
    } else {
      hard[i * C + r.label] = alpha;
      kd[i] = 1 - alpha;
    }
  });
  return { ...padded, hardTargets: hard, softTargets: soft, kdWeight: kd };
}

/** A hash of everything that decides the trajectory, so resuming another run's checkpoint is refused. */
function runFingerprint(graph: TrainingGraph, examples: readonly TrainExample[], opts: TrainOptions): string {
  const h = crypto.createHash('sha256');
  h.update(JSON.stringify({ e: opts.epochs, b: opts.batchSize, lr: opts.learningRate, w: opts.warmup, wd: opts.weightDecay, c: opts.clipNorm, s: opts.seed, a: opts.alpha, T: graph.temperature, d: graph.dropout.map((m) => m.rate) }));
  for (const p of graph.params) h.update(p.input).update(new Uint8Array(p.data.buffer, p.data.byteOffset, p.data.byteLength));
  for (const e of examples) {
    h.update(new Uint8Array(Int32Array.from(e.encoded.inputIds).buffer)).update(new Uint8Array(e.soft.buffer, e.soft.byteOffset, e.soft.byteLength)).update(String(e.label));
  }
  return h.digest('hex').slice(0, 32);
}
