import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { runCli, type CliResult } from '../helpers/cli.js';
import { ROOT, tempDir } from '../helpers/fixtures.js';

/*
 * Old flag spellings keep working and say, in one line on stderr each, what to write instead
 * (the mechanism `--pair-column` and distill's `--teacher` already use): `--option` (now -p/--param),
 * merge's `--model` (now positional members), `--eval` (now --eval-data) and `--texts-encoding`
 * (now --encoding). With --json, stdout stays one JSON document.
 */

const work = tempDir('bertfuse-old-flags-');
const A = 'fixtures/sst2-sibling-a';
const B = 'fixtures/sst2-sibling-b';
const S = 'fixtures/sst2-stranger-b';

/** The first 80 rows of the SST-2 dev set: enough for every method, quick to run. */
const data = path.join(work, 'dev80.tsv');
fs.writeFileSync(data, fs.readFileSync(path.join(ROOT, 'data/sst2_dev.tsv'), 'utf8').split('\n').slice(0, 81).join('\n') + '\n');

function notes(r: CliResult): string[] {
  return r.stderr.split('\n').filter((l) => l !== '');
}

function scores(r: CliResult): unknown {
  const j = JSON.parse(r.stdout) as { rows: { name: string; accuracy: number; logLoss: number }[] };
  return j.rows.map((x) => [x.name, x.accuracy, x.logLoss]);
}

test('--option: same parameters as -p/--param, one note naming -p/--param, stdout only JSON', async () => {
  const common = ['eval', A, S, '--data', data, '--labels', 'negative,positive', '-m', 'weighted', '--folds', '2', '--bootstrap', '0', '--json'];
  const now = await runCli([...common, '--param', 'weights=0.9,0.1']);
  assert.equal(now.code, 0, now.stderr);
  const old = await runCli([...common, '--option', 'weights=0.9,0.1', '--option', 'calibrate=false']);
  assert.equal(old.code, 0, old.stderr);
  assert.deepEqual(notes(old).filter((l) => / is deprecated; /.test(l)), ['note: --option is deprecated; use -p/--param'], 'one note however often the old flag is given');
  assert.doesNotMatch(now.stderr, /deprecated/);
  assert.deepEqual(scores(old), scores(now));
  // The value is used: fitted weights score differently from fixed 0.9/0.1.
  const fitted = await runCli(common);
  assert.equal(fitted.code, 0, fitted.stderr);
  assert.notDeepEqual(scores(fitted), scores(now));
});

test('merge --model, --eval and --texts-encoding: the same merge as positional members, --eval-data and --encoding, one note each', async () => {
  // Texts in Latin-1 (é as one byte): read as UTF-8 they are refused, so the encoding flag is really used.
  const texts = path.join(work, 'texts-latin1.txt');
  fs.writeFileSync(texts, Buffer.from('a café scene , sweet and sharp .\nthe plot is a mess .\nthe acting is terrific .\nboring , tedious and overlong .\n', 'latin1'));
  const common = ['-m', 'regmean', '--texts', texts, '--no-onnx', '--json'];
  const now = await runCli(['merge', A, B, ...common, '--encoding', 'latin1', '--eval-data', data, '--out', path.join(work, 'now')]);
  assert.equal(now.code, 0, now.stderr);
  assert.equal(now.stderr, '');
  const old = await runCli(['merge', '--model', A, '--model', B, ...common, '--texts-encoding', 'latin1', '--eval', data, '--out', path.join(work, 'old')]);
  assert.equal(old.code, 0, old.stderr);
  assert.deepEqual(notes(old).sort(), [
    'note: --eval is deprecated; use --eval-data',
    'note: --model is deprecated; use positional members (bertfuse merge A B --method ties)',
    'note: --texts-encoding is deprecated; use --encoding',
  ]);
  type Result = { members: string[]; files: string[]; evaluation: { model: string; accuracy: number; n: number }[] };
  const [o, n] = [JSON.parse(old.stdout) as Result, JSON.parse(now.stdout) as Result];
  assert.deepEqual(o.members, n.members);
  assert.equal(o.members.length, 2);
  assert.deepEqual(o.evaluation, n.evaluation);
  assert.ok(n.evaluation.some((e) => e.model === 'merged' && e.n === 80), JSON.stringify(n.evaluation));
  assert.deepEqual(o.files, n.files);
  const shards = n.files.filter((x) => x.endsWith('.safetensors'));
  assert.ok(shards.length > 0, n.files.join(', '));
  for (const f of shards) assert.deepEqual(fs.readFileSync(path.join(work, 'old', f)), fs.readFileSync(path.join(work, 'now', f)), f);
  const utf8 = await runCli(['merge', A, B, ...common, '--out', path.join(work, 'utf8')]);
  assert.notEqual(utf8.code, 0);
  assert.match(utf8.stderr, /texts-latin1\.txt.*not valid UTF-8/);
});
