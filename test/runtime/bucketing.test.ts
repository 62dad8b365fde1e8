import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type ort from 'onnxruntime-node';
import { loadCheckpoint, type Checkpoint } from '../../src/checkpoint/load.js';
import type { TextInput } from '../../src/checkpoint/tokenizer.js';
import { buildBertModel } from '../../src/graph/bert-model.js';
import { encodeModel } from '../../src/graph/onnx-builder.js';
import { planBatches } from '../../src/runtime/batch.js';
import { GraphRunner } from '../../src/runtime/runner.js';
import { Rng } from '../../src/util/rng.js';
import { DATA, fixture } from '../helpers/fixtures.js';

describe('planBatches', () => {
  const lengths = [9, 3, 7, 3, 12, 1, 7, 5, 3, 10];

  test('bucketed: every row once, batches in ascending length, ties in input order', () => {
    const batches = planBatches(lengths, 3, true);
    assert.deepEqual(batches.map((b) => b.length), [3, 3, 3, 1]);
    const flat = batches.flat();
    assert.deepEqual([...flat].sort((a, b) => a - b), lengths.map((_, i) => i));
    // Hand-sorted: 1(5) 3(1) 3(3) 3(8) 5(7) 7(2) 7(6) 9(0) 10(9) 12(4)
    assert.deepEqual(flat, [5, 1, 3, 8, 7, 2, 6, 0, 9, 4]);
  });

  test('unbucketed: consecutive rows', () => {
    assert.deepEqual(planBatches(lengths, 4, false), [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]);
  });

  test('maxTokens: no batch pads past rows × longest, except a single row longer than the bound', () => {
    for (const maxTokens of [1, 10, 12, 20, 25, 40]) {
      for (const bucket of [true, false]) {
        const batches = planBatches(lengths, 4, bucket, maxTokens);
        assert.deepEqual([...batches.flat()].sort((a, b) => a - b), lengths.map((_, i) => i), `${maxTokens}`);
        for (const b of batches) {
          assert.ok(b.length <= 4);
          const cost = b.length * Math.max(...b.map((i) => lengths[i]!));
          assert.ok(b.length === 1 || cost <= maxTokens, `batch ${JSON.stringify(b)} costs ${cost} > ${maxTokens}`);
        }
      }
    }
    // Bucketed with room for 20: 1,3,3,3 (12) | 5,7 (14) | 7,9 (18) | 10 | 12
    assert.deepEqual(planBatches(lengths, 4, true, 20), [[5, 1, 3, 8], [7, 2], [6, 0], [9], [4]]);
  });

  test('bucketing pads fewer tokens than input order', () => {
    const padded = (bs: number[][]): number => bs.reduce((s, b) => s + b.length * Math.max(...b.map((i) => lengths[i]!)), 0);
    assert.ok(padded(planBatches(lengths, 3, true)) < padded(planBatches(lengths, 3, false)));
  });
});

describe('GraphRunner restores input order after length bucketing', () => {
  let ckpt: Checkpoint;
  let runner: GraphRunner;
  /** [batch, seq] of every session.run call. */
  const shapes: number[][] = [];
  let inputs: TextInput[];

  before(async () => {
    ckpt = loadCheckpoint(fixture('sst2-sibling-a'));
    runner = await GraphRunner.create(encodeModel(buildBertModel(ckpt, { embeddings: true })), [{ suffix: '', tokenizer: ckpt.tokenizer }]);
    const session = runner.session as { run: (feeds: Record<string, ort.Tensor>, fetches?: string[]) => Promise<unknown> };
    const run = session.run.bind(session);
    session.run = (feeds, fetches) => {
      shapes.push([...feeds['input_ids']!.dims]);
      return run(feeds, fetches);
    };
    // 45 dev sentences in a shuffled order (lengths 3..~60 wordpieces), plus a pair and an empty text.
    const lines = fs.readFileSync(path.join(DATA, 'sst2_dev.tsv'), 'utf8').split('\n').slice(1, 46).map((l) => l.split('\t')[1]!);
    const rng = new Rng(5);
    for (let i = lines.length - 1; i > 0; i--) {
      const j = Math.floor(rng.next() * (i + 1));
      [lines[i], lines[j]] = [lines[j]!, lines[i]!];
    }
    inputs = [...lines.map((text) => ({ text })), { text: 'a pair', textPair: 'with a second , longer text in it' }, { text: '' }];
  });
  after(async () => {
    await runner.close();
    ckpt.close();
  });

  test('bucketed batches give every row the result of running it alone', async () => {
    shapes.length = 0;
    const alone: Record<string, { data: Float32Array }>[] = [];
    for (const x of inputs) alone.push(await runner.run([x], { outputs: ['logits', 'cls_hidden'] }));
    const lengths = inputs.map((x) => ckpt.tokenizer.encode(x).inputIds.length);
    assert.deepEqual(shapes.map((s) => s[1]), lengths, 'single runs are unpadded');

    shapes.length = 0;
    const out = await runner.run(inputs, { batchSize: 6, bucket: true, outputs: ['logits', 'cls_hidden'] });
    // The batches really were length-sorted: each pads to at most the next batch's shortest row.
    const seqs = shapes.map((s) => s[1]!);
    assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), 'batches come in ascending length');
    assert.ok(seqs.length === Math.ceil(inputs.length / 6));

    for (const name of ['logits', 'cls_hidden'] as const) {
      const w = out[name]!.width;
      inputs.forEach((_, i) => {
        const want = alone[i]![name]!.data;
        const got = out[name]!.data.subarray(i * w, (i + 1) * w);
        want.forEach((v, j) => assert.ok(Math.abs(got[j]! - v) <= 1e-5, `row ${i} ${name}[${j}]: ${got[j]} vs alone ${v}`));
      });
    }
  });

  test('bucketing pads fewer tokens than input order, and both give the same rows', async () => {
    const total = (): number => shapes.reduce((s, [b, t]) => s + b! * t!, 0);
    shapes.length = 0;
    const bucketed = await runner.run(inputs, { batchSize: 8, bucket: true, outputs: ['logits'] });
    const bucketedTokens = total();
    shapes.length = 0;
    const ordered = await runner.run(inputs, { batchSize: 8, bucket: false, outputs: ['logits'] });
    const orderedTokens = total();
    shapes.length = 0;
    const padded = await runner.run(inputs, { batchSize: 8, padTo: 128, outputs: ['logits'] });
    assert.ok(shapes.every(([, t]) => t === 128));
    assert.ok(bucketedTokens < orderedTokens, `${bucketedTokens} vs ${orderedTokens} padded tokens`);
    bucketed['logits']!.data.forEach((v, i) => {
      assert.ok(Math.abs(v - ordered['logits']!.data[i]!) <= 1e-5);
      assert.ok(Math.abs(v - padded['logits']!.data[i]!) <= 1e-5);
    });
  });
});
