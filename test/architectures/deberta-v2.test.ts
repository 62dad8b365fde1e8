import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { debertaV2Prefix, debertaV2Tensors, emitDebertaV2, parseDebertaV2Config, type DebertaV2Weights } from '../../src/architectures/deberta-v2.js';
import { SafetensorsFile } from '../../src/checkpoint/safetensors.js';
import { logBucket, relativeIndexTable } from '../../src/graph/relative-position.js';
import { buildGraph, checkRow, familyFixture, familyReference, fixtureTokenizer, runPadded } from './family-reference.js';

const TOL = 1e-4;
const NAME = 'deberta-sst2';

function open(): DebertaV2Weights & { close(): void } {
  const dir = familyFixture(NAME);
  const config = parseDebertaV2Config(JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as Record<string, unknown>, path.join(dir, 'config.json'));
  const tensors = SafetensorsFile.open(path.join(dir, 'model.safetensors'));
  return { config, tensors, prefix: debertaV2Prefix(tensors), close: () => tensors.close() };
}

describe('relative-position buckets (DeBERTa log buckets)', () => {
  test("bucket boundaries are the fixtures README's table, |δ| = 0…127", () => {
    // 0–16→itself, 17–18→17, 19–21→18, …, 111–127→31 (position_buckets 32, max_position 128).
    const starts = [17, 19, 22, 25, 28, 32, 37, 43, 49, 56, 64, 74, 84, 97, 111];
    for (let d = 0; d <= 127; d++) {
      const want = d <= 16 ? d : 16 + starts.filter((s) => s <= d).length;
      assert.equal(logBucket(d, 32, 128), want, `|δ| = ${d}`);
      assert.equal(logBucket(-d, 32, 128), -want, `δ = -${d}`);
    }
  });

  test('the index table saturates: every δ beyond its reach reads the same row', () => {
    const spec = { buckets: 32, maxRelativePositions: 128 };
    const { table, reach } = relativeIndexTable(spec);
    assert.equal(table.length, 2 * reach + 1);
    assert.equal(table[0], 0);
    assert.equal(table[table.length - 1], 63);
    assert.equal(table[reach], 32, 'δ = 0 reads row span');
    for (const d of [reach + 1, 1000, 100000]) assert.equal(Math.min(Math.max(logBucket(d, 32, 128) + 32, 0), 63), 63);
    // Without buckets: plain distances clamped to ±span.
    const plain = relativeIndexTable({ buckets: -1, maxRelativePositions: 8 });
    assert.deepEqual([plain.reach, plain.table[0], plain.table[plain.reach], plain.table.at(-1)], [8, 0, 8, 15]);
  });
});

describe(`${NAME} (DeBERTa-v3) matches PyTorch reference.json`, () => {
  const ref = familyReference(NAME);
  const w = open();
  after(() => w.close());
  const labels = Object.keys(ref.id2label).map((i) => ref.id2label[i]!);
  const model = (quantize = false): Uint8Array => buildGraph((g, inputs) => emitDebertaV2(g, w, inputs), w.config.hiddenSize, labels.length, quantize);

  test('config: HF fields and getattr defaults, and the tensors it implies', () => {
    const c = w.config;
    assert.deepEqual(labels, ['neg', 'pos']);
    assert.deepEqual([c.relative.buckets, c.relative.maxRelativePositions, c.normRelEmbeddings, c.positionBiasedInput, c.layerNormEps], [32, 128, true, false, 1e-7]);
    assert.deepEqual([...c.posAttType].sort(), ['c2p', 'p2c']);
    const expected = debertaV2Tensors(c, w.prefix);
    assert.deepEqual([...expected.keys()].sort(), w.tensors.names().sort());
    for (const [t, shape] of expected) assert.deepEqual(w.tensors.info(t).shape, shape, t);
    assert.throws(() => parseDebertaV2Config({ ...c.raw, share_att_key: false }, 'x/config.json'), /x\/config\.json: share_att_key: false .* is not supported/);
    assert.throws(() => parseDebertaV2Config({ ...c.raw, type_vocab_size: 2 }, 'x/config.json'), /type_vocab_size > 0 is not supported/);
  });

  test('token ids equal reference.json exactly (Unigram, Strip/Replace/Metaspace)', () => {
    const tok = fixtureTokenizer(NAME);
    for (const x of ref.inputs) {
      const enc = tok.encode({ text: x.text, textPair: x.text_pair });
      assert.deepEqual(enc.inputIds, x.input_ids, `${x.id}: input_ids`);
      assert.deepEqual(tok.tokens(enc.inputIds), x.tokens, `${x.id}: tokens`);
    }
  });

  test("each input alone: logits, probs, [CLS], pooled, and every token's hidden values within 1e-4", async () => {
    const bytes = model();
    for (const x of ref.inputs) checkRow(await runPadded(bytes, [x.input_ids], 0), 0, x, labels, TOL);
  });

  test('one right-padded batch of all 36 (dynamic shapes, log buckets up to |δ| = 127) gives the same', async () => {
    const run = await runPadded(model(), ref.inputs.map((x) => x.input_ids), w.config.padTokenId);
    assert.equal(run.seq, 128);
    ref.inputs.forEach((x, b) => checkRow(run, b, x, labels, TOL));
  });

  test('int8 quantisation runs on the graph and keeps the predictions close', async () => {
    const q = await runPadded(model(true), ref.inputs.map((x) => x.input_ids), w.config.padTokenId);
    let agree = 0;
    let worst = 0;
    ref.inputs.forEach((x, b) => {
      const l = q.out['logits']!.data.subarray(b * 2, b * 2 + 2);
      worst = Math.max(worst, Math.abs(l[0]! - x.logits![0]!), Math.abs(l[1]! - x.logits![1]!));
      if ((l[1]! > l[0]! ? labels[1] : labels[0]) === x.predicted_label) agree++;
    });
    assert.ok(agree >= 34, `int8 agrees on ${agree}/36 labels`);
    assert.ok(worst < 0.5, `int8 logit error ${worst}`);
  });
});
