import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadCheckpoint } from '../../src/checkpoint/load.js';
import { padBatch } from '../../src/runtime/batch.js';
import { GradientSession, type TrainBatch } from '../../src/train/gradient-session.js';
import { buildTrainingGraph } from '../../src/train/training-graph.js';
import { fixture } from '../helpers/fixtures.js';

// The session's output handling: gradients written into the caller's buffers (reused across
// steps whose batch shapes differ, as dynamic padding gives) equal fresh ones bit for bit, and the
// embedding tables' gradients, scattered from per-token rows by the session, agree with each other
// and are zero exactly off the batch's ids.

function batchOf(ckpt: ReturnType<typeof loadCheckpoint>, texts: string[]): TrainBatch {
  const padded = padBatch(texts.map((text) => ckpt.tokenizer.encode({ text })), ckpt.tokenizer.padId);
  const b = padded.dims[0];
  const hard = new Float32Array(b * 2);
  hard[1] = 1;
  return { ...padded, hardTargets: hard, softTargets: Float32Array.from({ length: b * 2 }, (_, i) => (i % 2 ? 0.7 : 0.3)), kdWeight: new Float32Array(b).fill(0.5) };
}

test('gradients written into reused buffers equal fresh ones across batch shapes; word-embedding rows land on the batch ids only', async () => {
  const ckpt = loadCheckpoint(fixture('sst2-sibling-a'));
  try {
    const graph = buildTrainingGraph(ckpt, { temperature: 2 });
    // The three embedding tables are gathered; their gradients come as rows, scattered by the session.
    const word = graph.params.findIndex((p) => p.tensor === 'bert.embeddings.word_embeddings.weight');
    assert.deepEqual(graph.params.filter((p) => p.gathered).map((p) => p.tensor).sort(), ['bert.embeddings.position_embeddings.weight', 'bert.embeddings.token_type_embeddings.weight', 'bert.embeddings.word_embeddings.weight']);

    const session = await GradientSession.create(graph, { threads: 2 });
    const weights = graph.params.map((p) => p.data);
    const long = batchOf(ckpt, ['a gripping , funny and deeply moving film that stays with you .', 'dull .', 'the the the film film .']);
    const short = batchOf(ckpt, ['thin .', 'worse .']);
    assert.notDeepEqual(long.dims, short.dims);

    const fresh = await session.compute(long, weights);
    // Buffers full of stale values: every element must be overwritten, the word table's too.
    const into = graph.params.map((p) => new Float32Array(p.data.length).fill(7));
    await session.compute(short, weights, [], into);
    const reused = await session.compute(long, weights, [], into);
    // onnxruntime-node answers a bare "Invalid argument" to shared memory: refused first, by name.
    const sharedInto = into.map((a) => new Float32Array(new SharedArrayBuffer(a.byteLength)));
    await assert.rejects(session.compute(long, weights, [], sharedInto), /SharedArrayBuffer/);
    await session.release();

    reused.grads.forEach((g, k) => assert.equal(g, into[k], 'the gradient is the caller\'s buffer'));
    assert.equal(reused.loss, fresh.loss);
    assert.deepEqual(reused.logits, fresh.logits);
    graph.params.forEach((p, k) => assert.deepEqual(reused.grads[k], fresh.grads[k], p.tensor));

    // The embedding sum's gradient reaches the three tables alike: summed over their rows they agree.
    const columnSums = (tensor: string): Float64Array => {
      const k = graph.params.findIndex((p) => p.tensor === tensor);
      const w = graph.params[k]!.dims[1]!;
      const sums = new Float64Array(w);
      fresh.grads[k]!.forEach((v, i) => (sums[i % w] += v));
      return sums;
    };
    const [wordSum, typeSum, positionSum] = ['word', 'token_type', 'position'].map((t) => columnSums(`bert.embeddings.${t}_embeddings.weight`));
    wordSum!.forEach((v, i) => {
      assert.ok(Math.abs(v - typeSum![i]!) < 1e-5 && Math.abs(v - positionSum![i]!) < 1e-5, `column ${i}: word ${v}, type ${typeSum![i]}, position ${positionSum![i]}`);
    });

    // Rows of ids the batch attends to carry gradient; every row of an id not in it is exactly zero
    // (padding is in the batch but masked: its row may be zero too).
    const width = graph.params[word]!.dims[1]!;
    const all = new Set(Array.from(long.inputIds, Number));
    const attended = new Set(Array.from(long.inputIds, Number).filter((_, t) => long.attentionMask[t] === 1n));
    const g = fresh.grads[word]!;
    for (let r = 0; r < g.length / width; r++) {
      const row = g.subarray(r * width, (r + 1) * width);
      if (attended.has(r)) assert.ok(row.some((v) => v !== 0), `row ${r} of an id in the batch has no gradient`);
      else if (!all.has(r)) assert.ok(row.every((v) => v === 0), `row ${r} is not in the batch but has gradient`);
    }
  } finally {
    ckpt.close();
  }
});
