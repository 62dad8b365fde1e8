import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { isOneLineError, runCli } from '../helpers/cli.js';
import { copyFixture, fixture, reference, tempDir } from '../helpers/fixtures.js';

describe('bertfuse inspect', () => {
  test('prints an aligned table and JSON with sizes, parameters, labels, tokenizer', async () => {
    const table = await runCli(['inspect', fixture('sst2-stranger-b')]);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /architecture\s+BertForSequenceClassification/);
    assert.match(table.stdout, /labels\s+0=positive, 1=negative/);
    assert.match(table.stdout, /parameters\s+374,850/);
    const json = await runCli(['inspect', fixture('sst2-sibling-a'), '--json']);
    const d = JSON.parse(json.stdout) as Record<string, unknown>;
    // 2 layers of hidden 64 / FFN 256 plus embeddings for 8192 + 128 + 2 rows, pooler and a 2-label head.
    const H = 64, I = 256, L = 2;
    const layer = 4 * (H * H + H) + 2 * 2 * H + (H * I + I) + (I * H + H);
    const expected = (8192 + 128 + 2) * H + 2 * H + L * layer + (H * H + H) + (2 * H + 2);
    assert.equal(d['parameters'], expected);
    assert.deepEqual(d['labels'], ['negative', 'positive']);
    assert.equal((d['tokenizer'] as Record<string, unknown>)['maxLength'], 128);
  });
});

