import type { TextInput } from '../checkpoint/tokenizer.js';
import type { MemberOutputs, MemberRows } from '../fusion/types.js';
import { buildBertModel } from '../graph/bert-model.js';
import { encodeModel } from '../graph/onnx-builder.js';
import type { QuantizeMode } from '../graph/quantize.js';
import { GraphRunner } from '../runtime/runner.js';
import type { RuntimeOptions } from '../runtime/session.js';
import { datasetFlops, relativeCosts } from './cost.js';
import type { MemberSet } from './load.js';

export interface RunMembersOptions {
  readonly batchSize?: number;
  readonly runtime?: RuntimeOptions;
  /** Run each member dynamically int8-quantised (as `combine --quantize int8` exports it). */
  readonly quantize?: QuantizeMode | null;
  /** Called after each batch of each member. */
  readonly onProgress?: (member: string, done: number, total: number) => void;
}

/** The members' outputs on one dataset plus what they cost; the cache every method is fit and scored on. */
export interface MemberRun {
  readonly outputs: MemberOutputs;
  /** FLOPs of running each member over these rows (with its own tokenizer's lengths). */
  readonly flops: readonly number[];
  /** Mean tokens per row for each member. */
  readonly meanTokens: readonly number[];
}

/**
 * Runs each member once over the inputs: logits (label-aligned, float64 for fitting), pooler output
 * and final [CLS] hidden state. Every fusion method is then fit and scored on these arrays without
 * touching a model again.
 */
export async function runMembers(set: MemberSet, inputs: readonly TextInput[], opts: RunMembersOptions = {}): Promise<MemberRun> {
  const n = inputs.length;
  const k = set.labels.length;
  const rows: Omit<MemberRows, 'cost'>[] = [];
  const flops: number[] = [];
  const meanTokens: number[] = [];
  const encodedByGroup = set.groups.map((g) => inputs.map((x) => g.tokenizer.encode(x)));
  for (const m of set.members) {
    const ckpt = m.checkpoint;
    // Said before the graph is built and its session created (seconds), so progress names this member, not the last.
    opts.onProgress?.(m.name, 0, n);
    const runner = await GraphRunner.create(encodeModel(buildBertModel(ckpt, { embeddings: true, quantize: opts.quantize ?? null })), [{ suffix: '', tokenizer: ckpt.tokenizer }], opts.runtime);
    try {
      const encoded = encodedByGroup[m.group]!;
      const out = await runner.runEncoded([encoded], {
        ...(opts.batchSize ? { batchSize: opts.batchSize } : {}),
        outputs: ['logits', 'pooled', 'cls_hidden'],
        onProgress: (d, t) => opts.onProgress?.(m.name, d, t),
      });
      const raw = out['logits']!.data;
      const ownK = m.ownLabels.length;
      const logits = new Float64Array(n * k);
      for (let i = 0; i < n; i++) for (let j = 0; j < k; j++) logits[i * k + j] = raw[i * ownK + m.alignment[j]!]!;
      const lengths = encoded.map((e) => e.inputIds.length);
      flops.push(datasetFlops(ckpt.config, lengths, k));
      meanTokens.push(n > 0 ? lengths.reduce((a, b) => a + b, 0) / n : 0);
      rows.push({ name: m.name, logits, pooled: out['pooled']!.data, cls: out['cls_hidden']!.data, hiddenSize: ckpt.config.hiddenSize });
    } finally {
      await runner.close();
    }
  }
  const costs = relativeCosts(flops);
  return { outputs: { n, k, members: rows.map((r, i) => ({ ...r, cost: costs[i]! })) }, flops, meanTokens };
}

/** The same members' outputs restricted to some rows (for folds). */
export function selectRows(outputs: MemberOutputs, rows: ArrayLike<number>): MemberOutputs {
  const n = rows.length;
  const k = outputs.k;
  const members = outputs.members.map((m): MemberRows => {
    const logits = new Float64Array(n * k);
    const H = m.hiddenSize;
    const pooled = m.pooled ? new Float32Array(n * H) : null;
    const cls = m.cls ? new Float32Array(n * H) : null;
    for (let i = 0; i < n; i++) {
      const r = rows[i]!;
      logits.set(m.logits.subarray(r * k, (r + 1) * k), i * k);
      pooled?.set(m.pooled!.subarray(r * H, (r + 1) * H), i * H);
      cls?.set(m.cls!.subarray(r * H, (r + 1) * H), i * H);
    }
    return { ...m, logits, pooled, cls };
  });
  return { n, k, members };
}
