import type { TextInput } from '../checkpoint/tokenizer.js';
import { AbortedError } from '../runtime/aborted.js';
import type { Classifier } from '../runtime/classifier.js';

/*
 * Micro-batching: requests that arrive close together share one model run. A run starts when
 * `maxBatch` inputs are waiting or the oldest has waited `maxWaitMs`, whichever comes first. Runs
 * are serial (onnxruntime blocks the event loop anyway); requests that arrive during a run wait
 * for the next one. A request larger than `maxBatch` runs alone, cut into `maxBatch` pieces by
 * the runner (and into pieces of at most `maxTokens` rows × tokens).
 *
 * A request whose signal aborts (its client hung up) leaves the queue at once; if it is running,
 * the model run in progress finishes and the rest of the run is skipped, unless other requests
 * share the run.
 */

export interface BatchResult {
  /** Row-major [inputs, labels] probabilities of this request's inputs. */
  readonly probs: Float32Array;
  /** Per member, when asked for and the model has members. */
  readonly members?: Readonly<Record<string, Float32Array>>;
  /** Members a gate ran on some rows only: 1 where each ran (see DetailedProbabilities.ran). */
  readonly ran?: Readonly<Record<string, Uint8Array>>;
}

export interface BatcherOptions {
  readonly maxBatch: number;
  readonly maxWaitMs: number;
  /** Most rows × padded tokens per model run (bounds how long one run takes). */
  readonly maxTokens?: number;
  /** Called once per model batch with its size (after the runner splits a run). */
  readonly onBatch?: (size: number) => void;
  /** Called once per run with its duration. */
  readonly onRun?: (seconds: number) => void;
}

interface Job {
  readonly inputs: readonly TextInput[];
  readonly detailed: boolean;
  readonly queuedAt: number;
  readonly signal: AbortSignal | undefined;
  settled: boolean;
  resolve(r: BatchResult): void;
  reject(e: unknown): void;
}

export class MicroBatcher {
  private queue: Job[] = [];
  private queuedInputs = 0;
  private running: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private flushing = false;

  constructor(
    private readonly model: Classifier,
    private readonly opts: BatcherOptions,
  ) {}

  /** Inputs waiting for a run. */
  get pending(): number {
    return this.queuedInputs;
  }

  submit(inputs: readonly TextInput[], detailed: boolean, signal?: AbortSignal): Promise<BatchResult> {
    if (signal?.aborted) return Promise.reject(new AbortedError());
    return new Promise<BatchResult>((resolve, reject) => {
      const job: Job = {
        inputs,
        detailed,
        queuedAt: performance.now(),
        signal,
        settled: false,
        resolve: (r) => {
          if (job.settled) return;
          job.settled = true;
          signal?.removeEventListener('abort', onAbort);
          resolve(r);
        },
        reject: (e) => {
          if (job.settled) return;
          job.settled = true;
          signal?.removeEventListener('abort', onAbort);
          reject(e);
        },
      };
      const onAbort = (): void => {
        const at = this.queue.indexOf(job);
        if (at >= 0) {
          this.queue.splice(at, 1);
          this.queuedInputs -= inputs.length;
        }
        job.reject(new AbortedError());
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.queue.push(job);
      this.queuedInputs += inputs.length;
      this.schedule();
    });
  }

  /** Stop waiting for more requests: run what is queued now (used when the server drains). */
  flush(): void {
    this.flushing = true;
    this.schedule();
  }

  /** Resolves when nothing is queued or running. */
  async idle(): Promise<void> {
    while (this.running || this.queue.length > 0) {
      if (this.running) await this.running;
      else await new Promise((r) => setImmediate(r));
    }
  }

  private schedule(): void {
    if (this.running || this.queue.length === 0) return;
    const waited = performance.now() - this.queue[0]!.queuedAt;
    const delay = this.flushing || this.queuedInputs >= this.opts.maxBatch ? 0 : Math.max(0, this.opts.maxWaitMs - waited);
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.running = this.runOnce().finally(() => {
        this.running = null;
        this.schedule();
      });
    }, delay);
  }

  private async runOnce(): Promise<void> {
    // Take whole requests, in arrival order, up to maxBatch inputs (at least one request).
    const jobs: Job[] = [];
    let rows = 0;
    while (this.queue.length > 0 && (jobs.length === 0 || rows + this.queue[0]!.inputs.length <= this.opts.maxBatch)) {
      const j = this.queue.shift()!;
      jobs.push(j);
      rows += j.inputs.length;
    }
    this.queuedInputs -= rows;
    const inputs = jobs.flatMap((j) => j.inputs);
    const detailed = jobs.some((j) => j.detailed) && this.model.predictDetailed !== undefined;
    // The run stops early only when every request in it has gone.
    const run = new AbortController();
    const signals = jobs.map((j) => j.signal);
    if (signals.every((s) => s !== undefined)) {
      const check = (): void => {
        if (signals.every((s) => s!.aborted)) run.abort(new AbortedError());
      };
      for (const s of signals) s!.addEventListener('abort', check, { once: true });
      check();
    }
    let seen = 0;
    const runOpts = {
      batchSize: this.opts.maxBatch,
      signal: run.signal,
      ...(this.opts.maxTokens ? { maxTokens: this.opts.maxTokens } : {}),
      // Called after each model run with the rows done so far (and once with 0 as the run starts).
      onProgress: (done: number) => {
        if (done === seen) return;
        this.opts.onBatch?.(done - seen);
        seen = done;
      },
    };
    const t0 = performance.now();
    try {
      const k = this.model.labels.length;
      let probs: Float32Array;
      let members: Readonly<Record<string, Float32Array>> | undefined;
      let ran: Readonly<Record<string, Uint8Array>> | undefined;
      if (detailed) {
        const d = await this.model.predictDetailed!(inputs, runOpts);
        probs = d.fused;
        members = d.members;
        ran = d.ran;
      } else {
        probs = await this.model.predictProba(inputs, runOpts);
      }
      this.opts.onRun?.((performance.now() - t0) / 1000);
      let at = 0;
      for (const j of jobs) {
        const n = j.inputs.length;
        const slice = (a: Float32Array): Float32Array => a.slice(at * k, (at + n) * k);
        const rows = (a: Uint8Array): Uint8Array => a.slice(at, at + n);
        j.resolve({
          probs: slice(probs),
          ...(j.detailed && members ? { members: Object.fromEntries(Object.entries(members).map(([name, p]) => [name, slice(p)])) } : {}),
          ...(j.detailed && ran ? { ran: Object.fromEntries(Object.entries(ran).map(([name, r]) => [name, rows(r)])) } : {}),
        });
        at += n;
      }
    } catch (e) {
      for (const j of jobs) j.reject(e);
    }
  }
}
