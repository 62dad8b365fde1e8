import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { isOneLineError, runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/fixtures.js';

const work = tempDir('bertfuse-cli-merge-');

test('merge recipe.yaml --out dir --json: a merged folder and a machine-readable result', async () => {
  const recipe = path.join(work, 'ties.yaml');
  fs.writeFileSync(
    recipe,
    ['merge_method: ties', 'base_model: fixtures/base-mlm', 'models:', '  - model: fixtures/sst2-sibling-a', '  - model: fixtures/sst2-sibling-b', 'parameters:', '  density: 0.5', '  weight: 1', ''].join('\n'),
  );
  const out = path.join(work, 'ties');
  const r = await runCli(['merge', recipe, '--out', out, '--json', '--no-onnx']);
  assert.equal(r.code, 0, r.stderr);
  const result = JSON.parse(r.stdout) as { method: string; heads: string; files: string[]; onnx: string | null; notes: string[]; tasks: { labels: string[] }[] };
  assert.equal(result.method, 'ties');
  assert.equal(result.heads, 'merged');
  assert.equal(result.onnx, null);
  assert.deepEqual(result.tasks[0]!.labels, ['negative', 'positive']);
  assert.ok(result.files.includes('model.safetensors.index.json') && !result.files.includes('model.onnx'));
  assert.match(result.notes[0]!, /base_model has no bert\.pooler/);
  assert.match(fs.readFileSync(path.join(out, 'merge.yaml'), 'utf8'), /merge_method: ties[\s\S]*density: 0.5/);
  assert.equal(r.stderr, '', 'no progress output on a pipe');
});

test('flags instead of a recipe, with --eval: the table lists members, ensemble and merged', async () => {
  const out = path.join(work, 'slerp');
  const r = await runCli(['merge', '-m', 'fixtures/sst2-sibling-a', 'fixtures/sst2-sibling-b', '--method', 'slerp', '--param', 't=0.3', '--eval', 'data/sst2_dev.tsv', '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^merged 2 models with slerp into /);
  for (const row of [/sst2-sibling-a\s+8\d\.\d\d%\s+872/, /sst2-sibling-b\s+8\d\.\d\d%\s+872/, /ensemble \(mean of 2\)\s+\d+\.\d\d%/, /merged\s+\d+\.\d\d%\s+872/]) assert.match(r.stdout, row);
  assert.match(fs.readFileSync(path.join(out, 'README.md'), 'utf8'), /## Evaluation[\s\S]*\| merged \|/);
  assert.match(fs.readFileSync(path.join(out, 'merge.yaml'), 'utf8'), /t: 0.3/);
});

test('--list-methods shows every method with its parameters', async () => {
  const r = await runCli(['merge', '--list-methods']);
  assert.equal(r.code, 0);
  for (const m of ['linear', 'slerp', 'task_arithmetic', 'ties', 'dare_linear', 'dare_ties', 'regmean']) assert.match(r.stdout, new RegExp(`^${m}\\s`, 'm'));
  assert.match(r.stdout, /density\*=1\b/);
  assert.match(r.stdout, /^slerp\s.*\bt \(required\)/m);
  assert.match(r.stdout, /^ties\s.*\bweight\* \(required\)/m);
  assert.doesNotMatch(r.stdout, /undefined/);
  for (const m of ['model_stock', 'breadcrumbs', 'breadcrumbs_ties', 'della', 'della_linear', 'nuslerp']) assert.match(r.stdout, new RegExp(`^${m}\\s`, 'm'));
});

test('user errors are one line', async () => {
  const cases: [string[], RegExp][] = [
    [['merge', '-m', 'fixtures/sst2-sibling-a', '--method', 'soup', '-o', path.join(work, 'x')], /unknown merge_method "soup" \(known: linear, slerp/],
    [['merge', '-m', 'fixtures/sst2-sibling-a', '-p', 'lambda=2', '-o', path.join(work, 'x')], /linear has no parameter "lambda" \(known: weight/],
    [['merge', '-m', 'fixtures/sst2-sibling-a'], /merge needs an output folder/],
    [['merge', 'nope.yaml', '-o', path.join(work, 'x')], /nope\.yaml: cannot read recipe/],
    [['merge', 'nope.yaml', '--method', 'ties', '-o', path.join(work, 'x')], /give a recipe file or recipe flags, not both/],
    [['merge', '-m', 'fixtures/sst2-sibling-a', 'fixtures/sst2-stranger-b', '-o', path.join(work, 'x')], /different architecture sizes \(vocab_size 4096 vs 8192/],
  ];
  for (const [args, pattern] of cases) {
    const r = await runCli(args);
    assert.ok(isOneLineError(r), `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, pattern);
  }
  assert.ok(!fs.existsSync(path.join(work, 'x')));
});
