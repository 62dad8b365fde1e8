import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { BertTokenizer } from '../../src/checkpoint/tokenizer.js';
import type { EncoderOutputs } from '../../src/graph/bert-graph.js';
import { encodeModel, GraphBuilder } from '../../src/graph/onnx-builder.js';
import { quantizeGraph } from '../../src/graph/quantize.js';
import { createSession, int64Tensor, runSession, type FloatOutput } from '../../src/runtime/session.js';
import { FIXTURES, type ReferenceInput } from '../helpers/fixtures.js';

/** The part-2 family fixtures' reference.json: per-token hidden values on top of the BERT schema. */
export interface FamilyInput extends ReferenceInput {
  hidden_first4_per_token: number[][];
  hidden_l2norm_per_token: number[];
}
export interface FamilyReference {
  model: string;
  id2label: Record<string, string>;
  inputs: FamilyInput[];
}

export const familyFixture = (name: string): string => path.join(FIXTURES, 'family', name);

export function familyReference(name: string): FamilyReference {
  return JSON.parse(fs.readFileSync(path.join(familyFixture(name), 'reference.json'), 'utf8')) as FamilyReference;
}

/** The folder's tokenizer.json through bertfuse's template and truncation (max length 128). */
export function fixtureTokenizer(name: string): BertTokenizer {
  const dir = familyFixture(name);
  const read = (f: string): Record<string, unknown> => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as Record<string, unknown>;
  return new BertTokenizer({ tokenizerJson: read('tokenizer.json'), tokenizerConfig: read('tokenizer_config.json'), maxLength: 128, files: {}, fingerprint: name, source: dir });
}

export type Emit = (g: GraphBuilder, inputs: { inputIds: string; attentionMask: string }) => EncoderOutputs;

/** A one-model graph: inputs input_ids / attention_mask, outputs logits, pooled, cls_hidden, hidden. */
export function buildGraph(emit: Emit, hidden: number, labels: number, quantize = false): Uint8Array {
  const g = new GraphBuilder('family_test');
  const inputs = { inputIds: g.input('input_ids', 'int64', ['batch', 'sequence']), attentionMask: g.input('attention_mask', 'int64', ['batch', 'sequence']) };
  const out = emit(g, inputs);
  if (quantize) assert.ok(quantizeGraph(g).matmuls > 0, "int8: no MatMul was quantised");
  g.output(out.logits!, 'logits', 'float', ['batch', labels]);
  g.output(out.pooled!, 'pooled', 'float', ['batch', hidden]);
  g.output(out.cls, 'cls_hidden', 'float', ['batch', hidden]);
  g.output(out.hidden, 'hidden', 'float', ['batch', 'sequence', hidden]);
  return encodeModel(g.toModel());
}

export interface BatchRun {
  readonly out: Record<string, FloatOutput>;
  readonly seq: number;
}

/** Runs the rows right-padded with `padId` to the longest. */
export async function runPadded(model: Uint8Array, rows: readonly (readonly number[])[], padId: number): Promise<BatchRun> {
  const session = await createSession(model, { threads: 1 });
  try {
    const seq = Math.max(...rows.map((r) => r.length));
    const ids = new BigInt64Array(rows.length * seq).fill(BigInt(padId));
    const mask = new BigInt64Array(rows.length * seq);
    rows.forEach((r, b) => r.forEach((id, t) => {
      ids[b * seq + t] = BigInt(id);
      mask[b * seq + t] = 1n;
    }));
    const dims = [rows.length, seq];
    return { out: await runSession(session, { input_ids: int64Tensor(ids, dims), attention_mask: int64Tensor(mask, dims) }), seq };
  } finally {
    await session.release();
  }
}

export function assertClose(actual: ArrayLike<number>, expected: readonly number[], tol: number, what: string): number {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i]! - expected[i]!);
    worst = Math.max(worst, d);
    assert.ok(d <= tol, `${what}[${i}]: ${actual[i]} vs PyTorch ${expected[i]} (|diff| ${d.toExponential(2)} > ${tol})`);
  }
  return worst;
}

/**
 * Every reference field of row `b` of a batch: logits, probabilities, label, [CLS] hidden, pooled
 * and the first 4 hidden values at every real position. Returns the largest difference seen.
 */
export function checkRow(run: BatchRun, b: number, x: FamilyInput, labels: readonly string[], tol: number): number {
  const { out, seq } = run;
  const k = labels.length;
  const H = out['cls_hidden']!.dims[1]!;
  const logits = out['logits']!.data.subarray(b * k, (b + 1) * k);
  let worst = assertClose(logits, x.logits!, tol, `${x.id} logits`);
  const m = Math.max(...logits);
  const z = [...logits].reduce((s, v) => s + Math.exp(v - m), 0);
  worst = Math.max(worst, assertClose([...logits].map((v) => Math.exp(v - m) / z), x.probs!, tol, `${x.id} probs`));
  assert.equal(labels[logits.indexOf(m)], x.predicted_label, `${x.id} predicted label`);
  worst = Math.max(worst, assertClose(out['cls_hidden']!.data.subarray(b * H, b * H + 8), x.cls_hidden_first8, tol, `${x.id} cls_hidden_first8`));
  worst = Math.max(worst, assertClose(out['pooled']!.data.subarray(b * H, b * H + 8), x.pooled_first8!, tol, `${x.id} pooled_first8`));
  const hidden = out['hidden']!.data;
  x.hidden_first4_per_token.forEach((want, t) => {
    const at = (b * seq + t) * H;
    worst = Math.max(worst, assertClose(hidden.subarray(at, at + 4), want, tol, `${x.id} hidden_first4_per_token[${t}]`));
  });
  return worst;
}
