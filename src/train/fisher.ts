import type { Encoded } from '../checkpoint/tokenizer.js';
import type { BertWeights } from '../graph/bert-graph.js';
import { padBatch } from '../runtime/batch.js';
import type { RuntimeOptions } from '../runtime/session.js';
import { GradientSession } from './gradient-session.js';
import { buildTrainingGraph, toCheckpointLayout } from './training-graph.js';

/**
 * The diagonal of the Fisher information of a classifier, per checkpoint tensor (Matena & Raffel
 * 2022): F = mean over rows x of E_{y ~ p(·|x)} [ (∂ log p(y|x) / ∂θ)² ], the expectation taken
 * exactly over the labels (one backward pass per label, each weighted by the model's own p(y|x)).
 * Per-example gradients come from batches of one through the training graph.
 */
export async function diagonalFisher(
  w: BertWeights,
  rows: readonly Encoded[],
  padId: number,
  opts: { runtime?: RuntimeOptions; onProgress?: (done: number, total: number) => void } = {},
): Promise<Map<string, Float32Array>> {
  const graph = buildTrainingGraph(w, { temperature: 1 });
  const session = await GradientSession.create(graph, opts.runtime);
  const k = graph.numLabels;
  const weights = graph.params.map((p) => p.data);
  const acc = graph.params.map((p) => new Float64Array(p.data.length));
  try {
    for (let r = 0; r < rows.length; r++) {
      const padded = padBatch([rows[r]!], padId);
      let probs: Float64Array | null = null;
      for (let c = 0; c < k; c++) {
        const hard = new Float32Array(k);
        hard[c] = 1;
        // Loss = −log p(c|x) (batch of one, no distillation term): its gradient is −∂ log p(c|x).
        const res = await session.compute({ ...padded, hardTargets: hard, softTargets: new Float32Array(k), kdWeight: new Float32Array(1) }, weights);
        probs ??= softmax(res.logits);
        const pc = probs[c]!;
        res.grads.forEach((g, i) => {
          const a = acc[i]!;
          for (let j = 0; j < g.length; j++) a[j] += pc * g[j]! * g[j]!;
        });
      }
      opts.onProgress?.(r + 1, rows.length);
    }
  } finally {
    await session.release();
  }
  const n = Math.max(1, rows.length);
  return new Map(graph.params.map((p, i) => [p.tensor, toCheckpointLayout(p, Float32Array.from(acc[i]!, (v) => v / n))]));
}

function softmax(z: Float32Array): Float64Array {
  const m = Math.max(...z);
  const e = Float64Array.from(z, (v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}
