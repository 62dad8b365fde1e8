import type { BertTokenizer, Encoded, TextInput } from '../checkpoint/tokenizer.js';
import { padBatch, planBatches } from './batch.js';
import { createSession, int64Tensor, runSession, type RuntimeOptions, type Session } from './session.js';

/** Row-major [n, width] results for one named output. */
export interface OutputRows {
  readonly data: Float32Array;
  readonly width: number;
}

export interface RunOptions {
  readonly batchSize?: number;
  /** Sort by length before batching (default true); results come back in input order either way. */
  readonly bucket?: boolean;
  /** Pad every batch to this length instead of the longest row (for benchmarks). */
  readonly padTo?: number;
  readonly outputs?: readonly string[];
  readonly onProgress?: (done: number, total: number) => void;
  /** Most rows × padded tokens in one model run (default: no bound beyond batchSize). */
  readonly maxTokens?: number;
  /**
   * Checked before every model run: once aborted, the run in progress finishes and the rest are
   * skipped (the promise rejects with the signal's reason). Between runs the event loop gets a turn,
   * so an abort (or anything else waiting) is seen.
   */
  readonly signal?: AbortSignal;
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new Error('aborted');
}

/** One tokenizer group's encoded rows, fed as input_ids/attention_mask/token_type_ids with an optional suffix. */
export interface FeedGroup {
  readonly suffix: string;
  readonly tokenizer: BertTokenizer;
}

/**
 * Runs an ONNX graph over many inputs: tokenise per group, batch (length-bucketed), pad per batch,
 * run, and scatter rows back to input order. Works for one member and for combined graphs whose
 * inputs are grouped by tokenizer.
 */
export class GraphRunner {
  constructor(
    readonly session: Session,
    readonly groups: readonly FeedGroup[],
  ) {}

  static async create(model: Uint8Array | string, groups: readonly FeedGroup[], opts: RuntimeOptions = {}): Promise<GraphRunner> {
    return new GraphRunner(await createSession(model, opts), groups);
  }

  get outputNames(): readonly string[] {
    return this.session.outputNames;
  }

  encode(inputs: readonly TextInput[]): Encoded[][] {
    return this.groups.map((g) => inputs.map((x) => g.tokenizer.encode(x)));
  }

  async run(inputs: readonly TextInput[], opts: RunOptions = {}): Promise<Record<string, OutputRows>> {
    return this.runEncoded(this.encode(inputs), opts);
  }

  async runEncoded(encoded: readonly Encoded[][], opts: RunOptions = {}): Promise<Record<string, OutputRows>> {
    const n = encoded[0]?.length ?? 0;
    const wanted = opts.outputs ?? this.session.outputNames;
    const lengths = Array.from({ length: n }, (_, i) => Math.max(...encoded.map((g) => g[i]!.inputIds.length)));
    const padded = opts.padTo === undefined ? lengths : lengths.map(() => opts.padTo!);
    const batches = planBatches(padded, opts.batchSize ?? 32, opts.bucket ?? true, opts.maxTokens);
    const result: Record<string, { data: Float32Array; width: number }> = {};
    let done = 0;
    opts.onProgress?.(0, n); // the run starts: a bar at 0 rather than the previous step's last count
    for (const [bi, idx] of batches.entries()) {
      if (opts.signal) {
        if (bi > 0) await new Promise<void>((r) => setImmediate(r));
        throwIfAborted(opts.signal);
      }
      const feeds: Record<string, ReturnType<typeof int64Tensor>> = {};
      this.groups.forEach((g, gi) => {
        const b = padBatch(idx.map((i) => encoded[gi]![i]!), g.tokenizer.padId, opts.padTo);
        feeds[`input_ids${g.suffix}`] = int64Tensor(b.inputIds, b.dims);
        feeds[`attention_mask${g.suffix}`] = int64Tensor(b.attentionMask, b.dims);
        if (this.session.inputNames.includes(`token_type_ids${g.suffix}`)) feeds[`token_type_ids${g.suffix}`] = int64Tensor(b.tokenTypeIds, b.dims);
      });
      const out = await runSession(this.session, feeds, wanted);
      for (const name of wanted) {
        const o = out[name]!;
        const width = o.dims.slice(1).reduce((a, d) => a * d, 1);
        const r = (result[name] ??= { data: new Float32Array(n * width), width });
        idx.forEach((row, k) => r.data.set(o.data.subarray(k * width, (k + 1) * width), row * width));
      }
      done += idx.length;
      opts.onProgress?.(done, n);
    }
    for (const name of wanted) result[name] ??= { data: new Float32Array(0), width: 0 };
    return result;
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}
