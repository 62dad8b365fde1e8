import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { merge, type MergeResult } from '../../src/merge/merge.js';
import { parseMergeRecipe } from '../../src/recipe/merge.js';
import { WorkerClassifier } from '../../src/runtime/worker-classifier.js';
import { createServer } from '../../src/serve/server.js';
import { softmaxRows } from '../../src/util/math.js';
import { isOneLineError, runCli } from '../helpers/cli.js';
import { fixture, tempDir } from '../helpers/fixtures.js';
import { onnxLogits, referenceInputs, SST2_DEV } from './helpers.js';

/*
 * A multi-task merge (sst2-sibling-a + subj-sibling: one encoder, two heads) written with
 * `quantize: int8` predicts through `bertfuse predict` like any artifact: every head from one run of
 * its int8 model.onnx, or one head with --task (which is also how `serve` loads it). Its answers stay
 * within the int8 tolerance of the float32 merge on the 872 SST-2 dev sentences, and the merge card
 * says what was quantised and, with --eval-data, how often the int8 labels equal the float32 ones.
 */

interface TaskAnswer {
  label: string;
  score: number;
  probs: Record<string, number>;
}
interface Row {
  index: number;
  text: string;
  tasks: Record<string, TaskAnswer>;
}

const TASKS = ['sst2_sibling_a', 'subj_sibling'];
const devTexts = (): string[] => fs.readFileSync(SST2_DEV, 'utf8').split('\n').slice(1).filter((l) => l !== '').map((l) => l.split('\t')[1]!);

async function predictJson(args: readonly string[]): Promise<Row[]> {
  const r = await runCli(['predict', ...args, '--json', '--threads', '1']);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Row);
}

/** The two-label margin log(p1 / p0) = logit1 − logit0 of a task's answer. */
function margin(a: TaskAnswer): number {
  const [p0, p1] = Object.values(a.probs) as [number, number];
  return Math.log(p1 / p0);
}

function maxProbDiff(a: readonly Row[], b: readonly Row[]): number {
  let m = 0;
  a.forEach((r, i) => {
    for (const t of TASKS) for (const [l, p] of Object.entries(r.tasks[t]!.probs)) m = Math.max(m, Math.abs(p - b[i]!.tasks[t]!.probs[l]!));
  });
  return m;
}

