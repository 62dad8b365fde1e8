import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { familyOf } from '../../src/architectures/registry.js';
import { loadCheckpoint, type Checkpoint } from '../../src/checkpoint/load.js';
import { emitEncoder, FUSED_OPS, PLAIN_OPS, type EncoderOps } from '../../src/graph/bert-graph.js';
import { encodeModel, GraphBuilder } from '../../src/graph/onnx-builder.js';
import { quantizeGraph } from '../../src/graph/quantize.js';
import { padBatch } from '../../src/runtime/batch.js';
import { createSession, int64Tensor, runSession } from '../../src/runtime/session.js';
import { FIXTURES, tempDir } from '../helpers/fixtures.js';

/**
 * One check for every family fixture in fixtures/family/<name>: token ids exact for every input,
 * then logits / [CLS] hidden / pooled / per-token hidden values within 1e-4 of reference.json
 * (PyTorch), with plain ONNX and with the fused com.microsoft kernels, each input alone and all of
 * them as one right-padded batch; int8 runs and agrees roughly.
 */

const TOL = 1e-4;

export interface FamilyInput {
  id: string;
  text: string;
  text_pair: string | null;
  input_ids: number[];
  token_type_ids: number[];
  attention_mask: number[];
  position_ids?: number[];
  tokens: string[];
  logits?: number[];
  probs?: number[];
  predicted_label?: string;
  cls_hidden_first8: number[];
  pooled_first8?: number[];
  hidden_first4_per_token?: number[][];
  last_hidden_first8?: number[];
}

export interface FamilyReference {
  model: string;
  architecture: string;
  model_type: string;
  id2label?: Record<string, string>;
  inputs: FamilyInput[];
  padded_batch?: { members: string[]; input_ids: number[][]; attention_mask: number[][]; logits?: number[][]; cls_hidden_first8: number[][] };
}

export function familyFixture(name: string): string {
  return path.join(FIXTURES, 'family', name);
}

/** A writable copy of a family fixture without some of its files (e.g. a folder with only the slow tokenizer files). */
export function familyFixtureWithout(name: string, drop: readonly string[]): string {
  const src = familyFixture(name);
  const dir = path.join(tempDir('bertfuse-family-without-'), name);
  fs.mkdirSync(dir);
  for (const f of fs.readdirSync(src)) if (!drop.includes(f)) fs.copyFileSync(path.join(src, f), path.join(dir, f));
  return dir;
}

export function familyReference(name: string): FamilyReference {
  return JSON.parse(fs.readFileSync(path.join(familyFixture(name), 'reference.json'), 'utf8')) as FamilyReference;
}

function assertClose(actual: ArrayLike<number>, expected: readonly number[], what: string, tol = TOL): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i]! - expected[i]!);
    assert.ok(d <= tol, `${what}[${i}]: ${actual[i]} vs PyTorch ${expected[i]} (|diff| ${d.toExponential(2)} > ${tol})`);
  }
}

/** The graph with every value the reference pins: logits, cls, pooled, all hidden states. */
export function referenceGraph(ckpt: Checkpoint, ops: EncoderOps, int8 = false): Uint8Array {
  const g = new GraphBuilder('family_reference');
  const family = familyOf(ckpt.config);
  const inputs = {
    inputIds: g.input('input_ids', 'int64', ['batch', 'sequence']),
    attentionMask: g.input('attention_mask', 'int64', ['batch', 'sequence']),
    tokenTypeIds: family.tokenizer.tokenTypes ? g.input('token_type_ids', 'int64', ['batch', 'sequence']) : null,
  };
  const out = emitEncoder(g, ckpt, inputs, { ops });
  if (int8) quantizeGraph(g);
  if (out.logits) g.output(out.logits, 'logits', 'float', ckpt.config.task === 'mlm' ? ['batch', 'sequence', ckpt.config.vocabSize] : ['batch', ckpt.config.labels!.length]);
  if (out.pooled) g.output(out.pooled, 'pooled', 'float', ['batch', ckpt.config.hiddenSize]);
  g.output(out.cls, 'cls_hidden', 'float', ['batch', ckpt.config.hiddenSize]);
  g.output(out.hidden, 'hidden', 'float', ['batch', 'sequence', ckpt.config.hiddenSize]);
  return encodeModel(g.toModel());
}

type Outputs = Record<string, { data: Float32Array; dims: readonly number[] }>;

async function runRows(session: Awaited<ReturnType<typeof createSession>>, rows: { inputIds: number[]; tokenTypeIds: number[] }[], padId: number): Promise<Outputs> {
  const b = padBatch(rows, padId);
  const feeds: Record<string, ReturnType<typeof int64Tensor>> = { input_ids: int64Tensor(b.inputIds, b.dims), attention_mask: int64Tensor(b.attentionMask, b.dims) };
  if (session.inputNames.includes('token_type_ids')) feeds['token_type_ids'] = int64Tensor(b.tokenTypeIds, b.dims);
  return (await runSession(session, feeds, session.outputNames)) as Outputs;
}

