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
  const r = await runCli(['merge', 'fixtures/sst2-sibling-a', 'fixtures/sst2-sibling-b', '-m', 'slerp', '--param', 't=0.3', '--eval-data', 'data/sst2_dev.tsv', '--out', out]);
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
    [['merge', 'fixtures/sst2-sibling-a', '--method', 'soup', '-o', path.join(work, 'x')], /unknown merge_method "soup" \(known: linear, slerp/],
    [['merge', 'fixtures/sst2-sibling-a', '-p', 'lambda=2', '-o', path.join(work, 'x')], /linear has no parameter "lambda" \(known: weight/],
    [['merge', 'fixtures/sst2-sibling-a'], /merge needs an output folder/],
    [['merge', 'nope.yaml', '-o', path.join(work, 'x')], /nope\.yaml: cannot read recipe/],
    [['merge', 'nope.yaml', '--method', 'ties', '-o', path.join(work, 'x')], /nope\.yaml: cannot read recipe/],
    [['merge', 'fixtures/sst2-sibling-a', 'fixtures/sst2-stranger-b', '-o', path.join(work, 'x')], /different architecture sizes \(vocab_size 4096 vs 8192/],
    // -m used to mean --model here; now it is the method everywhere, and the old form says so.
    [['merge', '-m', 'fixtures/sst2-sibling-a', 'fixtures/sst2-sibling-b', '-o', path.join(work, 'x')], /-m is the method \(as in combine and eval\); give members positionally/],
    [['merge', '-m', 'fixtures/sst2-sibling-a', 'fixtures/sst2-sibling-b', '--method', 'ties', '-o', path.join(work, 'x')], /-m\/--method given twice/],
    [['merge', 'examples/recipe.yaml', path.join(work, 'x'), '--out', path.join(work, 'y')], /two output folders/],
  ];
  for (const [args, pattern] of cases) {
    const r = await runCli(args);
    assert.ok(isOneLineError(r), `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, pattern);
  }
  assert.ok(!fs.existsSync(path.join(work, 'x')));
});

test('a recipe plus flags: flags override the recipe; the output folder may follow the recipe (mergekit-yaml style)', async () => {
  const out = path.join(work, 'override');
  // examples/recipe.yaml is ties with weights 0.6/0.4 and lambda 1.0; the flags make it dare_ties at lambda 0.7 with equal weights.
  const r = await runCli(['merge', 'examples/recipe.yaml', out, '-m', 'dare_ties', '-p', 'lambda=0.7', '--weights', '0.5,0.5', '--no-onnx', '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal((JSON.parse(r.stdout) as { method: string }).method, 'dare_ties');
  const written = fs.readFileSync(path.join(out, 'merge.yaml'), 'utf8');
  assert.match(written, /merge_method: dare_ties/);
  assert.match(written, /lambda: 0.7/);
  assert.doesNotMatch(written, /weight: 0\.[46]/);
  assert.match(written, /base_model: fixtures\/base-mlm/, 'what the flags do not name comes from the recipe');
});

test('merge --eval-data reads the data with the shared data flags (CSV, own column names, label names)', async () => {
  const csv = path.join(work, 'reviews.csv');
  const rows = fs.readFileSync('data/sst2_dev.tsv', 'utf8').trim().split('\n').slice(1, 41).map((l) => l.split('\t'));
  fs.writeFileSync(csv, ['sentiment,review', ...rows.map(([label, text]) => `${label === '0' ? 'NEG' : 'POS'},"${text!.replaceAll('"', '""')}"`)].join('\n') + '\n');
  const r = await runCli(['merge', 'fixtures/sst2-sibling-a', 'fixtures/sst2-sibling-b', '-o', path.join(work, 'csv-eval'), '--no-onnx', '--eval-data', csv, '--text-column', 'review', '--label-column', 'sentiment', '--label-map', 'NEG=negative,POS=positive', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const ev = (JSON.parse(r.stdout) as { evaluation: { model: string; n: number; accuracy: number }[] }).evaluation;
  assert.deepEqual(ev.map((e) => e.n), [40, 40, 40, 40]);
  assert.ok(ev.every((e) => e.accuracy > 0.6), JSON.stringify(ev));
});
