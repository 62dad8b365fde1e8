import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { fixture, tempDir } from '../helpers/fixtures.js';

const metricsAccuracy = (name: string): number => (JSON.parse(fs.readFileSync(path.join(fixture(name), 'metrics.json'), 'utf8')) as { sst2_dev: { accuracy: number } }).sst2_dev.accuracy;

test('bertfuse demo: every method on bundled data, one combined folder, predictions from it', async () => {
  const out = path.join(tempDir(), 'demo');
  const r = await runCli(['demo', '--json', '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '', 'no progress output when stderr is not a TTY');
  const j = JSON.parse(r.stdout) as {
    out: string;
    exported: string;
    result: { rows: { name: string; kind: string; accuracy: number }[]; selection: { winner: string } };
    predictions: { text: string; label: string; fused: Record<string, number>; members: Record<string, Record<string, number>> }[];
    merges: { pair: string; merge: string; members: number[]; ensemble: number; merged: number; out: string }[];
  };
  const acc = Object.fromEntries(j.result.rows.map((x) => [x.name, x.accuracy]));
  assert.equal(acc['sst2-sibling-a'], metricsAccuracy('sst2-sibling-a'));
  assert.equal(acc['sst2-stranger-b'], metricsAccuracy('sst2-stranger-b'));
  assert.equal(j.result.rows.filter((x) => x.kind === 'fusion').length, 7);
  assert.equal(j.exported, j.result.selection.winner);
  assert.equal(j.out, out);
  assert.ok(fs.existsSync(path.join(out, 'model.onnx')) && fs.existsSync(path.join(out, 'tokenizer_1', 'tokenizer.json')));
  // The full evaluation travels with the demo's folder, for `bertfuse report`.
  assert.deepEqual(JSON.parse(fs.readFileSync(path.join(out, 'eval.json'), 'utf8')), j.result);
  assert.equal(j.predictions.length, 4);
  assert.equal(j.predictions[0]!.label, 'positive');
  assert.equal(j.predictions[1]!.label, 'negative');
  for (const p of j.predictions) {
    assert.ok(Math.abs(p.fused['negative']! + p.fused['positive']! - 1) < 1e-5);
    assert.deepEqual(Object.keys(p.members), ['sst2-sibling-a', 'sst2-stranger-b']);
  }
  // The weight-merge part: members scored as their metrics.json says; alignment rescues the strangers.
  const [siblings, plain, aligned] = j.merges;
  assert.deepEqual(siblings!.members, [metricsAccuracy('sst2-sibling-a'), metricsAccuracy('sst2-sibling-b')]);
  assert.ok(siblings!.merged > 0.79, `sibling merge ${siblings!.merged}`);
  assert.ok(aligned!.merged > plain!.merged + 0.05, `aligned ${aligned!.merged} vs plain ${plain!.merged}`);
  assert.ok(fs.existsSync(path.join(aligned!.out, 'config.json')));
});

test('demo and predict --members: a legend line right under a table that shows – (and only then); none in --json', async () => {
  const out = path.join(tempDir(), 'demo');
  const r = await runCli(['demo', '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.split('\n');
  const legend = /^– = not run on that row: the cascade's first member was sure enough to answer alone/;
  const header = lines.findIndex((l) => /^label\s+p\(positive\)\s+sst2-sibling-a\s+sst2-stranger-b\s+text$/.test(l));
  assert.ok(header > 0, r.stdout);
  // The table's four rows, then the legend: the demo's cascade skips stranger-b on the sure rows.
  const rows = lines.slice(header + 2, header + 6);
  assert.ok(rows.some((l) => / – {2}/.test(l)), rows.join('\n'));
  assert.match(lines[header + 6]!, legend);
  assert.equal(lines.filter((l) => legend.test(l)).length, 1);

  // predict --members on that folder: the legend when a row skipped the second member …
  const skipped = await runCli(['predict', out, '--members', '--text', 'a gorgeous , witty , seductive movie .']);
  assert.equal(skipped.code, 0, skipped.stderr);
  const s = skipped.stdout.trimEnd().split('\n');
  assert.match(s[2]!, /\s–\s/);
  assert.match(s[3]!, legend);
  // … none when both members ran on every row, and none in JSON.
  const ran = await runCli(['predict', out, '--members', '--text', 'the acting is fine but the script is a mess .']);
  assert.equal(ran.code, 0, ran.stderr);
  assert.doesNotMatch(ran.stdout, /–/);
  assert.equal(ran.stdout.trimEnd().split('\n').length, 3, 'header, rule, one row');
  const json = await runCli(['predict', out, '--members', '--json', '--text', 'a gorgeous , witty , seductive movie .']);
  assert.equal(json.code, 0, json.stderr);
  assert.equal((JSON.parse(json.stdout) as { members: Record<string, unknown> }).members['sst2-stranger-b'], null);
});
