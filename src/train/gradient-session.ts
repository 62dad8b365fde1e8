import ort from 'onnxruntime-node';
import { createSession, int64Tensor, type RuntimeOptions, type Session } from '../runtime/session.js';
import { maskDims, type DropoutMask } from './dropout.js';
import { GRAD_IDS_PREFIX, GRAD_PREFIX, GRAD_ROWS_PREFIX, type TrainableParam, type TrainingGraph } from './training-graph.js';

/** One training batch, padded (dynamic padding: to its longest row). */
export interface TrainBatch {
  readonly inputIds: BigInt64Array;
  readonly attentionMask: BigInt64Array;
  readonly tokenTypeIds: BigInt64Array;
  readonly dims: readonly [number, number];
  /** [batch, labels]: one-hot label × cross-entropy weight (zeros for unlabelled rows). */
  readonly hardTargets: Float32Array;
  /** [batch, labels]: teacher probabilities. */
  readonly softTargets: Float32Array;
  /** [batch]: weight of the distillation term per row. */
  readonly kdWeight: Float32Array;
}

export interface GradientResult {
  readonly loss: number;
  readonly logits: Float32Array;
  /** One per parameter, in the graph's layout and the order of `graph.params`. */
  readonly grads: Float32Array[];
}

/** An onnxruntime session over a training graph: weights in, loss and gradients out. */
export class GradientSession {
  private constructor(
    private readonly session: Session,
    readonly params: readonly TrainableParam[],
    readonly numLabels: number,
    private readonly tokenTypes: boolean,
    private readonly dropout: readonly DropoutMask[],
  ) {}

  static async create(graph: TrainingGraph, runtime: RuntimeOptions = {}): Promise<GradientSession> {
    const session = await createSession(graph.bytes, runtime, '<training graph>');
    return new GradientSession(session, graph.params, graph.numLabels, graph.tokenTypes, graph.dropout);
  }

  /**
   * One step's loss and gradients; `masks` are the graph's dropout masks (drawMasks), none without
   * dropout. With `into` (one array per parameter, sized like it, not a weight), the gradients are
   * written there and `grads` is `into`: a caller that keeps its buffers across steps saves
   * onnxruntime an allocation per gradient. Without it, `grads` are fresh arrays.
   * (onnxruntime-node 1.30 and 1.31.1 still copy every output into a fresh ArrayBuffer after the run,
   * even a pre-allocated one, and accept no SharedArrayBuffer-backed arrays, as feeds or fetches.)
   */
  async compute(batch: TrainBatch, weights: readonly Float32Array[], masks: readonly Float32Array[] = [], into?: readonly Float32Array[]): Promise<GradientResult> {
    if (into && into.length !== this.params.length) throw new Error(`compute: ${into.length} gradient buffers for ${this.params.length} parameters`);
    const shared = [...weights, ...(into ?? [])].findIndex((a) => a.buffer instanceof SharedArrayBuffer);
    if (shared >= 0) throw new Error('compute: onnxruntime-node refuses arrays over a SharedArrayBuffer (weights and gradient buffers must be ordinary ones)');
    const fetches: Record<string, ort.Tensor | null> = { loss: null, logits: null };
    this.params.forEach((p, i) => {
      if (p.gathered) fetches[GRAD_ROWS_PREFIX + p.input] = fetches[GRAD_IDS_PREFIX + p.input] = null;
      else fetches[GRAD_PREFIX + p.input] = into ? new ort.Tensor('float32', into[i]!, [...p.dims]) : null;
    });
    const out = await this.session.run(this.feeds(batch, weights, masks), fetches);
    const grads = this.params.map((p, i) => {
      if (!p.gathered) return into?.[i] ?? (out[GRAD_PREFIX + p.input]!.data as Float32Array);
      const dense = into ? into[i]!.fill(0) : new Float32Array(p.data.length);
      addRows(dense, out[GRAD_ROWS_PREFIX + p.input]!.data as Float32Array, out[GRAD_IDS_PREFIX + p.input]!.data as BigInt64Array, p.dims);
      return dense;
    });
    return { loss: Number((out['loss']!.data as Float32Array)[0]), logits: out['logits']!.data as Float32Array, grads };
  }

  /** The graph's feeds for one batch, one set of weights and its dropout masks (the tensors wrap the arrays, no copy). */
  feeds(batch: TrainBatch, weights: readonly Float32Array[], masks: readonly Float32Array[] = []): Record<string, ort.Tensor> {
    const [b, s] = batch.dims;
    const c = this.numLabels;
    const feeds: Record<string, ort.Tensor> = {
      input_ids: int64Tensor(batch.inputIds, [b, s]),
      attention_mask: int64Tensor(batch.attentionMask, [b, s]),
      hard_targets: new ort.Tensor('float32', batch.hardTargets, [b, c]),
      soft_targets: new ort.Tensor('float32', batch.softTargets, [b, c]),
      kd_weight: new ort.Tensor('float32', batch.kdWeight, [b]),
    };
    if (this.tokenTypes) feeds['token_type_ids'] = int64Tensor(batch.tokenTypeIds, [b, s]);
    if (masks.length !== this.dropout.length) throw new Error(`the training graph has ${this.dropout.length} dropout masks, ${masks.length} given`);
    this.dropout.forEach((m, i) => (feeds[m.input] = new ort.Tensor('float32', masks[i]!, maskDims(m, b, s))));
    this.params.forEach((p, i) => (feeds[p.input] = new ort.Tensor('float32', weights[i]!, [...p.dims])));
    return feeds;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

/** table[ids[t]] += rows[t] for every gathered position t, in order (negative ids count from the end, as Gather's). */
function addRows(dense: Float32Array, rows: Float32Array, ids: BigInt64Array, dims: readonly number[]): void {
  const [count, width] = dims as [number, number];
  for (let t = 0; t < ids.length; t++) {
    const id = Number(ids[t]!);
    const at = (id < 0 ? id + count : id) * width;
    const from = t * width;
    for (let j = 0; j < width; j++) dense[at + j] = dense[at + j]! + rows[from + j]!;
  }
}
