import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadMultiTask } from '../../src/artifact/merged-model.js';
import { merge } from '../../src/merge/merge.js';
import { parseMergeRecipe } from '../../src/recipe/merge.js';
import type { PredictResponse } from '../../src/serve/server.js';
import { isOneLineError, runCli } from '../helpers/cli.js';
import { fixture, tempDir } from '../helpers/fixtures.js';
import { CLEAN_EXIT, serveCli, type ServeProcess } from '../helpers/serve.js';
import { getJson, margin, modelInfo, predictOver, sst2DevTexts } from './cli-serve.js';

/*
 * `bertfuse serve <multi-task merge> --task <name>` (sst2-sibling-a + subj-sibling merged linearly,
 * float32 model.onnx, two heads), with and without --quantize int8, against `bertfuse predict` of
 * the same folder and task on the same texts: the first 128 SST-2 dev sentences, sent as one
 * request (--max-texts 128) and run in batches of 32 (--max-batch 32, predict --batch-size 32), so
 * the runs hold the same rows, which dynamic int8 needs (it quantises activations per batch).
 */

interface PredictRow {
  readonly label: string;
  readonly score: number;
  readonly probs: Record<string, number>;
}

const TASKS = ['sst2_sibling_a', 'subj_sibling'];
const LABELS: Record<string, string[]> = { sst2_sibling_a: ['negative', 'positive'], subj_sibling: ['subjective', 'objective'] };

async function predictCli(args: readonly string[]): Promise<PredictRow[]> {
  const r = await runCli(['predict', ...args, '--json', '--batch-size', '32', '--threads', '1']);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim().split('\n').map((l) => JSON.parse(l) as PredictRow);
}

function assertSameAnswers(served: PredictResponse, want: readonly PredictRow[], tol: number): void {
  assert.equal(served.predictions.length, want.length);
  served.predictions.forEach((p, i) => {
    assert.equal(p.label, want[i]!.label, `row ${i}`);
    assert.deepEqual(Object.keys(p.probs), Object.keys(want[i]!.probs));
    for (const l of served.labels) assert.ok(Math.abs(p.probs[l]! - want[i]!.probs[l]!) <= tol, `row ${i} ${l}: ${p.probs[l]} vs ${want[i]!.probs[l]}`);
  });
}

