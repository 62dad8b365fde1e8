import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import YAML from 'yaml';
import { isOneLineError, type CliResult } from '../helpers/cli.js';
import { hashTree, tempLeftovers } from '../helpers/corrupt.js';
import { DATA, fixture, tempDir } from '../helpers/fixtures.js';
import { cliInProcess } from './in-process.js';

/*
 * Numbers that cannot be right are refused where they enter (data files, recipes, flags,
 * tokenizer_config.json), in one line naming where they came from, before anything is written.
 */

const root = tempDir('bertfuse-rel-numbers-');
const A = fixture('sst2-sibling-a');
const B = fixture('sst2-sibling-b');
const S = fixture('sst2-stranger-b');
const LABELS = ['--labels', 'negative,positive'];

function refused(r: CliResult, pattern: RegExp): void {
  assert.ok(isOneLineError(r), `exit ${r.code}, stderr: ${r.stderr}`);
  assert.match(r.stderr, pattern);
}

/** SST-2 dev rows of one label only (`keep`), as TSV. */
function oneClass(keep: '0' | '1', name: string, relabel?: string): string {
  const lines = fs.readFileSync(path.join(DATA, 'sst2_dev.tsv'), 'utf8').split('\n');
  const rows = lines.slice(1).filter((l) => l.startsWith(`${keep}\t`)).slice(0, 20).map((l) => (relabel ? relabel + l.slice(1) : l));
  const file = path.join(root, name);
  fs.writeFileSync(file, [lines[0], ...rows].join('\n') + '\n');
  return file;
}

describe('numbers: fit data with one class is refused (no 100% constant model)', () => {
  test('combine (auto and stack) and eval refuse rows that are all one class, and write nothing', async () => {
    const cases: Array<[string, string[]]> = [
      [oneClass('1', 'all-positive.tsv'), LABELS],
      [oneClass('0', 'all-negative.tsv'), LABELS],
      [oneClass('1', 'all-named.tsv', 'positive'), []],
    ];
    for (const [data, extra] of cases) {
      const name = path.basename(data);
      for (const args of [
        ['combine', A, S, '--data', data, ...extra, '--out', path.join(root, `out-${name}`), '--quiet'],
        ['combine', A, S, '--data', data, ...extra, '--method', 'stack', '--out', path.join(root, `out-${name}`), '--quiet'],
        ['eval', A, S, '--data', data, ...extra],
      ]) {
        const r = await cliInProcess(args);
        refused(r, new RegExp(`${name.replace('.', '\\.')}: every row is labelled "(positive|negative)"; fitting and scoring need rows of at least two classes`));
        assert.ok(!fs.existsSync(path.join(root, `out-${name}`)));
      }
    }
    assert.deepEqual(tempLeftovers(root), []);
  });
});

