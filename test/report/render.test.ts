/**
 * The report without a browser: input checks (one line naming the file and the JSON path, nothing
 * written), atomic and deterministic writes, the row limit, three labels, the CLI. Results come from
 * the library's `evaluate` on synthetic member logits (fast); browser.test.ts uses real models.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { evaluate, type EvalInput, type EvalSplit } from '../../src/eval/evaluate.js';
import { chooseMethods } from '../../src/eval/methods.js';
import { summarise, type EvalResult } from '../../src/eval/result.js';
import type { MemberOutputs, MemberRows } from '../../src/fusion/types.js';
import { FUSION_METHODS } from '../../src/fusion/registry.js';
import { confidenceFloor } from '../../src/report/charts/reliability.js';
import { ticks } from '../../src/report/charts/scale.js';
import { esc } from '../../src/report/html.js';
import { EVAL_FILE, loadReportInput } from '../../src/report/load.js';
import { renderReport } from '../../src/report/render.js';
import { writeReport } from '../../src/report/write.js';
import { Rng } from '../../src/util/rng.js';
import { isOneLineError, runCli } from '../helpers/cli.js';
import { expectRefused, tempLeftovers } from '../helpers/corrupt.js';

/** Members whose logits point at the gold label with the given strength, plus noise. */
function synthetic(labels: readonly string[], n: number, seed: number): EvalInput {
  const k = labels.length;
  const rng = new Rng(seed);
  const gold = Int32Array.from({ length: n }, () => rng.int(k));
  const member = (name: string, strength: number, cost: number): MemberRows => {
    const logits = new Float64Array(n * k);
    for (let i = 0; i < n; i++) for (let j = 0; j < k; j++) logits[i * k + j] = (j === gold[i] ? strength : 0) + rng.normal();
    return { name, logits, pooled: null, cls: null, hiddenSize: 0, cost };
  };
  const outputs: MemberOutputs = { n, k, members: [member('alpha', 1.6, 1), member('beta', 1.1, 2.5)] };
  const split: EvalSplit = { path: `synthetic-${seed}.tsv`, inputs: Array.from({ length: n }, (_, i) => ({ text: `row ${i}`, textPair: i % 7 === 0 ? `pair ${i}` : null })), gold, outputs };
  return {
    labels,
    members: outputs.members.map((m) => ({ name: m.name, source: `models/${m.name}`, group: 0, ownLabels: labels, flops: m.cost * 1e9, meanTokens: 12, cost: m.cost })),
    fit: split,
    eval: null,
  };
}

function syntheticResult(labels: readonly string[], n: number, seed: number): EvalResult {
  const methods = chooseMethods(FUSION_METHODS.filter((m) => ['mean', 'weighted', 'vote'].includes(m.name)), 'all', {});
  return evaluate(synthetic(labels, n, seed), methods, { folds: 4, seed: 0 }).result;
}

/** A combined-folder manifest as src/artifact/manifest.ts reads it (no model: the report never opens one). */
function manifest(result: EvalResult, metrics: boolean): Record<string, unknown> {
  return {
    format: 'bertfuse-combined',
    formatVersion: 1,
    tool: { name: 'bertfuse', version: '0.1.0' },
    labels: result.labels,
    model: { file: 'model.onnx', inputs: ['input_ids', 'attention_mask', 'token_type_ids'], outputs: ['logits'], opset: 17, externalData: null, transformersLayout: true },
    tokenizers: [{ group: 0, suffix: '', dir: '.', maxLength: 128, fingerprint: 'f', files: [] }],
    members: result.members.map((m) => ({ name: m.name, source: m.source, sha256: '0', weightFiles: [], group: 0, labels: result.labels, alignment: result.labels.map((_, j) => j), output: `logits_${m.name}`, architecture: 'BertForSequenceClassification', hiddenSize: 64, numLayers: 2, vocabSize: 8192 })),
    method: { name: 'weighted', options: {}, params: {} },
    metrics: metrics ? summarise(result) : null,
  };
}

