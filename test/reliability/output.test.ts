import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { cliEntry, isOneLineError } from '../helpers/cli.js';
import { DATA, ROOT, fixture, tempDir } from '../helpers/fixtures.js';
import { cliInProcess } from './in-process.js';

/*
 * Output and messages: a reader that stops early (`| head`) is not a crash; a full disk or
 * /dev/full is one line naming what could not be written, with the previous output kept; a
 * message quoting a huge input stays short; an input that never ends (/dev/zero) is refused.
 */

const root = tempDir('bertfuse-rel-output-');
const A = fixture('sst2-sibling-a');
const S = fixture('sst2-stranger-b');
const RUN = cliEntry();
const texts = path.join(root, 'texts.txt');
fs.writeFileSync(texts, fs.readFileSync(path.join(DATA, 'sst2_dev.tsv'), 'utf8').split('\n').slice(1).map((l) => l.split('\t')[1] ?? '').filter(Boolean).join('\n') + '\n');

const sh = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
const cli = (args: readonly string[]): string => [process.execPath, ...RUN, ...args].map(sh).join(' ');

describe('output: a closed pipe (| head) ends the run quietly', () => {
  for (const [what, args] of [
    ['predict --json | head -1', ['predict', A, '--input', texts, '--json']],
    ['predict (table) | head -3', ['predict', A, '--input', texts]],
    ['inspect | head -1', ['inspect', A]],
  ] as const) {
    test(what, () => {
      const r = spawnSync('bash', ['-c', `set -o pipefail; ${cli(args)} | head -${what.endsWith('-3') ? 3 : 1} > /dev/null; echo "status=$?" >&2`], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
      assert.match(r.stderr, /status=0\s*$/, r.stderr);
      assert.equal(r.stderr.replace(/status=0\s*$/, ''), '', 'nothing on stderr: no EPIPE, no stack');
    });
  }

  test('a reader that hangs up mid-stream (predict --json, 872 rows, ~150 KB)', async () => {
    const child = spawn(process.execPath, [...RUN, 'predict', A, '--input', texts, '--json'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.once('data', () => child.stdout.destroy());
    const code = await new Promise<number | null>((r) => child.on('close', (c) => r(c)));
    assert.equal(code, 0, stderr);
    assert.equal(stderr, '');
  });
});

describe('output: no space left (ENOSPC) is one line, and the previous output is kept', () => {
  test('standard output is /dev/full: predict, inspect', () => {
    for (const args of [['predict', A, '--text', 'fine', '--json'], ['inspect', A]]) {
      const out = fs.openSync('/dev/full', 'w');
      const r = spawnSync(process.execPath, [...RUN, ...args], { cwd: ROOT, stdio: ['ignore', out, 'pipe'], encoding: 'utf8', timeout: 60_000 });
      fs.closeSync(out);
      assert.ok(isOneLineError({ code: r.status ?? -1, stdout: '', stderr: r.stderr }), `exit ${r.status}: ${r.stderr}`);
      assert.match(r.stderr, /^bertfuse: cannot write to standard output: no space left on the device \(ENOSPC\)\n$/);
    }
  });

  // A 1 MiB tmpfs in a private mount namespace: writers really run out of space there.
  const canMount = spawnSync('unshare', ['-rm', 'sh', '-c', `mkdir -p ${sh(path.join(root, 'probe'))} && mount -t tmpfs -o size=64k none ${sh(path.join(root, 'probe'))}`]).status === 0;
  const TINY = ['--hidden', '32', '--layers', '1', '--heads', '2', '--intermediate', '64', '--vocab', '200', '--max-positions', '32'];
  const BIG = ['--hidden', '64', '--layers', '2', '--heads', '2', '--intermediate', '128', '--vocab', '8192'];
  for (const [what, second] of [
    ['random-checkpoint over its earlier output, too big for the disk', (mnt: string) => cli(['random-checkpoint', `${mnt}/out`, ...BIG])],
    ['merge over that output, too big for the disk', (mnt: string) => cli(['merge', `${mnt}/../a`, `${mnt}/../a`, '--weights', '1,1', '--out', `${mnt}/out`, '--quiet'])],
  ] as const) {
    test(what, { skip: canMount ? false : 'needs unshare + mount (user namespaces) to make a tiny tmpfs' }, () => {
      const dir = fs.mkdtempSync(path.join(root, 'full-'));
      const mnt = path.join(dir, 'disk');
      fs.mkdirSync(mnt);
      assert.equal(spawnSync(process.execPath, [...RUN, 'random-checkpoint', path.join(dir, 'a'), ...BIG], { cwd: ROOT }).status, 0);
      const script = [
        `mount -t tmpfs -o size=1m none ${sh(mnt)}`,
        `${cli(['random-checkpoint', `${mnt}/out`, ...TINY])} > /dev/null || exit 90`,
        `(cd ${sh(mnt)}/out && sha256sum * | sort) > ${sh(dir)}/before`,
        `${second(mnt)} > /dev/null 2> ${sh(dir)}/stderr; echo $? > ${sh(dir)}/status`,
        `(cd ${sh(mnt)}/out && sha256sum * | sort) > ${sh(dir)}/after`,
        `ls -a ${sh(mnt)} > ${sh(dir)}/listing`,
      ].join(' && ');
      const r = spawnSync('unshare', ['-rm', 'sh', '-c', script], { cwd: ROOT, encoding: 'utf8', timeout: 180_000 });
      assert.equal(r.status, 0, r.stderr);
      const stderr = fs.readFileSync(path.join(dir, 'stderr'), 'utf8');
      assert.equal(fs.readFileSync(path.join(dir, 'status'), 'utf8').trim(), '1', stderr);
      assert.ok(isOneLineError({ code: 1, stdout: '', stderr }), stderr);
      assert.match(stderr, /disk\/out: cannot write: no space left on the device \(ENOSPC\); the previous output is kept/);
      assert.equal(fs.readFileSync(path.join(dir, 'after'), 'utf8'), fs.readFileSync(path.join(dir, 'before'), 'utf8'), 'the earlier output is byte-identical');
      assert.deepEqual(fs.readFileSync(path.join(dir, 'listing'), 'utf8').trim().split('\n').sort(), ['.', '..', 'out'], 'no temp sibling left on the full disk');
    });
  }
});

describe('output: messages quoting user input stay short', () => {
  const huge = 'z'.repeat(20_000);
  test('a 20,000-character --label-map, --option, label name or JSON line is cut, keeping both ends', async () => {
    const data = path.join(root, 'long-label.tsv');
    fs.writeFileSync(data, `label\tcontent\n${huge}\tfine\nnegative\tbad\n`);
    const jsonl = path.join(root, 'long.jsonl');
    fs.writeFileSync(jsonl, `{"text": "${huge}`);
    for (const [args, end, cut] of [
      [['eval', A, S, '--data', data, '--label-map', huge], /is not FROM=TO \(example: NEG=negative,POS=positive\)$/, true],
      [['eval', A, S, '--data', data, '--labels', 'negative,positive'], /./, true],
      [['combine', A, S, '--data', data, '--param', huge, '--out', path.join(root, 'c')], /is not NAME=VALUE$/, true],
      [['predict', path.join(root, huge.slice(0, 3000)), '--text', 'x'], /./, true],
      // Node's own JSON error names a position, not the text: short already.
      [['predict', A, '--input', jsonl], /invalid JSON/, false],
    ] as const) {
      const r = await cliInProcess(args);
      assert.ok(isOneLineError(r), r.stderr.slice(0, 300));
      assert.ok(r.stderr.length <= 1020, `${r.stderr.length} characters: ${r.stderr.slice(0, 200)}`);
      assert.match(r.stderr.trimEnd(), end);
      if (cut) assert.match(r.stderr, /characters cut/);
    }
  });
});

describe('output: inputs that never end are bounded', () => {
  test('/dev/zero as --input, --data, --recipe, a report input or --texts is refused in one line', async () => {
    for (const args of [
      ['predict', A, '--input', '/dev/zero'],
      ['eval', A, S, '--data', '/dev/zero'],
      ['combine', '--recipe', '/dev/zero'],
      // A merge recipe read from /dev/zero (positional inputs are member folders unless they end in .yml/.yaml).
      ['merge', '--recipe', '/dev/zero', '--out', path.join(root, 'm')],
      ['report', '/dev/zero', '--out', path.join(root, 'r.html')],
    ]) {
      const t0 = Date.now();
      const r = await cliInProcess(args);
      assert.ok(isOneLineError(r), `${args[0]}: ${r.stderr.slice(0, 300)}`);
      assert.match(r.stderr, /\/dev\/zero: holds more than \d+ MiB \(or never ends, like \/dev\/zero\)/);
      assert.ok(Date.now() - t0 < 30_000, `${args[0]} took ${Date.now() - t0} ms`);
    }
    assert.ok(!fs.existsSync(path.join(root, 'm')) && !fs.existsSync(path.join(root, 'r.html')));
  });

  test('a regular file over the limit is refused from its size, before it is read', async () => {
    const big = path.join(root, 'sparse.tsv');
    fs.writeFileSync(big, 'label\ttext\n');
    fs.truncateSync(big, 300 * 1024 * 1024); // sparse: no disk used
    const r = await cliInProcess(['eval', A, S, '--data', big]);
    assert.ok(isOneLineError(r), r.stderr);
    assert.match(r.stderr, /sparse\.tsv: is 300 MiB; bertfuse reads at most 256 MiB from one input file/);
  });
});