describe('multi-task int8 merge through predict and serve', () => {
  let int8: MergeResult;
  let fp32: MergeResult;
  let texts: string;
  let dev: string[];
  let int8Rows: Row[];
  let fp32Rows: Row[];
  before(async () => {
    const root = tempDir('bertfuse-multitask-predict-');
    const fields = { merge_method: 'linear', models: [{ model: fixture('sst2-sibling-a') }, { model: fixture('subj-sibling') }] };
    const evaluate = [{ file: SST2_DEV, task: 'sst2_sibling_a' }];
    fp32 = await merge(parseMergeRecipe(fields, 'test'), { out: path.join(root, 'fp32'), threads: 1 });
    int8 = await merge(parseMergeRecipe({ ...fields, quantize: 'int8' }, 'test'), { out: path.join(root, 'int8'), threads: 1, evaluate });
    assert.deepEqual(int8.tasks.map((t) => t.task), TASKS);
    dev = devTexts();
    texts = path.join(root, 'dev.txt');
    fs.writeFileSync(texts, dev.join('\n') + '\n');
    int8Rows = await predictJson([int8.out, '--input', texts]);
    fp32Rows = await predictJson([fp32.out, '--input', texts]);
    assert.equal(int8Rows.length, dev.length);
  });

  test('predict <int8 merge> answers with every head, each from the int8 model.onnx (its output run directly, softmaxed)', async () => {
    const inputs = dev.map((text) => ({ text, textPair: null }));
    for (const t of int8.tasks) {
      const direct = softmaxRows(await onnxLogits(path.join(int8.out, 'model.onnx'), path.join(int8.out, t.folder), t.output, inputs), t.labels.length);
      int8Rows.forEach((r, i) => {
        assert.equal(r.text, dev[i]);
        assert.deepEqual(Object.keys(r.tasks[t.task]!.probs), t.labels);
        t.labels.forEach((l, j) => assert.ok(Math.abs(r.tasks[t.task]!.probs[l]! - direct[i * t.labels.length + j]!) <= 1e-6, `${t.task} row ${i}`));
      });
    }
    // The table shows one column per task.
    const table = await runCli(['predict', int8.out, '--text', 'a gorgeous , witty , seductive movie .', '--threads', '1']);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout.split('\n')[0]!, /^#\s+sst2_sibling_a\s+subj_sibling\s+text$/);
    assert.match(table.stdout.split('\n')[2]!, /^0\s+(negative|positive) 0\.\d{4}\s+(subjective|objective) 0\.\d{4}\s+a gorgeous/);
  });

  test('its answers agree with the float32 merge on the 872 SST-2 dev sentences within the int8 tolerance', () => {
    for (const t of TASKS) {
      const same = int8Rows.filter((r, i) => r.tasks[t]!.label === fp32Rows[i]!.tasks[t]!.label).length;
      // The family tests allow 2 of 36 labels to flip (5.6%); on real sentences far fewer may.
      assert.ok(same >= 0.98 * dev.length, `${t}: labels agree on ${same}/${dev.length}`);
      // |Δ logit| < 0.25 (the family tests' int8 bound) keeps the margin logit1 − logit0 within 0.5.
      const err = Math.max(...int8Rows.map((r, i) => Math.abs(margin(r.tasks[t]!) - margin(fp32Rows[i]!.tasks[t]!))));
      assert.ok(err > 1e-6 && err < 0.5, `${t}: margin error ${err}`);
    }
  });

  test('predict --quantize int8 on the float32 merge builds the same int8 graph; on the int8 merge (folder or model.onnx) it runs model.onnx', async () => {
    const built = await predictJson([fp32.out, '--input', texts, '--quantize', 'int8']);
    assert.ok(maxProbDiff(built, int8Rows) <= 1e-6, `built vs written int8: ${maxProbDiff(built, int8Rows)}`);
    assert.ok(maxProbDiff(built, fp32Rows) > 1e-5, 'the built graph is int8, not the float32 model.onnx');
    const onnxFile = await predictJson([path.join(int8.out, 'model.onnx'), '--input', texts, '--quantize', 'int8']);
    assert.ok(maxProbDiff(onnxFile, int8Rows) <= 1e-6);
    const folder = await predictJson([int8.out, '--input', texts, '--quantize', 'int8']);
    assert.ok(maxProbDiff(folder, int8Rows) <= 1e-6);
  });

  test('--task answers with one head: predict shows that head\'s labels, serve loads the same artifact and answers with it', async () => {
    const subj = await runCli(['predict', int8.out, '--task', 'subj_sibling', '--input', texts, '--json', '--threads', '1']);
    assert.equal(subj.code, 0, subj.stderr);
    const rows = subj.stdout.trim().split('\n').map((l) => JSON.parse(l) as TaskAnswer);
    rows.forEach((r, i) => assert.deepEqual({ label: r.label, score: r.score, probs: r.probs }, int8Rows[i]!.tasks['subj_sibling']));

    // Dynamic int8 quantises activations per batch, so serve is compared with predict on the same one batch of 20 texts.
    const first = path.join(path.dirname(texts), 'first20.txt');
    fs.writeFileSync(first, dev.slice(0, 20).join('\n') + '\n');
    const expected = await runCli(['predict', int8.out, '--task', 'sst2_sibling_a', '--input', first, '--json', '--threads', '1']);
    assert.equal(expected.code, 0, expected.stderr);
    const want = expected.stdout.trim().split('\n').map((l) => JSON.parse(l) as TaskAnswer);
    const model = await WorkerClassifier.load(int8.out, { runtime: { threads: 1 }, task: 'sst2_sibling_a' });
    const app = createServer(model, {});
    try {
      const url = await app.listen({ host: '127.0.0.1', port: 0 });
      const res = await fetch(`${url}/v1/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ texts: dev.slice(0, 20) }) });
      assert.equal(res.status, 200);
      const body = (await res.json()) as { labels: string[]; predictions: TaskAnswer[] };
      assert.deepEqual(body.labels, ['negative', 'positive']);
      assert.equal(body.predictions.length, 20);
      body.predictions.forEach((p, i) => {
        assert.equal(p.label, want[i]!.label);
        for (const l of body.labels) assert.ok(Math.abs(p.probs[l]! - want[i]!.probs[l]!) <= 1e-6, `row ${i}`);
      });
    } finally {
      await app.close();
      await model.close();
    }
  });

  test('the card states the int8 quantisation and the agreement the merge measured on --eval-data', () => {
    const card = fs.readFileSync(path.join(int8.out, 'README.md'), 'utf8');
    assert.match(card, /^- int8$/m);
    assert.match(card, /## Quantization\n\n`model\.onnx` is \*\*dynamically int8-quantised\*\*/);
    assert.match(card, /encoder layers. linear products \(6 matrix products and 2 attention blocks\)/);
    assert.match(card, /Embeddings, LayerNorms and every task's head \(pooler, classifier\) stay float32/);
    // The measured agreement equals what predict shows: the share of dev rows whose int8 label is the float32 label.
    const same = int8Rows.filter((r, i) => r.tasks['sst2_sibling_a']!.label === fp32Rows[i]!.tasks['sst2_sibling_a']!.label).length;
    const row = int8.evaluation.find((e) => e.kind === 'merged-int8');
    assert.ok(row);
    assert.equal(row.agreement, same / dev.length);
    assert.ok(card.includes(`| sst2_sibling_a | sst2_dev.tsv | ${((same / dev.length) * 100).toFixed(2)}% |`), card);
    // The float32 merge's card has no such section.
    const plain = fs.readFileSync(path.join(fp32.out, 'README.md'), 'utf8');
    assert.doesNotMatch(plain, /^- int8$|## Quantization/m);
  });

  test('bad input is one line: an unknown task, --task on a one-head model, --quantize on a float32 model.onnx, --members, serve without --task', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['predict', int8.out, '--task', 'sst3', '--text', 'x'], /no task "sst3" in this multi-task merge \(tasks: sst2_sibling_a, subj_sibling\)/],
      [['predict', path.join(int8.out, 'subj_sibling'), '--task', 'subj', '--text', 'x'], /task "subj" was named \(--task\), but this is not a multi-task merge: it has one head \(labels subjective, objective\)/],
      [['predict', path.join(fp32.out, 'model.onnx'), '--quantize', 'int8', '--text', 'x'], /an \.onnx file runs as it is \(give the folder .* with --quantize int8/],
      [['predict', int8.out, '--quantize', 'int4', '--text', 'x'], /--quantize must be int8, got "int4"/],
      [['predict', int8.out, '--members', '--text', 'x'], /--members needs a combined bertfuse folder; .* is a multi-task merge/],
      [['serve', int8.out, '--port', '0'], /a multi-task merge answers one task at a time here: pick a task \(bertfuse predict\/serve --task <name>; tasks: sst2_sibling_a, subj_sibling\)/],
    ];
    for (const [args, pattern] of cases) {
      const r = await runCli(args);
      assert.ok(isOneLineError(r), `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, pattern);
    }
  });
});