const count = (html: string, needle: string): number => html.split(needle).length - 1;

describe('report rendering and input checks', () => {
  let tmp: string;
  let result: EvalResult;
  let evalFile: string;

  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bertfuse-report-render-'));
    result = syntheticResult(['neg', 'pos'], 160, 3);
    evalFile = path.join(tmp, 'eval.json');
    fs.writeFileSync(evalFile, JSON.stringify(result, null, 2));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  test('esc, ticks and the confidence floor', () => {
    assert.equal(esc(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
    assert.deepEqual(ticks(0.5, 1, 5), [0.5, 0.6, 0.7, 0.8, 0.9, 1]);
    assert.deepEqual(ticks(0, 1, 5), [0, 0.2, 0.4, 0.6, 0.8, 1]);
    assert.deepEqual(ticks(0.78, 0.88, 6), [0.78, 0.8, 0.82, 0.84, 0.86, 0.88]);
    assert.deepEqual([2, 3, 4, 10, 20].map(confidenceFloor), [0.5, 0.3, 0.2, 0.1, 0]);
  });

  test('one chart per row, one bar per non-empty bin, k×k cells; same input gives the same bytes', () => {
    const a = path.join(tmp, 'a.html');
    const b = path.join(tmp, 'b.html');
    const w = writeReport(evalFile, a);
    writeReport(evalFile, b);
    const html = fs.readFileSync(a, 'utf8');
    assert.equal(w.bytes, Buffer.byteLength(html));
    assert.ok(fs.readFileSync(b).equals(fs.readFileSync(a)), 'deterministic: no timestamps, stable order');
    assert.equal(count(html, '<svg class="chart reliability"'), result.rows.length);
    assert.equal(count(html, '<rect class="bar"'), result.rows.reduce((s, r) => s + r.reliability.filter((x) => x.count > 0).length, 0));
    assert.equal(count(html, '<svg class="chart confusion"'), result.rows.length);
    assert.equal(count(html, '<rect class="cell '), result.rows.length * 4);
    assert.equal(count(html, '<svg class="chart cost"'), 1);
    assert.ok(!/<script|<link|<img|url\(|@import|https?:\/\/(?!www\.w3\.org\/2000\/svg)/i.test(html), 'no script and no external resource');
    assert.deepEqual(tempLeftovers(tmp), []);
  });

  test('three labels: the x axis starts at 1/3 rounded down, cells show the full distribution', () => {
    const r3 = syntheticResult(['red', 'green', 'blue'], 150, 5);
    const html = renderReport(loadReportInput(writeJsonFile(path.join(tmp, 'r3.json'), r3)));
    assert.equal(count(html, '<rect class="cell '), r3.rows.length * 9);
    assert.match(html, /<g class="axis x">(<line[^>]*\/>)?<text class="tick"[^>]*>0\.3<\/text>/);
    assert.ok(r3.disagreements.length > 0);
    assert.equal(count(html, '<span class="dist">'), r3.disagreements.length * r3.rows.length);
  });

  test('a weight-merge row (kind "merge") is drawn like any method, with its own marker and column', () => {
    const input = synthetic(['neg', 'pos'], 120, 9);
    const k = 2;
    const a = input.fit.outputs.members[0]!.logits;
    const b = input.fit.outputs.members[1]!.logits;
    // Stand-in merged model: softmax of the mean logits, as an external row evaluate() scores.
    const probs = new Float64Array(a.length);
    for (let i = 0; i < a.length; i += k) {
      const z = [0, 1].map((j) => (a[i + j]! + b[i + j]!) / 2);
      const e = z.map((v) => Math.exp(v - Math.max(...z)));
      for (let j = 0; j < k; j++) probs[i + j] = e[j]! / (e[0]! + e[1]!);
    }
    const methods = chooseMethods(FUSION_METHODS.filter((m) => m.name === 'mean'), 'all', {});
    const r = evaluate(input, methods, { folds: 4, seed: 0, external: [{ name: 'linear-merge', kind: 'merge', scoring: 'direct', probs, cost: 1 }] }).result;
    const html = renderReport(loadReportInput(writeJsonFile(path.join(tmp, 'merge.json'), r)));
    assert.equal(count(html, '<svg class="chart reliability"'), 4);
    const chart = html.slice(html.indexOf('<svg class="chart cost"'));
    assert.equal(count(chart.slice(0, chart.indexOf('</svg>')), '<use class="pt method pareto" href="#mark-other"') + count(chart.slice(0, chart.indexOf('</svg>')), '<use class="pt method" href="#mark-other"'), 1, 'the merge is a square in the chart');
    assert.ok(chart.includes('<rect id="mark-other"'), 'the square is defined once in the chart');
    assert.ok(html.includes('<th class="method-col">linear-merge</th>'));
    assert.match(html, /<\/svg> merge<\/span>/, 'legend names the kind');
  });

  test('--max-rows caps the disagreement table and says so', () => {
    assert.ok(result.disagreements.length > 5);
    const html = renderReport(loadReportInput(evalFile), { maxRows: 5 });
    const table = html.slice(html.indexOf('<table class="disagreements">'));
    assert.equal(count(table.slice(0, table.indexOf('</table>')), '<tr>'), 1 + 5);
    assert.ok(html.includes(`${result.disagreements.length} of ${result.data.fit.n} rows`));
    assert.ok(html.includes('the first 5 are listed'));
  });

  test('combined folder: eval.json wins over the summary; summary alone says per-row details are absent', () => {
    const dir = path.join(tmp, 'combined');
    fs.mkdirSync(dir);
    const m = manifest(result, true);
    // A summary without Pareto marks (older writers): recomputed from accuracy and cost.
    const rows = (m['metrics'] as { rows: Record<string, unknown>[] }).rows;
    for (const r of rows) delete r['pareto'];
    writeJsonFile(path.join(dir, 'bertfuse.json'), m);
    assert.deepEqual(loadReportInput(dir).rows.map((r) => r.pareto), result.rows.map((r) => r.pareto), 'Pareto marks recomputed from the summary match');
    // Marks the summary carries are taken as written.
    for (const r of rows) r['pareto'] = true;
    writeJsonFile(path.join(dir, 'bertfuse.json'), m);
    assert.ok(loadReportInput(dir).rows.every((r) => r.pareto));
    writeJsonFile(path.join(dir, 'bertfuse.json'), manifest(result, true));
    const summary = loadReportInput(dir);
    assert.equal(summary.disagreements, null);
    assert.equal(summary.exported, 'weighted');
    const html = renderReport(summary);
    assert.ok(html.includes('Per-row details are absent'));
    assert.equal(count(html, '<svg class="chart reliability"'), 0);
    assert.equal(count(html, '<svg class="chart cost"'), 1);
    assert.deepEqual(loadReportInput(path.join(dir, 'bertfuse.json')).rows, summary.rows, 'the manifest file itself works too');
    fs.copyFileSync(evalFile, path.join(dir, EVAL_FILE));
    const full = loadReportInput(dir);
    assert.equal(full.disagreements?.length, result.disagreements.length);
    assert.equal(full.exported, 'weighted');
  });

  test('bad inputs: one line naming the file and the JSON path; nothing written, an old report kept', async () => {
    const out = path.join(tmp, 'bad', 'report.html');
    const write = (file: string) => () => writeReport(file, out);
    const edited = (name: string, edit: (r: Record<string, unknown>) => void): string => {
      const r = JSON.parse(JSON.stringify(result)) as Record<string, unknown>;
      edit(r);
      return writeJsonFile(path.join(tmp, name), r);
    };
    const rows = (r: Record<string, unknown>) => r['rows'] as Record<string, unknown>[];
    await expectRefused(write(path.join(tmp, 'nope.json')), { code: 'E_MISSING_FILE', names: 'nope.json', pattern: /no such file/ }, [out]);
    fs.writeFileSync(path.join(tmp, 'broken.json'), '{"version": 1,');
    await expectRefused(write(path.join(tmp, 'broken.json')), { code: 'E_BAD_INPUT', names: 'broken.json', pattern: /not valid JSON/ }, [out]);
    await expectRefused(write(edited('v2.json', (r) => (r['version'] = 2))), { code: 'E_BAD_INPUT', names: 'v2.json', pattern: /version: expected an eval result of version 1/ }, [out]);
    await expectRefused(write(edited('conf.json', (r) => ((rows(r)[2]!['confusion'] as number[][])[1] = [3]))), { code: 'E_BAD_INPUT', names: 'conf.json', pattern: /rows\[2\]\.confusion\[1\]: expected 2 counts, got 1/ }, [out]);
    await expectRefused(write(edited('acc.json', (r) => (rows(r)[0]!['accuracy'] = 'high'))), { code: 'E_BAD_INPUT', names: 'acc.json', pattern: /rows\[0\]\.accuracy: expected a finite number/ }, [out]);
    await expectRefused(
      write(edited('prob.json', (r) => (((r['disagreements'] as Record<string, unknown>[])[0]!['members'] as Record<string, number[]>)['alpha'] = [1.5, -0.5]))),
      { code: 'E_BAD_INPUT', names: 'prob.json', pattern: /disagreements\[0\]\.members\.alpha\[0\]: 1\.5 is outside \[0, 1\]/ },
      [out],
    );
    await expectRefused(write(edited('gold.json', (r) => ((r['disagreements'] as Record<string, unknown>[])[0]!['gold'] = 'maybe'))), { code: 'E_BAD_INPUT', names: 'gold.json', pattern: /"maybe" is not one of the labels/ }, [out]);
    await expectRefused(write(tmp), { code: 'E_BAD_INPUT', names: tmp, pattern: /not a combined model folder/ }, [out]);
    const empty = path.join(tmp, 'combined-empty');
    fs.mkdirSync(empty);
    writeJsonFile(path.join(empty, 'bertfuse.json'), manifest(result, false));
    await expectRefused(write(empty), { code: 'E_BAD_INPUT', names: empty, pattern: /has no metrics to report/ }, [out]);

    await expectRefused(() => writeReport(evalFile, evalFile), { code: 'E_USAGE', names: 'eval.json', pattern: /--out is the input itself/ });
    assert.doesNotThrow(() => JSON.parse(fs.readFileSync(evalFile, 'utf8')), 'the eval result was not overwritten');
    await expectRefused(() => writeReport(evalFile, tmp), { code: 'E_USAGE', names: tmp, pattern: /is a folder/ });
    const kept = path.join(tmp, 'kept.html');
    fs.writeFileSync(kept, 'previous report');
    await expectRefused(() => writeReport(path.join(tmp, 'v2.json'), kept), { code: 'E_BAD_INPUT', names: 'v2.json', pattern: /version/ });
    assert.equal(fs.readFileSync(kept, 'utf8'), 'previous report');
    assert.deepEqual(tempLeftovers(tmp), []);
  });

  test('CLI: writes the file and says so; a bad input is one line on stderr', async () => {
    const out = path.join(tmp, 'cli', 'report.html');
    const ok = await runCli(['report', evalFile, '--out', out]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, new RegExp(`^wrote .*report\\.html \\(\\d+ KiB\\): ${result.rows.length} rows scored, ${result.disagreements.length} disagreements\\n$`));
    assert.ok(fs.readFileSync(out, 'utf8').startsWith('<!DOCTYPE html>'));
    const bad = await runCli(['report', path.join(tmp, 'missing.json'), '--out', path.join(tmp, 'cli', 'x.html')]);
    assert.ok(isOneLineError(bad), bad.stderr);
    assert.match(bad.stderr, /missing\.json: no such file or folder/);
    assert.ok(!fs.existsSync(path.join(tmp, 'cli', 'x.html')));
  });
});

function writeJsonFile(file: string, value: unknown): string {
  fs.writeFileSync(file, JSON.stringify(value, null, 2));
  return file;
}