describe('numbers: merge weights that cancel out or overflow are refused', () => {
  const out = path.join(root, 'merged');
  let earlier: Record<string, string> = {};
  const recipe = (name: string, doc: unknown): string => {
    const file = path.join(root, `${name}.yaml`);
    fs.writeFileSync(file, YAML.stringify(doc));
    return file;
  };
  before(async () => {
    const r = await cliInProcess(['merge', A, B, '--out', out, '--quiet']);
    assert.equal(r.code, 0, r.stderr);
    earlier = await hashTree(out);
  });

  test('weights summing to 0 (1/-1, 0.5/-0.5, 0/0, a filtered weight cancelling on the classifier only) under normalize', async () => {
    const cases: Array<[string, unknown, RegExp]> = [
      ['one-minus-one', { merge_method: 'linear', models: [{ model: A, parameters: { weight: 1 } }, { model: B, parameters: { weight: -1 } }] }, /\(1, -1\) sum to 0/],
      ['halves', { merge_method: 'linear', models: [{ model: A, parameters: { weight: 0.5 } }, { model: B, parameters: { weight: -0.5 } }] }, /\(0\.5, -0\.5\) sum to 0/],
      ['zeros', { merge_method: 'linear', models: [{ model: A, parameters: { weight: 0 } }, { model: B, parameters: { weight: 0 } }] }, /\(0, 0\) sum to 0/],
      ['filtered', { merge_method: 'linear', models: [{ model: A, parameters: { weight: [{ filter: 'classifier', value: 2 }, { value: 1 }] } }, { model: B, parameters: { weight: [{ filter: 'classifier', value: -2 }, { value: 1 }] } }] }, /weights for "classifier\.(weight|bias)" \(2, -2\) sum to 0/],
      ['task-arithmetic', { merge_method: 'task_arithmetic', base_model: A, parameters: { normalize: true }, models: [{ model: B, parameters: { weight: 1 } }, { model: A, parameters: { weight: -1 } }] }, /task_arithmetic with normalize: .* sum to 0/],
    ];
    for (const [name, doc, pattern] of cases) {
      const r = await cliInProcess(['merge', recipe(name, doc), '--out', out, '--quiet']);
      refused(r, pattern);
      assert.deepEqual(await hashTree(out), earlier, `${name}: the earlier merge is untouched`);
    }
  });

  test('weights whose sum overflows, or that overflow the merged tensor, are refused', async () => {
    const cases: Array<[string, string[], RegExp]> = [
      ['sum-overflows', ['--weights', '1e308,1e308'], /sum to Infinity, and the merge divides by that sum; the sum overflows/],
      ['tensor-overflows', ['--weights', '1e39,1e39', '--param', 'normalize=false'], /produced a non-finite value in ".*"; check the parameters|non-finite/],
    ];
    for (const [name, args, pattern] of cases) {
      const r = await cliInProcess(['merge', A, B, ...args, '--out', out, '--quiet']);
      refused(r, pattern);
      assert.deepEqual(await hashTree(out), earlier, `${name}: the earlier merge is untouched`);
    }
    assert.deepEqual(tempLeftovers(root), []);
  });

  test('sizes, seeds and counts that are not whole, positive or finite are refused (flags and recipes)', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['merge', A, B, '--seed', '1.5', '--out', out], /"seed" must be an integer >= 0, got 1\.5/],
      [['merge', A, B, '--shard-size', '1e400', '--out', out], /"shard_size" must be a size/],
      [['merge', recipe('shard-inf', { merge_method: 'linear', models: [{ model: A, parameters: { weight: 1 } }, { model: B, parameters: { weight: 1 } }], shard_size: 1e400 }), '--out', out], /"shard_size" must be a size/],
      [['merge', recipe('shard-half', { merge_method: 'linear', models: [{ model: A, parameters: { weight: 1 } }, { model: B, parameters: { weight: 1 } }], shard_size: 0.5 }), '--out', out], /"shard_size" must be a size/],
      [['random-checkpoint', path.join(root, 'rc'), '--seed', '1.5'], /--seed must be a whole number ≥ 0/],
      [['random-checkpoint', path.join(root, 'rc'), '--seed', 'NaN'], /--seed must be a whole number ≥ 0/],
      [['random-checkpoint', path.join(root, 'rc'), '--dtype', 'F64'], /--dtype.*Allowed choices are F32, F16, BF16/],
      [['combine', A, S, '--data', path.join(DATA, 'sst2_dev.tsv'), ...LABELS, '--method', 'stack', '--param', 'l2_steps=1e400', '--out', path.join(root, 'c')], /option "l2_steps" must be a number, got "1e400"/],
    ];
    for (const [args, pattern] of cases) refused(await cliInProcess(['merge', 'combine'].includes(args[0]!) ? [...args, '--quiet'] : args), pattern);
    assert.ok(!fs.existsSync(path.join(root, 'rc')) && !fs.existsSync(path.join(root, 'c')));
  });
});

describe('numbers: model_max_length must be a whole number of tokens ≥ 3', () => {
  const member = (value: unknown, name: string): string => {
    const dir = path.join(root, `mml-${name}`);
    fs.cpSync(A, dir, { recursive: true });
    const file = path.join(dir, 'tokenizer_config.json');
    const cfg = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
    fs.writeFileSync(file, JSON.stringify({ ...cfg, model_max_length: value }).replace('"__INF__"', '1e400'));
    return dir;
  };

  test('fractional, zero, negative, overflowing or quoted values are refused by predict and combine; nothing is written', async () => {
    for (const [name, value] of [['fraction', 128.5], ['zero', 0], ['negative', -512], ['two', 2], ['overflow', '__INF__'], ['string', '512'], ['bool', true]] as const) {
      const dir = member(value, name);
      const before = await hashTree(dir);
      refused(await cliInProcess(['predict', dir, '--text', 'hi']), new RegExp(`mml-${name}/tokenizer_config\\.json: model_max_length .* is (too small|not a whole number): it must be a whole number of tokens, at least 3`));
      const out = path.join(root, `mml-out-${name}`);
      refused(await cliInProcess(['combine', dir, B, '--data', path.join(DATA, 'sst2_dev.tsv'), ...LABELS, '--method', 'mean', '--out', out, '--quiet']), /tokenizer_config\.json: model_max_length/);
      assert.ok(!fs.existsSync(out));
      assert.deepEqual(await hashTree(dir), before);
    }
  });

  test('the "no limit" sentinel (1e30) and a whole number below the position table still load', async () => {
    for (const [name, value] of [['sentinel', 1e30], ['small', 64]] as const) {
      const r = await cliInProcess(['predict', member(value, name), '--json', '--text', 'a gorgeous , witty , seductive movie .']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal((JSON.parse(r.stdout) as { label: string }).label, 'positive');
    }
  });
});
