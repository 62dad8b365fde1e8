import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { registerCombinedLoader } from '../../src/artifact/read.js';
import { writeCombined } from '../../src/artifact/write.js';
import type { TextInput } from '../../src/checkpoint/tokenizer.js';
import { readLabelled } from '../../src/data/labelled.js';
import { cascade, type CascadeParams } from '../../src/fusion/cascade.js';
import { loadMembers } from '../../src/members/load.js';
import { runMembers } from '../../src/members/run.js';
import { loadClassifier, type Classifier } from '../../src/runtime/classifier.js';
import { createServer, type PredictResponse } from '../../src/serve/server.js';
import { runCli } from '../helpers/cli.js';
import { DATA, fixture, tempDir } from '../helpers/fixtures.js';

// A cascade runs its second member only on rows where the first is unsure. On the other rows that
// member gave no answer: the library says so (ran = 0), predict --members and serve say null, and
// its probabilities on the rows it did run are its own.
describe('cascade: a member skipped on a row is shown as skipped, not as p = 0.5', () => {
  const rows: TextInput[] = readLabelled(path.join(DATA, 'sst2_dev.tsv'), { labels: ['negative', 'positive'] }).inputs.slice(0, 24);
  const out = path.join(tempDir(), 'cascade');
  let escalated: boolean[] = [];
  let second: Float64Array;
  let names: string[] = [];
  let model: Classifier;
  before(async () => {
    registerCombinedLoader();
    const set = loadMembers([fixture('sst2-sibling-a'), fixture('sst2-stranger-b')]);
    try {
      const run = await runMembers(set, rows);
      const first = run.outputs.members[0]!.logits;
      const conf = rows.map((_, r) => {
        const [a, b] = [Math.exp(first[r * 2]!), Math.exp(first[r * 2 + 1]!)];
        return Math.max(a, b) / (a + b);
      });
      // τ at the median confidence: about half the rows escalate, half stay with the first member.
      const threshold = [...conf].sort((x, y) => x - y)[Math.floor(conf.length / 2)]!;
      escalated = conf.map((c) => c < Math.fround(threshold));
      const params: CascadeParams = { temperatures: [1, 1], threshold, fallback: 'mean' };
      second = run.outputs.members[1]!.logits;
      names = set.members.map((m) => m.name);
      await writeCombined(out, { set, method: cascade, options: {}, params, metrics: null });
    } finally {
      set.close();
    }
    assert.ok(escalated.some((e) => e) && escalated.some((e) => !e), 'the rows must include some that escalate and some that do not');
    model = await loadClassifier(out);
  });
  after(async () => {
    await model.close();
  });

  const secondProbs = (r: number): number[] => {
    const [a, b] = [Math.exp(second[r * 2]!), Math.exp(second[r * 2 + 1]!)];
    return [a / (a + b), b / (a + b)];
  };

  test('the manifest names ran_<member> for the gated member; predictDetailed marks exactly the escalated rows', async () => {
    const manifest = JSON.parse(fs.readFileSync(path.join(out, 'bertfuse.json'), 'utf8')) as { members: { name: string; ran?: string }[]; model: { outputs: string[] } };
    assert.equal(manifest.members[0]!.ran, undefined);
    assert.equal(manifest.members[1]!.ran, `ran_${names[1]}`);
    assert.ok(manifest.model.outputs.includes(`ran_${names[1]}`));
    const d = await model.predictDetailed!(rows, { batchSize: 5 });
    assert.deepEqual(Object.keys(d.ran ?? {}), [names[1]]);
    assert.deepEqual([...d.ran![names[1]!]!].map((x) => x === 1), escalated);
    escalated.forEach((up, r) => {
      if (!up) return;
      const p = secondProbs(r);
      for (let j = 0; j < 2; j++) assert.ok(Math.abs(d.members[names[1]!]![r * 2 + j]! - p[j]!) < 1e-4, `row ${r}: the escalated member's own probabilities`);
    });
  });

  test('serve ?members=true: null where the member was skipped, its answer where it ran', async () => {
    const app = createServer(model, { maxWaitMs: 1 });
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const res = await fetch(`${url}/v1/predict?members=true`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ texts: rows.map((r) => r.text) }) });
      assert.equal(res.status, 200);
      const body = (await res.json()) as PredictResponse;
      body.predictions.forEach((p, r) => {
        assert.notEqual(p.members![names[0]!], null, `row ${r}: the first member always runs`);
        const m = p.members![names[1]!];
        if (!escalated[r]) assert.equal(m, null, `row ${r}: skipped`);
        else assert.ok(m !== null && m !== undefined && Math.abs(m.probs['positive']! - secondProbs(r)[1]!) < 1e-4, `row ${r}: ran`);
      });
    } finally {
      await app.close();
    }
  });

  test('predict --members: null in --json and – in the table where the member was skipped', async () => {
    const input = path.join(tempDir(), 'texts.jsonl');
    fs.writeFileSync(input, rows.map((r) => JSON.stringify({ text: r.text })).join('\n') + '\n');
    const json = await runCli(['predict', out, '--input', input, '--members', '--json']);
    assert.equal(json.code, 0, json.stderr);
    const lines = json.stdout.trim().split('\n').map((l) => JSON.parse(l) as { members: Record<string, { probs: Record<string, number> } | null> });
    assert.equal(lines.length, rows.length);
    lines.forEach((l, r) => {
      assert.notEqual(l.members[names[0]!], null);
      if (!escalated[r]) assert.equal(l.members[names[1]!], null, `row ${r}`);
      else assert.ok(Math.abs(l.members[names[1]!]!.probs['positive']! - secondProbs(r)[1]!) < 1e-4, `row ${r}`);
    });
    const table = await runCli(['predict', out, '--input', input, '--members']);
    assert.equal(table.code, 0, table.stderr);
    const printed = table.stdout.trim().split('\n');
    const body = printed.slice(2, 2 + rows.length);
    // Under the table, one legend line says what – means (some row here skipped the member).
    assert.deepEqual(printed.slice(2 + rows.length).map((l) => l.slice(0, 24)), ['– = not run on that row:']);
    const col = table.stdout.split('\n')[0]!.indexOf(names[1]!);
    body.forEach((line, r) => {
      const cell = line.slice(col, col + names[1]!.length).trim();
      if (!escalated[r]) assert.equal(cell, '–', `row ${r}: ${line}`);
      else assert.match(cell, /^(negative|positive) 0\.\d{4}$/, `row ${r}: ${line}`);
    });
    const plain = await runCli(['predict', fixture('sst2-sibling-a'), '--text', 'fine', '--members']);
    assert.equal(plain.code, 2);
    assert.match(plain.stderr, /^bertfuse: --members needs a combined bertfuse folder/);
  });

  test('a folder written before ran_<member> existed: the all-zero placeholder rows still read as skipped', async () => {
    const old = path.join(tempDir(), 'old-cascade');
    fs.cpSync(out, old, { recursive: true });
    const file = path.join(old, 'bertfuse.json');
    const m = JSON.parse(fs.readFileSync(file, 'utf8')) as { members: { ran?: string }[]; model: { outputs: string[] } };
    for (const x of m.members) delete x.ran;
    m.model.outputs = m.model.outputs.filter((o) => !o.startsWith('ran_'));
    fs.writeFileSync(file, JSON.stringify(m, null, 2));
    const older = await loadClassifier(old);
    try {
      const d = await older.predictDetailed!(rows);
      assert.deepEqual([...d.ran![names[1]!]!].map((x) => x === 1), escalated);
    } finally {
      await older.close();
    }
  });
});