function checkRow(out: Outputs, row: number, x: FamilyInput, labels: readonly string[] | null, what: string): void {
  const H = out['cls_hidden']!.dims[1]!;
  const cls = out['cls_hidden']!.data.subarray(row * H, (row + 1) * H);
  assertClose(cls.subarray(0, 8), x.cls_hidden_first8, `${what} ${x.id} cls_hidden_first8`);
  if (x.logits && labels) {
    const k = labels.length;
    const logits = out['logits']!.data.subarray(row * k, (row + 1) * k);
    assertClose(logits, x.logits, `${what} ${x.id} logits`);
    assert.equal(labels[logits.indexOf(Math.max(...logits))], x.predicted_label, `${what} ${x.id} predicted label`);
  }
  if (x.pooled_first8) assertClose(out['pooled']!.data.subarray(row * H, row * H + 8), x.pooled_first8, `${what} ${x.id} pooled_first8`);
  const [, S] = out['hidden']!.dims as [number, number, number];
  const tokenRow = (t: number): Float32Array => out['hidden']!.data.subarray((row * S + t) * H, (row * S + t + 1) * H);
  if (x.hidden_first4_per_token) x.hidden_first4_per_token.forEach((v, t) => assertClose(tokenRow(t).subarray(0, 4), v, `${what} ${x.id} hidden[${t}]`));
  if (x.last_hidden_first8) assertClose(tokenRow(x.input_ids.length - 1).subarray(0, 8), x.last_hidden_first8, `${what} ${x.id} last_hidden_first8`);
}

/** The whole conformance suite of one family fixture. */
export function describeFamilyFixture(name: string, opts: { architecture: string; family: string }): void {
  describe(`${name} (${opts.architecture}) matches PyTorch reference.json`, () => {
    const ref = familyReference(name);
    const ckpt = loadCheckpoint(familyFixture(name));
    after(() => ckpt.close());

    test('config: family, architecture and sizes', () => {
      assert.equal(ckpt.config.family, opts.family);
      assert.equal(ckpt.config.architecture, opts.architecture);
      assert.equal(ref.architecture, opts.architecture);
      if (ref.id2label) assert.deepEqual(ckpt.config.labels, Object.values(ref.id2label));
    });

    test('token ids and tokens are exact for every input (empty, truncated, pair, accents/CJK/emoji, specials inline)', () => {
      for (const x of ref.inputs) {
        const enc = ckpt.tokenizer.encode({ text: x.text, textPair: x.text_pair });
        assert.deepEqual(enc.inputIds, x.input_ids, `${x.id}: input_ids`);
        // HF's type ids (RoBERTa / XLM-R pairs: all 0, where tokenizers.js says 1), even where the graph takes none.
        assert.deepEqual(enc.tokenTypeIds, x.token_type_ids, `${x.id}: token_type_ids`);
        assert.deepEqual(ckpt.tokenizer.tokens(enc.inputIds), x.tokens, `${x.id}: tokens`);
      }
      assert.equal(ref.inputs.find((x) => x.id === 'long_300_words_truncated')!.input_ids.length, 128);
    });

    for (const [opsName, ops] of [['plain ONNX', PLAIN_OPS], ['fused kernels', FUSED_OPS]] as const) {
      test(`${opsName}: every input alone and the padded batch within 1e-4`, async () => {
        const session = await createSession(referenceGraph(ckpt, ops), { optimization: 'all' });
        try {
          // Graph inputs: families without token types have none.
          assert.equal(session.inputNames.includes('token_type_ids'), familyOf(ckpt.config).tokenizer.tokenTypes);
          for (const x of ref.inputs) {
            const out = await runRows(session, [{ inputIds: x.input_ids, tokenTypeIds: x.token_type_ids }], ckpt.tokenizer.padId);
            checkRow(out, 0, x, ckpt.config.labels, opsName);
          }
          const all = ref.inputs;
          const batch = await runRows(session, all.map((x) => ({ inputIds: x.input_ids, tokenTypeIds: x.token_type_ids })), ckpt.tokenizer.padId);
          all.forEach((x, i) => checkRow(batch, i, x, ckpt.config.labels, `${opsName} padded batch`));
          if (ref.padded_batch?.logits) {
            const pb = ref.padded_batch;
            const k = ckpt.config.labels!.length;
            pb.members.forEach((id, r) => {
              const i = all.findIndex((x) => x.id === id);
              assertClose(batch['logits']!.data.subarray(i * k, (i + 1) * k), pb.logits![r]!, `${opsName} padded_batch ${id} logits`);
            });
          }
        } finally {
          await session.release();
        }
      });
    }

    test('int8 (quantised encoder) runs and agrees roughly with the reference', async () => {
      if (!ckpt.config.labels) return;
      const session = await createSession(referenceGraph(ckpt, FUSED_OPS, true));
      try {
        let agree = 0;
        let maxErr = 0;
        for (const x of ref.inputs) {
          const out = await runRows(session, [{ inputIds: x.input_ids, tokenTypeIds: x.token_type_ids }], ckpt.tokenizer.padId);
          const logits = out['logits']!.data;
          x.logits!.forEach((v, j) => (maxErr = Math.max(maxErr, Math.abs(logits[j]! - v))));
          if (ckpt.config.labels![logits.indexOf(Math.max(...logits))] === x.predicted_label) agree++;
        }
        assert.ok(maxErr < 0.25, `int8 max logit error ${maxErr}`);
        assert.ok(agree >= ref.inputs.length - 2, `int8 agrees on ${agree}/${ref.inputs.length} labels`);
      } finally {
        await session.release();
      }
    });
  });
}
