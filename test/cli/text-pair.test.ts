import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { DATA, fixture } from '../helpers/fixtures.js';

// The sentence pair has one spelling: --text-pair-column, recipe key text_pair_column. The old
// --pair-column / pair_column still work, with one line on stderr naming the new spelling.
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bertfuse-text-pair-'));
const rows = fs.readFileSync(path.join(DATA, 'sst2_dev.tsv'), 'utf8').split('\n').slice(1, 25).filter((l) => l !== '');
const pairs = path.join(tmp, 'pairs.tsv');
// Each review split in two halves: the pair column carries real text, so using it changes the outputs.
fs.writeFileSync(
  pairs,
  ['y\tpremise\thypothesis', ...rows.map((l) => {
    const [label, text] = l.split('\t') as [string, string];
    const words = text.split(' ');
    const half = Math.ceil(words.length / 2);
    return `${label}\t${words.slice(0, half).join(' ')}\t${words.slice(half).join(' ') || '.'}`;
  })].join('\n') + '\n',
);
const members = [fixture('sst2-sibling-a'), fixture('sst2-stranger-b')];
const common = ['eval', ...members, '--data', pairs, '--text-column', 'premise', '--label-column', 'y', '--labels', 'negative,positive', '-m', 'mean', '--folds', '2', '--bootstrap', '0', '--json'];

function memberLogLoss(stdout: string): number[] {
  const r = JSON.parse(stdout) as { rows: { kind: string; logLoss: number }[] };
  return r.rows.filter((x) => x.kind === 'member').map((x) => x.logLoss);
}

test('--text-pair-column and its old name --pair-column read the same pairs; only the old name prints a note', async () => {
  const now = await runCli([...common, '--text-pair-column', 'hypothesis']);
  assert.equal(now.code, 0, now.stderr);
  assert.doesNotMatch(now.stderr, /deprecated/);
  const old = await runCli([...common, '--pair-column', 'hypothesis']);
  assert.equal(old.code, 0, old.stderr);
  assert.equal(old.stderr.split('\n').filter((l) => l.includes('deprecated')).join('\n'), 'note: --pair-column is deprecated; use --text-pair-column');
  assert.deepEqual(memberLogLoss(old.stdout), memberLogLoss(now.stdout));
  // Without the pair column the members see half the text: the scores move, so the flag was used.
  const single = await runCli(common);
  assert.equal(single.code, 0, single.stderr);
  assert.notDeepEqual(memberLogLoss(single.stdout), memberLogLoss(now.stdout));
});

test('recipe data: text_pair_column, and the old pair_column with a note; both at once is an error naming the file', async () => {
  const recipe = (key: string, file: string): string => {
    const p = path.join(tmp, file);
    fs.writeFileSync(p, `members: [${members.join(', ')}]\ndata: { path: ${pairs}, text_column: premise, ${key}: hypothesis, label_column: y }\nlabels: [negative, positive]\nmethod: mean\nfolds: 2\nbootstrap: 0\nout: ${path.join(tmp, 'unused')}\n`);
    return p;
  };
  const now = await runCli(['eval', '--recipe', recipe('text_pair_column', 'now.yaml'), '--json']);
  assert.equal(now.code, 0, now.stderr);
  assert.doesNotMatch(now.stderr, /deprecated/);
  const oldFile = recipe('pair_column', 'old.yaml');
  const old = await runCli(['eval', '--recipe', oldFile, '--json']);
  assert.equal(old.code, 0, old.stderr);
  assert.match(old.stderr, new RegExp(`^note: ${oldFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: data\\.pair_column is deprecated; write text_pair_column$`, 'm'));
  assert.deepEqual(memberLogLoss(old.stdout), memberLogLoss(now.stdout));
  const both = path.join(tmp, 'both.yaml');
  fs.writeFileSync(both, fs.readFileSync(oldFile, 'utf8').replace('pair_column: hypothesis', 'pair_column: hypothesis, text_pair_column: hypothesis'));
  const r = await runCli(['eval', '--recipe', both, '--json']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /both\.yaml.*give "text_pair_column" or its old name "pair_column", not both/);
});
