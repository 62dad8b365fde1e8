import type { Worker } from 'node:worker_threads';
import type { TextInput } from '../checkpoint/tokenizer.js';
import { resolveModelPath, type HubOptions } from '../checkpoint/hub.js';
import { BertfuseError } from '../errors.js';
import type { QuantizeMode } from '../graph/quantize.js';
import type { Classifier, DetailedProbabilities } from './classifier.js';
import type { RunOptions } from './runner.js';
import type { RuntimeOptions } from './session.js';
import { AbortedError } from './aborted.js';
import { spawnModuleWorker } from '../util/module-worker.js';
import { fromWire, type FromWorker, type ToWorker, type WorkerData } from './worker-protocol.js';

/*
 * A Classifier whose model lives in a worker thread. onnxruntime-node's session.run blocks the
 * thread it runs on for the whole run (one 512-token row of BERT-base takes about a second on two
 * cores), so a server that runs its model on the main thread cannot answer anything meanwhile. Here
 * tokenisation and inference happen in the worker; the main thread only moves texts in and
 * probabilities out. An aborted call (`signal`) is cancelled in the worker between model runs.
 */

export interface WorkerLoadOptions {
  readonly runtime?: RuntimeOptions;
  readonly quantize?: QuantizeMode | null;
  /** Multi-task merges: the task whose head answers. */
  readonly task?: string;
  /** How `org/name` hub ids are resolved; done on the calling thread before the worker starts. */
  readonly hub?: HubOptions;
}

interface WorkerResult {
  readonly probs: Float32Array;
  readonly members?: readonly (readonly [string, Float32Array])[];
  readonly ran?: readonly (readonly [string, Uint8Array])[];
}

interface Pending {
  resolve(r: WorkerResult): void;
  reject(e: unknown): void;
  onProgress?: ((done: number, total: number) => void) | undefined;
}

function spawn(data: WorkerData): Worker {
  return spawnModuleWorker(import.meta.url, 'classifier-worker', { workerData: data });
}

export class WorkerClassifier implements Classifier {
  readonly predictDetailed?: (inputs: readonly TextInput[], opts?: RunOptions) => Promise<DetailedProbabilities>;
  readonly task?: string;
  readonly quantize: QuantizeMode | null;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private dead: Error | null = null;
  private readonly exited: Promise<void>;

  private constructor(
    private readonly worker: Worker,
    readonly name: string,
    readonly source: string,
    readonly labels: readonly string[],
    detailed: boolean,
    task: string | null,
    quantize: QuantizeMode | null,
  ) {
    // As the worker's model reports them, so a server can say which head and which graph answer.
    if (task !== null) this.task = task;
    this.quantize = quantize;
    if (detailed) {
      this.predictDetailed = async (inputs, opts) => {
        const r = await this.call(inputs, true, opts ?? {});
        return { fused: r.probs, members: Object.fromEntries(r.members ?? []), ...(r.ran?.length ? { ran: Object.fromEntries(r.ran) } : {}) };
      };
    }
    worker.on('message', (m: FromWorker) => this.onMessage(m));
    this.exited = new Promise((resolve) => worker.once('exit', () => resolve()));
    const fail = (e: Error): void => {
      this.dead ??= e;
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    };
    worker.on('error', (e) => fail(new BertfuseError('E_BAD_ONNX', `the model worker failed (${e.message})`)));
    worker.once('exit', () => fail(new BertfuseError('E_USAGE', 'the model worker has stopped')));
  }

  /** Loads `target` (as loadClassifier takes it) in a new worker thread; resolves once it is ready. */
  static async load(target: string, opts: WorkerLoadOptions = {}): Promise<WorkerClassifier> {
    const local = await resolveModelPath(target, opts.hub);
    const worker = spawn({ target: local, ...(opts.runtime ? { runtime: opts.runtime } : {}), quantize: opts.quantize ?? null, ...(opts.task !== undefined ? { task: opts.task } : {}) });
    const first = await new Promise<FromWorker>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`the model worker exited (${code}) before it was ready`)));
    }).catch((e: unknown) => {
      void worker.terminate();
      throw e instanceof BertfuseError ? e : new BertfuseError('E_BAD_ONNX', `cannot start the model worker (${(e as Error).message})`, target);
    });
    if (first.type === 'failed') {
      await worker.terminate();
      throw fromWire(first.error);
    }
    if (first.type !== 'ready') {
      await worker.terminate();
      throw new BertfuseError('E_BAD_ONNX', `the model worker sent ${first.type} before it was ready`, target);
    }
    worker.removeAllListeners('error');
    worker.removeAllListeners('exit');
    worker.removeAllListeners('message');
    return new WorkerClassifier(worker, first.name, first.source, first.labels, first.detailed, first.task, first.quantize);
  }

  failure(): string | null {
    return this.dead?.message ?? null;
  }

  async predictProba(inputs: readonly TextInput[], opts: RunOptions = {}): Promise<Float32Array> {
    return (await this.call(inputs, false, opts)).probs;
  }

  private call(inputs: readonly TextInput[], detailed: boolean, opts: RunOptions): Promise<WorkerResult> {
    if (this.dead) return Promise.reject(this.dead);
    const signal = opts.signal;
    if (signal?.aborted) return Promise.reject(new AbortedError());
    const id = this.nextId++;
    return new Promise<WorkerResult>((resolve, reject) => {
      const onAbort = (): void => this.post({ type: 'cancel', id });
      signal?.addEventListener('abort', onAbort, { once: true });
      this.pending.set(id, {
        resolve: (r) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(r);
        },
        reject: (e) => {
          signal?.removeEventListener('abort', onAbort);
          reject(e);
        },
        onProgress: opts.onProgress,
      });
      this.post({ type: 'run', id, inputs: inputs.map((x) => ({ text: x.text, ...(x.textPair !== undefined && x.textPair !== null ? { textPair: x.textPair } : {}) })), detailed, ...(opts.batchSize ? { batchSize: opts.batchSize } : {}), ...(opts.maxTokens ? { maxTokens: opts.maxTokens } : {}) });
    });
  }

  private post(m: ToWorker): void {
    if (!this.dead) this.worker.postMessage(m);
  }

  private onMessage(m: FromWorker): void {
    if (m.type === 'ready' || m.type === 'failed') return;
    const p = this.pending.get(m.id);
    if (!p) return;
    if (m.type === 'progress') {
      p.onProgress?.(m.done, m.total);
      return;
    }
    this.pending.delete(m.id);
    if (m.type === 'done') p.resolve({ probs: m.probs, ...(m.members ? { members: m.members } : {}), ...(m.ran ? { ran: m.ran } : {}) });
    else p.reject(fromWire(m.error));
  }

  /** Finishes queued work, releases the model and stops the worker. */
  async close(): Promise<void> {
    if (!this.dead) {
      this.post({ type: 'close' });
      const timer = setTimeout(() => void this.worker.terminate(), 10_000);
      await this.exited;
      clearTimeout(timer);
    }
  }
}
