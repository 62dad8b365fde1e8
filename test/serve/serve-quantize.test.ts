import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { writeCombined } from '../../src/artifact/write.js';
import { merge } from '../../src/merge/merge.js';
import { loadMembers } from '../../src/members/load.js';
import { parseMergeRecipe } from '../../src/recipe/merge.js';
import { loadClassifier } from '../../src/runtime/classifier.js';
import { predict } from '../../src/runtime/predict.js';
import { WorkerClassifier } from '../../src/runtime/worker-classifier.js';
import { createServer, type PredictResponse } from '../../src/serve/server.js';
import { fixture, tempDir } from '../helpers/fixtures.js';
import { CLEAN_EXIT, serveCli, type ServeProcess } from '../helpers/serve.js';
import { testWeightedMean } from '../members/shared.js';
import { getJson, margin, modelInfo, predictOver, sst2DevTexts } from './cli-serve.js';

/*
 * `bertfuse serve <folder> --quantize int8` against the same folder served in float32, on the 872
 * SST-2 dev sentences. Tolerance: the family int8 tests bound each logit's error by 0.25, so a
 * two-label margin (logit1 − logit0) moves by less than 0.5 and a probability by less than
 * 0.5 / 4 = 0.125 (dp/dmargin = p(1 − p) ≤ 1/4). Measured on sst2-sibling-a (batches of 32): margin
 * error ≤ 0.14, |Δp| ≤ 0.031, labels equal on 869 of 872.
 */