describe('bertfuse predict', () => {
  test('--json gives one record per input with every label probability by name, in label-name terms', async () => {
    const ref = reference('sst2-stranger-b');
    const texts = ref.inputs.slice(0, 3).map((x) => x.text);
    const r = await runCli(['predict', fixture('sst2-stranger-b'), '--json', '--text', ...texts]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { label: string; probs: Record<string, number>; text: string });
    assert.equal(lines.length, 3);
    lines.forEach((rec, i) => {
      const x = ref.inputs[i]!;
      assert.equal(rec.text, x.text);
      assert.equal(rec.label, x.predicted_label);
      // stranger-b's index 0 is "positive": the reference probs are in index order.
      assert.ok(Math.abs(rec.probs['positive']! - x.probs![0]!) < 1e-4);
      assert.ok(Math.abs(rec.probs['negative']! - x.probs![1]!) < 1e-4);
    });
  });

  test('--input reads JSONL (with pairs) and plain text; results do not depend on --batch-size', async () => {
    const dir = tempDir();
    const ref = reference('sst2-sibling-a');
    const jsonl = path.join(dir, 'in.jsonl');
    fs.writeFileSync(jsonl, ref.inputs.map((x) => JSON.stringify({ text: x.text, text_pair: x.text_pair })).join('\n') + '\n');
    const big = await runCli(['predict', fixture('sst2-sibling-a'), '--input', jsonl, '--json', '--batch-size', '32']);
    const small = await runCli(['predict', fixture('sst2-sibling-a'), '--input', jsonl, '--json', '--batch-size', '3']);
    assert.equal(big.code, 0, big.stderr);
    const a = big.stdout.trim().split('\n').map((l) => JSON.parse(l) as { probs: Record<string, number>; text_pair?: string });
    const b = small.stdout.trim().split('\n').map((l) => JSON.parse(l) as { probs: Record<string, number> });
    assert.equal(a.length, ref.inputs.length);
    a.forEach((rec, i) => {
      assert.ok(Math.abs(rec.probs['positive']! - ref.inputs[i]!.probs![1]!) < 1e-4, ref.inputs[i]!.id);
      assert.ok(Math.abs(rec.probs['positive']! - b[i]!.probs['positive']!) < 1e-5);
    });
    assert.equal(a.find((_, i) => ref.inputs[i]!.id === 'sentence_pair')!.text_pair, ref.inputs.find((x) => x.id === 'sentence_pair')!.text_pair);
    const txt = path.join(dir, 'in.txt');
    fs.writeFileSync(txt, 'one long string of cliches .\r\n\r\na gorgeous , witty , seductive movie .\r\n');
    const plain = await runCli(['predict', fixture('sst2-sibling-a'), '--input', txt]);
    assert.equal(plain.code, 0, plain.stderr);
    const rows = plain.stdout.trim().split('\n');
    assert.equal(rows.length, 4, plain.stdout);
    assert.match(rows[0]!, /^#\s+label\s+p\(negative\)\s+p\(positive\)\s+text$/);
    assert.match(rows[2]!, /^0\s+negative\s+0\.92\d\d\s+0\.07\d\d\s+one long string of cliches \.$/);
  });

  test('bad input gives one clear line and a non-zero exit, never a stack trace', async () => {
    const dir = tempDir();
    const broken = copyFixture('sst2-sibling-a');
    fs.truncateSync(path.join(broken, 'model.safetensors'), 100);
    const latin1 = path.join(dir, 'latin1.txt');
    fs.writeFileSync(latin1, Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a]));
    const cases: [string[], RegExp][] = [
      [['predict', '/no/such/model', '--text', 'x'], /\/no\/such\/model: no such file or folder/],
      [['predict', fixture('sst2-sibling-a')], /nothing to predict/],
      [['predict', broken, '--text', 'x'], /model\.safetensors: .*truncated/],
      [['predict', fixture('sst2-sibling-a'), '--input', latin1], /latin1\.txt: not valid UTF-8 .*--encoding latin1/],
      [['predict', fixture('base-mlm'), '--text', 'x'], /BertForMaskedLM has no classification head/],
      [['predict', fixture('sst2-sibling-a'), '--text', 'x', '--batch-size', '0'], /--batch-size must be a positive integer/],
    ];
    for (const [args, pattern] of cases) {
      const r = await runCli(args);
      assert.ok(isOneLineError(r), `${args.join(' ')} -> code ${r.code}, stderr: ${r.stderr}`);
      assert.match(r.stderr, pattern);
      assert.equal(r.stdout, '');
    }
    const ok = await runCli(['predict', fixture('sst2-sibling-a'), '--input', latin1, '--encoding', 'latin1', '--json']);
    assert.equal((JSON.parse(ok.stdout) as { text: string }).text, 'café');
  });

  test('--input - reads standard input, and gives what --text gives', async () => {
    const piped = await runCli(['predict', fixture('sst2-sibling-a'), '--input', '-', '--json'], { input: '{"text": "a gorgeous , witty movie ."}\n{"text": "one long string of cliches ."}\n' });
    assert.equal(piped.code, 0, piped.stderr);
    const direct = await runCli(['predict', fixture('sst2-sibling-a'), '--json', '--text', 'a gorgeous , witty movie .', 'one long string of cliches .']);
    assert.deepEqual(piped.stdout.trim().split('\n').map((l) => JSON.parse(l) as unknown), direct.stdout.trim().split('\n').map((l) => JSON.parse(l) as unknown));
    const empty = await runCli(['predict', fixture('sst2-sibling-a'), '--input', '-'], { input: '' });
    assert.ok(isOneLineError(empty));
    assert.match(empty.stderr, /^bertfuse: stdin: no inputs: the file is empty/);
  });

  test('a mistyped local path is never taken for a hub id: one line saying what was tried', async () => {
    const r = await runCli(['predict', 'fixtures/sst2-sibling-x', '--text', 'x'], { env: { HF_HUB_OFFLINE: '' } });
    assert.ok(isOneLineError(r), r.stderr);
    assert.equal(r.stderr.trim(), 'bertfuse: no file or folder fixtures/sst2-sibling-x (did you mean fixtures/sst2-sibling-a?); not a hub id either, because fixtures/ is a local folder (and fixtures/sst2-sibling-x is not in the Hugging Face cache)');
  });
});