describe('bertfuse serve --task on a multi-task merge', () => {
  const texts = sst2DevTexts().slice(0, 128);
  let dir: string;
  let input: string;
  let subj: ServeProcess;
  let sst2Int8: ServeProcess;
  before(async () => {
    const root = tempDir('bertfuse-serve-task-');
    const recipe = parseMergeRecipe({ merge_method: 'linear', models: [{ model: fixture('sst2-sibling-a') }, { model: fixture('subj-sibling') }] }, 'test');
    const m = await merge(recipe, { out: path.join(root, 'tasks'), threads: 1 });
    assert.deepEqual(m.tasks.map((t) => t.task), TASKS);
    dir = m.out;
    input = path.join(root, 'texts.txt');
    fs.writeFileSync(input, texts.join('\n') + '\n');
    const flags = ['--max-texts', '128', '--max-batch', '32', '--threads', '1'];
    [subj, sst2Int8] = await Promise.all([serveCli([dir, '--task', 'subj_sibling', ...flags]), serveCli([dir, '--task', 'sst2_sibling_a', '--quantize', 'int8', ...flags])]);
  });
  after(async () => {
    assert.deepEqual(await Promise.all([subj?.stop(), sst2Int8?.stop()]), [CLEAN_EXIT, CLEAN_EXIT]);
  });

  test('--task answers with that head\'s labels by name, as predict --task does on the same texts', async () => {
    const served = await predictOver(subj.url, texts, 128);
    assert.deepEqual(served.labels, LABELS['subj_sibling']);
    assertSameAnswers(served, await predictCli([dir, '--task', 'subj_sibling', '--input', input]), 1e-6);
    // The same head as predict without --task shows in its subj_sibling column.
    const every = (await predictCli([dir, '--input', input])) as unknown as { tasks: Record<string, PredictRow> }[];
    assertSameAnswers(served, every.map((r) => r.tasks['subj_sibling']!), 1e-6);
    assert.match(subj.listening, /; labels subjective, objective;/);
  });

  test('a head of the folder\'s model.onnx given as a file is named for the folder too', async () => {
    const m = await loadMultiTask(path.join(dir, 'model.onnx'), { runtime: { threads: 1 } });
    assert.ok(m, 'model.onnx of a multi-task merge loads as one');
    try {
      assert.equal(m.head('subj_sibling').name, `${path.basename(dir)}.subj_sibling`);
      assert.equal(m.source, path.join(dir, 'model.onnx'));
    } finally {
      await m.close();
    }
  });

  test('the head is named <folder>.<task> on /v1, /healthz, /metrics, and /v2 answers to that name as written', async () => {
    const name = 'tasks.subj_sibling';
    assert.deepEqual((await getJson(`${subj.url}/healthz`)).json, { status: 'ok', model: name, labels: LABELS['subj_sibling'], quantize: null });
    const one = await predictOver(subj.url, texts.slice(0, 1));
    assert.equal(one.model, name);
    const served0 = one.predictions[0]!;
    // Clients put the name into the path as it is (tritonclient quotes it keeping "/"): it must be one path segment.
    const meta = await getJson(`${subj.url}/v2/models/${name}`);
    assert.equal(meta.status, 200, JSON.stringify(meta.json));
    assert.equal(meta.json['name'], name);
    assert.deepEqual(meta.json['parameters'], { labels: LABELS['subj_sibling'] });
    const res = await fetch(`${subj.url}/v2/models/${name}/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ inputs: [{ name: 'text', datatype: 'BYTES', shape: [1], data: [texts[0]] }] }) });
    assert.equal(res.status, 200, await res.clone().text());
    const out = ((await res.json()) as { outputs: { name: string; data: unknown[] }[] }).outputs;
    assert.deepEqual(out.find((o) => o.name === 'label')?.data, [served0.label]);
    assert.equal(await modelInfo(subj.url), `bertfuse_model_info{labels="subjective,objective",model="${name}"} 1`);
  });

  test('--quantize int8 --task: the int8 head, as predict --quantize int8 --task answers; within the int8 tolerance of float32', async () => {
    const served = await predictOver(sst2Int8.url, texts, 128);
    assert.deepEqual(served.labels, LABELS['sst2_sibling_a']);
    assertSameAnswers(served, await predictCli([dir, '--task', 'sst2_sibling_a', '--quantize', 'int8', '--input', input]), 1e-6);
    const fp32 = await predictCli([dir, '--task', 'sst2_sibling_a', '--input', input]);
    // As in serve-quantize.test.ts: the family int8 bound 0.25 per logit keeps a two-label margin within 0.5.
    const err = Math.max(...served.predictions.map((p, i) => Math.abs(margin(p.probs, served.labels) - margin(fp32[i]!.probs, served.labels))));
    assert.ok(err > 1e-4 && err < 0.5, `margin error ${err}`);
    const same = served.predictions.filter((p, i) => p.label === fp32[i]!.label).length;
    assert.ok(same >= 0.98 * texts.length, `labels agree on ${same}/${texts.length}`);
    assert.equal((await getJson(`${sst2Int8.url}/healthz`)).json['quantize'], 'int8');
    assert.match(sst2Int8.listening, /, int8; labels negative, positive;/);
  });

  test('an unknown --task, or none, is refused at startup in one line naming the folder and the tasks (--task on a one-head model too)', async () => {
    const cases: Array<[string[], RegExp]> = [
      [[dir, '--task', 'sst3'], /no task "sst3" in this multi-task merge \(tasks: sst2_sibling_a, subj_sibling\)/],
      [[dir, '--task', 'sst3', '--quantize', 'int8'], /no task "sst3" in this multi-task merge \(tasks: sst2_sibling_a, subj_sibling\)/],
      // A server answers with one label set (/v1's labels, /v2's metadata): serve needs --task; predict without it shows every head.
      [[dir], /a multi-task merge answers one task at a time here: pick a task \(bertfuse predict\/serve --task <name>; tasks: sst2_sibling_a, subj_sibling\) or load a task folder \(.*\); bertfuse predict without --task answers with every head$/m],
    ];
    const single = fixture('sst2-sibling-a');
    cases.push([[single, '--task', 'sst2'], /task "sst2" was named \(--task\), but this is not a multi-task merge: it has one head \(labels negative, positive\)/]);
    const results = await Promise.all(cases.map(([args]) => runCli(['serve', ...args, '--port', '0'])));
    results.forEach((r, i) => {
      const args = cases[i]![0].join(' ');
      assert.ok(isOneLineError(r), `${args}: ${r.stderr}`);
      assert.ok(r.stderr.includes(cases[i]![0][0]!), `${args}: the message names the folder: ${r.stderr}`);
      assert.match(r.stderr, cases[i]![1]);
      assert.equal(r.stdout, '', `${args}: nothing listened`);
    });
  });
});
