import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import type { EvalResult } from '../../src/eval/result.js';
import { isOneLineError, runCli } from '../helpers/cli.js';
import { DATA, fixture, tempDir } from '../helpers/fixtures.js';

const A = fixture('sst2-sibling-a');
const B = fixture('sst2-stranger-b');

/** The first `n` data rows of sst2_dev (header kept), as their own file. */
function devSlice(dir: string, name: string, from: number, n: number): string {
  const lines = fs.readFileSync(path.join(DATA, 'sst2_dev.tsv'), 'utf8').split('\n');
  const file = path.join(dir, name);
  fs.writeFileSync(file, [lines[0], ...lines.slice(1 + from, 1 + from + n)].join('\n') + '\n');
  return file;
}

/** MR sentences (a shifted domain: other reviews, other sentence lengths) as labelled TSV. */
function mrSet(dir: string, n: number): string {
  const read = (f: string): string[] => fs.readFileSync(path.join(DATA, f), 'latin1').split('\n').filter((l) => l.trim() !== '').slice(0, n);
  const rows = [...read('rt-polarity-sample.neg').map((t) => `0\t${t.trim()}`), ...read('rt-polarity-sample.pos').map((t) => `1\t${t.trim()}`)];
  const file = path.join(dir, 'mr.tsv');
  fs.writeFileSync(file, ['label\tcontent', ...rows].join('\n') + '\n');
  return file;
}

