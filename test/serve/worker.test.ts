import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { registerCombinedLoader } from '../../src/artifact/read.js';
import { writeCombined } from '../../src/artifact/write.js';
import { isBertfuseError } from '../../src/errors.js';
import { loadMembers } from '../../src/members/load.js';
import { AbortedError } from '../../src/runtime/aborted.js';
import { loadClassifier, type Classifier } from '../../src/runtime/classifier.js';
import { WorkerClassifier } from '../../src/runtime/worker-classifier.js';
import { MicroBatcher } from '../../src/serve/batcher.js';
import { DATA, fixture, reference, tempDir } from '../helpers/fixtures.js';
import { testWeightedMean } from '../members/shared.js';

/*
 * The model in a worker thread gives the in-process model's numbers, fails in one line, and drops
 * work whose caller went away; the micro-batcher drops queued work of aborted requests.
 */

const texts = fs.readFileSync(path.join(DATA, 'sst2_dev.tsv'), 'utf8').split('\n').slice(1, 200).map((l) => l.split('\t')[1] ?? '').filter((s) => s !== '');

function assertClose(a: Float32Array, b: Float32Array, what: string): void {
  assert.equal(a.length, b.length, what);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) <= 1e-6, `${what}[${i}]: ${a[i]} vs ${b[i]}`);
}

describe('WorkerClassifier', () => {
  let local: Classifier;
  let worker: WorkerClassifier;
  before(async () => {
    local = await loadClassifier(fixture('sst2-stranger-b'), { runtime: { threads: 1 } });
    worker = await WorkerClassifier.load(fixture('sst2-stranger-b'), { runtime: { threads: 1 } });
  });
  after(async () => {
    await local.close();
    await worker.close();
  });

  test('same name, labels and probabilities as the model loaded in process (texts and pairs, reference.json)', async () => {
    assert.equal(worker.name, local.name);
    assert.deepEqual(worker.labels, local.labels);
    const inputs = reference('sst2-stranger-b').inputs.map((x) => ({ text: x.text, textPair: x.text_pair }));
    const got = await worker.predictProba(inputs, { batchSize: 3 });
    assertClose(got, await local.predictProba(inputs, { batchSize: 3 }), 'probs');
    reference('sst2-stranger-b').inputs.forEach((x, i) => {
      if (x.probs) assert.ok(Math.abs(got[i * 2]! - x.probs[0]!) < 1e-4, x.id);
    });
    assert.equal(worker.predictDetailed, undefined);
  });

  test('an aborted call stops between model runs, and the worker keeps serving', async () => {
    const inputs = texts.map((text) => ({ text }));
    const ac = new AbortController();
    let lastDone = 0;
    const run = worker.predictProba(inputs, {
      batchSize: 2,
      signal: ac.signal,
      onProgress: (done) => {
        lastDone = done;
        if (done >= 4) ac.abort();
      },
    });
    await assert.rejects(run, AbortedError);
    assert.ok(lastDone < inputs.length, `all ${inputs.length} rows ran (last progress ${lastDone})`);
    assertClose(await worker.predictProba(inputs.slice(0, 5)), await local.predictProba(inputs.slice(0, 5)), 'after abort');
  });

  test('a folder that does not exist fails in one line with its code', async () => {
    const missing = path.join(tempDir(), 'nothing-here');
    await assert.rejects(WorkerClassifier.load(missing), (e: unknown) => isBertfuseError(e) && e.code === 'E_MISSING_FILE' && e.message.includes(missing) && !e.message.includes('\n'));
  });
});

describe('WorkerClassifier: a combined folder', () => {
  const out = path.join(tempDir(), 'combined');
  let local: Classifier;
  let worker: WorkerClassifier;
  before(async () => {
    registerCombinedLoader();
    const set = loadMembers([fixture('sst2-sibling-a'), fixture('sst2-stranger-b')]);
    try {
      await writeCombined(out, { set, method: testWeightedMean, options: {}, params: { weights: [0.7, 0.3] }, metrics: null });
    } finally {
      set.close();
    }
    local = await loadClassifier(out, { runtime: { threads: 1 } });
    worker = await WorkerClassifier.load(out, { runtime: { threads: 1 } });
  });
  after(async () => {
    await local.close();
    await worker.close();
  });

  test('fused and per-member probabilities equal the in-process model', async () => {
    const inputs = texts.slice(0, 20).map((text) => ({ text }));
    const a = await worker.predictDetailed!(inputs);
    const b = await local.predictDetailed!(inputs);
    assertClose(a.fused, b.fused, 'fused');
    assert.deepEqual(Object.keys(a.members), Object.keys(b.members));
    for (const name of Object.keys(b.members)) assertClose(a.members[name]!, b.members[name]!, name);
  });
});

describe('MicroBatcher: aborted requests', () => {
  let model: Classifier;
  before(async () => {
    model = await loadClassifier(fixture('sst2-sibling-a'), { runtime: { threads: 1 } });
  });
  after(async () => {
    await model.close();
  });

  test('a queued request that aborts leaves the queue at once; the others are answered', async () => {
    let rows = 0;
    const b = new MicroBatcher(model, { maxBatch: 64, maxWaitMs: 200, onBatch: (n) => (rows += n) });
    const ac = new AbortController();
    const gone = b.submit(texts.slice(0, 10).map((text) => ({ text })), false, ac.signal);
    const kept = b.submit(texts.slice(10, 13).map((text) => ({ text })), false, new AbortController().signal);
    assert.equal(b.pending, 13);
    ac.abort();
    await assert.rejects(gone, AbortedError);
    assert.equal(b.pending, 3);
    const r = await kept;
    assertClose(r.probs, await model.predictProba(texts.slice(10, 13).map((text) => ({ text }))), 'kept');
    assert.equal(rows, 3, 'only the remaining request was run');
  });

  test('a running request that aborts: the run in progress finishes, the rest is skipped', async () => {
    let rows = 0;
    const b = new MicroBatcher(model, { maxBatch: 64, maxWaitMs: 0, maxTokens: 64, onBatch: (n) => (rows += n) });
    const ac = new AbortController();
    const inputs = texts.slice(0, 60).map((text) => ({ text }));
    const running = b.submit(inputs, false, ac.signal);
    // Abort once the first model run has reported.
    while (rows === 0) await new Promise((r) => setImmediate(r));
    ac.abort();
    await assert.rejects(running, AbortedError);
    await b.idle();
    assert.ok(rows > 0 && rows < inputs.length, `${rows} of ${inputs.length} rows ran`);
  });
});
