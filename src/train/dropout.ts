import type { DropoutKind, ModelConfig } from '../architectures/types.js';
import { createHash } from 'node:crypto';
import { Rng, seedFor } from '../util/rng.js';

/** Dropout probabilities by kind, as the checkpoint's config.json trained them: the kinds the family has. */
export type DropoutRates = Readonly<Partial<Record<DropoutKind, number>>>;

/** One dropout point of a training graph: a mask input multiplied into the activation. */
export interface DropoutMask {
  /** Graph input name. */
  readonly input: string;
  readonly kind: DropoutKind;
  readonly rate: number;
  /** Shape, with `batch` and `sequence` resolved per batch. */
  readonly dims: readonly (number | string)[];
}

const num = (raw: Readonly<Record<string, unknown>>, key: string, fallback: number): number => {
  const v = raw[key];
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 && v < 1 ? v : fallback;
};

/**
 * The config's dropout probabilities under each family's names (HF defaults when absent):
 * BERT, RoBERTa, XLM-R, ELECTRA `hidden_dropout_prob` / `attention_probs_dropout_prob` /
 * `classifier_dropout` (null → the hidden rate); DistilBERT `dropout` / `attention_dropout` /
 * `seq_classif_dropout`; DeBERTa-v2 adds the classifier's `cls_dropout` and the ContextPooler's
 * `pooler_dropout` (default 0); ModernBERT `embedding_dropout` / `attention_dropout` / `mlp_dropout` /
 * `classifier_dropout` (all default 0).
 */
export function dropoutRates(cfg: ModelConfig): DropoutRates {
  const r = cfg.raw;
  if (cfg.family === 'distilbert') return { hidden: num(r, 'dropout', 0.1), attention: num(r, 'attention_dropout', 0.1), classifier: num(r, 'seq_classif_dropout', 0.2) };
  if (cfg.family === 'modernbert') {
    return { embedding: num(r, 'embedding_dropout', 0), attention: num(r, 'attention_dropout', 0), mlp: num(r, 'mlp_dropout', 0), classifier: num(r, 'classifier_dropout', 0) };
  }
  const hidden = num(r, 'hidden_dropout_prob', 0.1);
  if (cfg.family === 'deberta-v2') {
    return { hidden, attention: num(r, 'attention_probs_dropout_prob', 0.1), classifier: num(r, 'cls_dropout', hidden), pooler: num(r, 'pooler_dropout', 0) };
  }
  return { hidden, attention: num(r, 'attention_probs_dropout_prob', 0.1), classifier: num(r, 'classifier_dropout', hidden) };
}

/**
 * The masks of one training step, drawn from `rng` in the graph's order: each element is 0 with
 * probability `rate`, else 1/(1 − rate) (inverted dropout, as PyTorch scales at training time).
 * With `buffers`, the masks are views of storage reused from step to step.
 */
export function drawMasks(masks: readonly DropoutMask[], batch: number, sequence: number, rng: Rng, buffers?: MaskBuffers): Float32Array[] {
  return masks.map((m, i) => {
    const n = maskDims(m, batch, sequence).reduce((p, d) => p * d, 1);
    const out = buffers ? buffers.take(i, n) : new Float32Array(n);
    rng.fillBelow(out, m.rate, 0, 1 / (1 - m.rate));
    return out;
  });
}

/**
 * The masks a training run seeded `seed` draws at step `step` (from the step's own seed, so a resumed
 * run draws the same): what the trainer feeds, and what the PyTorch dropout references were made with.
 */
export function stepMasks(masks: readonly DropoutMask[], batch: number, sequence: number, seed: number, step: number, buffers?: MaskBuffers): Float32Array[] {
  return drawMasks(masks, batch, sequence, new Rng(seedFor(seed, `dropout${step}`)), buffers);
}

/** SHA-256 (hex) of the masks' float32 bytes (little-endian), in order: names a set of masks without storing it. */
export function masksDigest(masks: readonly Float32Array[]): string {
  const h = createHash('sha256');
  for (const m of masks) h.update(new Uint8Array(m.buffer, m.byteOffset, m.byteLength));
  return h.digest('hex');
}

/**
 * Storage for the masks of successive steps: each mask's buffer grows to the largest batch seen and
 * is lent out again, so a step does not allocate (and page-fault in) a BERT-base step's 300 MB of
 * masks afresh. The masks of one step are valid until the next `drawMasks` with these buffers.
 */
export class MaskBuffers {
  private readonly buffers: ArrayBuffer[] = [];

  take(i: number, n: number): Float32Array {
    if ((this.buffers[i]?.byteLength ?? -1) < 4 * n) this.buffers[i] = new ArrayBuffer(4 * n);
    return new Float32Array(this.buffers[i]!, 0, n);
  }
}

export function maskDims(m: DropoutMask, batch: number, sequence: number): number[] {
  return m.dims.map((d) => (d === 'batch' ? batch : d === 'sequence' ? sequence : Number(d)));
}