describe('bertfuse serve --quantize int8', () => {
  const MODEL = fixture('sst2-sibling-a');
  const texts = sst2DevTexts();
  let int8: ServeProcess;
  let fp32: ServeProcess;
  let q: PredictResponse;
  let f: PredictResponse;
  before(async () => {
    [int8, fp32] = await Promise.all([serveCli([MODEL, '--quantize', 'int8', '--threads', '1']), serveCli([MODEL, '--threads', '1'])]);
    q = await predictOver(int8.url, texts);
    f = await predictOver(fp32.url, texts);
  });
  after(async () => {
    assert.deepEqual(await Promise.all([int8?.stop(), fp32?.stop()]), [CLEAN_EXIT, CLEAN_EXIT]);
  });

  test('answers every text with the label names; close to float32 serving, not identical', () => {
    assert.deepEqual(q.labels, ['negative', 'positive']);
    assert.equal(q.model, 'sst2-sibling-a');
    assert.equal(q.predictions.length, texts.length);
    let same = 0;
    let marginErr = 0;
    let probErr = 0;
    q.predictions.forEach((p, i) => {
      const g = f.predictions[i]!;
      assert.deepEqual(Object.keys(p.probs), ['negative', 'positive']);
      if (p.label === g.label) same++;
      marginErr = Math.max(marginErr, Math.abs(margin(p.probs, q.labels) - margin(g.probs, f.labels)));
      for (const l of q.labels) probErr = Math.max(probErr, Math.abs(p.probs[l]! - g.probs[l]!));
    });
    assert.ok(same >= 0.98 * texts.length, `labels agree on ${same}/${texts.length}`);
    assert.ok(marginErr < 0.5, `margin error ${marginErr}`);
    assert.ok(probErr < 0.125, `probability error ${probErr}`);
    // An int8 graph really answers: float32 runs of one graph differ by ~1e-7, int8 by ~1e-2.
    assert.ok(probErr > 1e-4, `probability error ${probErr}: the int8 server answered like the float32 one`);
  });

  test('its answers are the int8 predict API\'s on the same batches', async () => {
    // Dynamic int8 quantises activations per batch: the same 64-text requests, cut into runs of 32 as the server does.
    const model = await loadClassifier(MODEL, { quantize: 'int8', runtime: { threads: 1 } });
    try {
      for (let at = 0; at < texts.length; at += 64) {
        const want = await predict(model, texts.slice(at, at + 64).map((text) => ({ text, textPair: null })), { batchSize: 32, maxTokens: 4096 });
        want.forEach((w, j) => {
          const got = q.predictions[at + j]!;
          assert.equal(got.label, w.label, `row ${at + j}`);
          for (const l of q.labels) assert.ok(Math.abs(got.probs[l]! - w.probs[l]!) <= 1e-6, `row ${at + j}: ${got.probs[l]} vs ${w.probs[l]}`);
        });
      }
    } finally {
      await model.close();
    }
  });

  test('/healthz, /v2 model metadata, /metrics and the listening line say int8 (and nothing of the kind in float32)', async () => {
    assert.match(int8.listening, /\(model sst2-sibling-a, int8; labels negative, positive;/);
    assert.match(fp32.listening, /\(model sst2-sibling-a; labels negative, positive;/);
    assert.deepEqual((await getJson(`${int8.url}/healthz`)).json, { status: 'ok', model: 'sst2-sibling-a', labels: ['negative', 'positive'], quantize: 'int8' });
    assert.deepEqual((await getJson(`${fp32.url}/healthz`)).json, { status: 'ok', model: 'sst2-sibling-a', labels: ['negative', 'positive'], quantize: null });
    assert.deepEqual((await getJson(`${int8.url}/v2/models/sst2-sibling-a`)).json['parameters'], { labels: ['negative', 'positive'], quantize: 'int8' });
    assert.deepEqual((await getJson(`${fp32.url}/v2/models/sst2-sibling-a`)).json['parameters'], { labels: ['negative', 'positive'] });
    assert.equal(await modelInfo(int8.url), 'bertfuse_model_info{labels="negative,positive",model="sst2-sibling-a",quantize="int8"} 1');
    assert.equal(await modelInfo(fp32.url), 'bertfuse_model_info{labels="negative,positive",model="sst2-sibling-a"} 1');
  });
});

test('folders written int8 (combine --quantize int8, merge --quantize int8) are served as written and say int8 without --quantize', async () => {
  const root = tempDir('bertfuse-serve-int8-folders-');
  const combined = path.join(root, 'combined');
  const set = loadMembers([fixture('sst2-sibling-a'), fixture('sst2-stranger-b')]);
  try {
    await writeCombined(combined, { set, method: testWeightedMean, options: {}, params: { weights: [0.5, 0.5] }, metrics: null, quantize: 'int8' });
  } finally {
    set.close();
  }
  const recipe = parseMergeRecipe({ merge_method: 'linear', quantize: 'int8', models: [{ model: fixture('sst2-sibling-a') }, { model: fixture('subj-sibling') }] }, 'test');
  const tasks = (await merge(recipe, { out: path.join(root, 'tasks'), threads: 1 })).out;
  // The worker is how serve loads a model: what it reports crosses the thread boundary.
  // --quantize int8 asked of a folder that is int8 already is accepted (a float32 one refuses it: test/artifact/combined.test.ts).
  for (const [target, opts, name, labels] of [
    [combined, {}, 'combined', ['negative', 'positive']],
    [combined, { quantize: 'int8' }, 'combined', ['negative', 'positive']],
    [tasks, { task: 'subj_sibling' }, 'tasks.subj_sibling', ['subjective', 'objective']],
    [tasks, { task: 'subj_sibling', quantize: 'int8' }, 'tasks.subj_sibling', ['subjective', 'objective']],
  ] as const) {
    const model = await WorkerClassifier.load(target, { runtime: { threads: 1 }, ...opts });
    const app = createServer(model);
    try {
      assert.equal(model.quantize, 'int8');
      assert.deepEqual((await app.inject({ method: 'GET', url: '/healthz' })).json(), { status: 'ok', model: name, labels, quantize: 'int8' });
      assert.deepEqual((await app.inject({ method: 'GET', url: `/v2/models/${name}` })).json().parameters, { labels, quantize: 'int8' });
    } finally {
      await app.close();
      await model.close();
    }
  }
});