describe('evaluation evidence on the CLI', () => {
  const dir = tempDir();
  const fit = devSlice(dir, 'fit.tsv', 0, 240);
  const held = devSlice(dir, 'held.tsv', 240, 240);

  test('reversed labels are refused with the order the data supports; --allow-below-chance overrides', async () => {
    const out = path.join(dir, 'reversed');
    const r = await runCli(['combine', A, B, '--data', fit, '--labels', 'positive,negative', '--out', out, '-q']);
    assert.ok(isOneLineError(r), r.stderr);
    assert.match(r.stderr, /fit\.tsv: member sst2-sibling-a scores \d+\.\d% under the labels 0 = positive, 1 = negative — below chance \(50\.0%\); the data supports the order --labels negative,positive \(sst2-sibling-a then scores \d+\.\d%\); pass --allow-below-chance to go on anyway/);
    assert.equal(fs.existsSync(out), false, 'nothing written');
    const forced = await runCli(['eval', A, B, '--data', fit, '--labels', 'positive,negative', '--allow-below-chance', '--method', 'mean', '--bootstrap', '0', '--json', '-q']);
    assert.equal(forced.code, 0, forced.stderr);
    const j = JSON.parse(forced.stdout) as EvalResult;
    assert.ok(j.rows[0]!.accuracy < 0.5, 'the forced run really scores below chance');
  });

  test('integer labels are named in one line; intervals, tests, two further sets and robustness in the table and JSON', async () => {
    const mr = mrSet(dir, 120);
    const args = ['eval', A, B, '--data', fit, '--eval-data', held, '--eval-data', mr, '--labels', 'negative,positive', '--method', 'mean', '--method', 'stack', '-q'];
    const text = await runCli(args);
    assert.equal(text.code, 0, text.stderr);
    for (const f of [fit, held, mr]) assert.ok(text.stderr.includes(`note: ${f}: integer labels read as indices: label 0 = negative, 1 = positive`), text.stderr);
    assert.match(text.stdout, /sst2-sibling-a\s+member\s+\d+\.\d\d% ±\d+\.\d\d/);
    assert.match(text.stdout, /vs best member \(acc \/ log-loss\)/);
    assert.match(text.stdout, new RegExp(`scored on 240 rows of ${held.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    assert.match(text.stdout, /robustness: accuracy and log-loss change from/);
    assert.match(text.stdout, /± = half-width of the 95% paired-bootstrap interval \(1000 rounds, seed 0\)/);

    const json = await runCli([...args, '--json']);
    assert.equal(json.code, 0, json.stderr);
    const j = JSON.parse(json.stdout) as EvalResult;
    assert.deepEqual(j.uncertainty, { method: 'paired bootstrap', resamples: 1000, level: 0.95, seed: 0 });
    assert.equal(j.data.eval!.path, held);
    assert.deepEqual(j.extraSets.map((s) => [s.path, s.n]), [[mr, 240]]);
    const extraNames = j.extraSets[0]!.rows.map((r) => r.name);
    assert.deepEqual(extraNames, j.rows.map((r) => r.name));
    for (const r of j.rows) {
      assert.ok(r.intervals && r.intervals.accuracy.low <= r.accuracy && r.accuracy <= r.intervals.accuracy.high, `${r.name}: accuracy inside its interval`);
      assert.equal(r.riskCoverage!.length, 20);
      const rob = j.robustness.find((x) => x.name === r.name)!;
      const other = j.extraSets[0]!.rows.find((x) => x.name === r.name)!;
      assert.ok(Math.abs(rob.sets[0]!.accuracyDrop - (r.accuracy - other.accuracy)) < 1e-12);
    }
    const stack = j.rows.find((r) => r.name === 'stack')!;
    const v = stack.vsBestMember!;
    assert.equal(v.accuracy.member, j.rows.filter((r) => r.kind === 'member').sort((a, b) => b.accuracy - a.accuracy)[0]!.name);
    assert.ok(v.accuracy.p > 0 && v.accuracy.p <= 1);
    assert.ok(Math.abs(v.accuracy.difference - (v.accuracy.onlyThis - v.accuracy.onlyMember) / 240) < 1e-12, 'accuracy difference = discordant difference / n');
  });

  test('auto says in one line why it chose, and a --max-cost below every candidate is refused', async () => {
    const out = path.join(dir, 'auto');
    const r = await runCli(['combine', A, B, '--data', fit, '--labels', 'negative,positive', '--out', out, '--json', '-q']);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout) as { result: EvalResult };
    const sel = j.result.selection!;
    assert.equal(sel.reason.includes('\n'), false);
    assert.match(sel.reason, /^\S+ \(\d+\.\d\d×, log-loss \d\.\d{4}\): (the cheapest candidate|beats the cheaper)/);
    const none = await runCli(['combine', A, B, '--data', fit, '--labels', 'negative,positive', '--out', path.join(dir, 'none'), '--max-cost', '1.5', '-q']);
    assert.ok(isOneLineError(none), none.stderr);
    assert.match(none.stderr, /no candidate is left to export \(over --max-cost 1\.50×: .*\); the cheapest is \S+ at \d\.\d\d×: raise --max-cost/);
  });

  test('--merge-base adds task arithmetic and TIES with λ/density chosen on rows they are not scored on; loss barriers in the table', async () => {
    const small = devSlice(dir, 'small.tsv', 0, 120);
    const heldSmall = devSlice(dir, 'held-small.tsv', 120, 120);
    const sib = fixture('sst2-sibling-b');
    const oof = await runCli(['combine', A, sib, '--data', small, '--merge-base', fixture('base-mlm'), '--bootstrap', '200', '--out', path.join(dir, 'mb1'), '--json', '-q']);
    assert.equal(oof.code, 0, oof.stderr);
    const r1 = (JSON.parse(oof.stdout) as { result: EvalResult }).result;
    const byName = new Map(r1.rows.map((r) => [r.name, r]));
    for (const name of ['merge:task_arithmetic', 'merge:ties']) assert.equal(byName.get(name)?.scoring, 'out-of-fold', `${name} is cross-fitted`);
    const meanMember = r1.rows.filter((r) => r.kind === 'member').reduce((a, r) => a + r.logLoss, 0) / 2;
    for (const r of r1.rows.filter((x) => x.kind === 'merge')) assert.ok(Math.abs(r.barrier! - (r.logLoss - meanMember)) < 1e-12, `${r.name}: barrier = its log-loss − the members' mean`);
    const withEval = await runCli(['combine', A, sib, '--data', small, '--eval-data', heldSmall, '--merge-base', fixture('base-mlm'), '--bootstrap', '200', '--out', path.join(dir, 'mb2'), '--json', '-q']);
    assert.equal(withEval.code, 0, withEval.stderr);
    const r2 = (JSON.parse(withEval.stdout) as { result: EvalResult }).result;
    assert.equal(r2.rows.find((r) => r.name === 'merge:ties')?.scoring, 'eval-data');
  });
});
