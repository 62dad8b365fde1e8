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
