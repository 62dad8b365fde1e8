import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { SPINNER_FRAMES, statusLine, type ProgressStream } from '../../src/cli/progress.js';
import { readLabelled } from '../../src/data/labelled.js';
import { evaluate, evalInputFrom } from '../../src/eval/evaluate.js';
import { chooseMethods } from '../../src/eval/methods.js';
import { prepare } from '../../src/eval/prepare.js';
import { FUSION_METHODS } from '../../src/fusion/registry.js';
import { merge } from '../../src/merge/merge.js';
import { parseMergeRecipe } from '../../src/recipe/merge.js';
import { runCli } from '../helpers/cli.js';
import { DATA, fixture, tempDir } from '../helpers/fixtures.js';

/** A pseudo-terminal: records what is written; `frames` is the text of each redraw, control characters removed. */
function tty(columns = 120): ProgressStream & { raw: string[]; frames(): string[] } {
  const raw: string[] = [];
  return {
    isTTY: true,
    columns,
    write: (s: string) => raw.push(s),
    raw,
    frames: () => raw.map((s) => s.replace(/\r|\x1b\[2K/g, '')),
  };
}

const CONTROL = /[\x00-\x08\x0b-\x1f\x7f]/;

test('status line: spinner frames, then bars naming the step running now, then a cleared line', () => {
  const out = tty();
  let clock = 0;
  const line = statusLine({ stream: out, now: () => clock, spinMs: 0 });
  line.spin('loading members');
  line.spin('loading members');
  line.bar('run a', 0, 4);
  clock = 1000;
  line.bar('run a', 2, 4);
  clock = 1010;
  line.bar('run a', 3, 4); // within the throttle: not drawn
  line.bar('run a', 4, 4); // the last count always is
  line.bar('run b', 0, 4); // a new step draws at once, even within the throttle
  line.bar('build', 0, 0, undefined); // no count: a spinner again
  line.stop();
  const bar = (f: number): string => '█'.repeat(f) + '░'.repeat(24 - f);
  assert.deepEqual(out.frames(), [
    `${SPINNER_FRAMES[0]} loading members`,
    `${SPINNER_FRAMES[1]} loading members`,
    `run a [${bar(0)}] 0% | 0/4`,
    `run a [${bar(12)}] 50% | 2/4 | eta 1s`,
    `run a [${bar(24)}] 100% | 4/4`,
    `run b [${bar(0)}] 0% | 0/4`,
    `${SPINNER_FRAMES[2]} build`,
    '',
  ]);
  // Every redraw starts by returning to column 0 and clearing the line.
  for (const s of out.raw) assert.ok(s.startsWith('\r\x1b[2K'), JSON.stringify(s));
});

test('status line: clipped to the terminal width; a note follows the counts', () => {
  const out = tty(30);
  const line = statusLine({ stream: out, now: () => 0, spinMs: 0 });
  line.bar('train student', 1, 2, 'loss 0.6931');
  line.stop();
  assert.equal(out.frames()[0], 'train student [████████████░…');
  assert.equal(out.frames()[0]!.length, 29);
  const wide = tty(200);
  const l2 = statusLine({ stream: wide, now: () => 0, spinMs: 0 });
  l2.bar('train student', 1, 2, 'loss 0.6931');
  assert.match(wide.frames()[0]!, /\| 1\/2 \| eta 0s \| loss 0\.6931$/);
  l2.stop();
});

test('status line: the spinner animates on its own between calls, and stops with the line', async () => {
  const out = tty();
  const line = statusLine({ stream: out, spinMs: 5 });
  line.spin('loading');
  await new Promise((r) => setTimeout(r, 60));
  line.stop();
  const n = out.frames().length;
  assert.ok(n >= 4, `${n} frames`);
  assert.deepEqual(out.frames().slice(0, 3), SPINNER_FRAMES.slice(0, 3).map((f) => `${f} loading`));
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(out.frames().length, n, 'no frame after stop');
});

test('not a TTY, or quiet: nothing is written', () => {
  for (const [stream, quiet] of [[{ isTTY: false, columns: 80 }, false], [{ isTTY: undefined }, false], [{ isTTY: true, columns: 80 }, true]] as const) {
    const raw: string[] = [];
    const line = statusLine({ stream: { ...stream, write: (s: string) => raw.push(s) }, quiet, spinMs: 1 });
    line.spin('loading');
    line.bar('run a', 1, 2);
    line.stop();
    assert.deepEqual(raw, []);
  }
});

test('eval: each member and each method is named while it runs, from its count 0 (not after its first batch)', async () => {
  const out = tty();
  const line = statusLine({ stream: out, now: () => 0, spinMs: 0 });
  line.spin('loading members');
  const data = path.join(tempDir(), 'rows.tsv');
  const rows = readLabelled(path.join(DATA, 'sst2_dev.tsv'), { labels: ['negative', 'positive'] });
  (await import('node:fs')).writeFileSync(data, ['label\ttext', ...rows.inputs.slice(0, 20).map((x, i) => `${rows.labels[i]}\t${x.text}`)].join('\n') + '\n');
  const prepared = await prepare({ members: [{ path: fixture('sst2-sibling-a') }, { path: fixture('sst2-stranger-b') }], data: { path: data }, evalData: null, labelMap: {}, labels: ['negative', 'positive'], batchSize: 8 }, (s, d, t) =>
    line.bar(`run ${s.member}`, d, t),
  );
  try {
    evaluate(evalInputFrom(prepared), chooseMethods(FUSION_METHODS, 'mean', {}), { folds: 2, seed: 0, resamples: 0, onProgress: (m, d, t) => line.bar(`fit ${m}`, d, t) });
  } finally {
    prepared.close();
  }
  line.stop();
  const steps = out.frames().map((f) => /^(\S+ \S+) \[.*\] \d+% \| (\d+)\/(\d+)/.exec(f)).filter((m) => m !== null).map((m) => `${m[1]} ${m[2]}/${m[3]}`);
  assert.equal(out.frames()[0], `${SPINNER_FRAMES[0]} loading members`);
  // Every step appears first at 0 (when it starts) and ends at its total; steps never interleave.
  assert.deepEqual(steps, ['run sst2-sibling-a 0/20', 'run sst2-sibling-a 20/20', 'run sst2-stranger-b 0/20', 'run sst2-stranger-b 20/20', 'fit mean 0/3', 'fit mean 3/3']);
  for (const f of out.frames()) assert.doesNotMatch(f, CONTROL);
});

test('merge: the phase running now is announced as it starts', async () => {
  const phases: string[] = [];
  const recipe = parseMergeRecipe({ merge_method: 'linear', models: [{ model: fixture('sst2-sibling-a') }, { model: fixture('sst2-sibling-b') }] });
  await merge(recipe, { out: path.join(tempDir(), 'merged'), onProgress: (p, d, t) => phases.push(`${p} ${d}/${t}`) });
  const firsts = phases.filter((p, i) => i === 0 || p.split(' ')[0] !== phases[i - 1]!.split(' ')[0]);
  assert.ok(firsts.length >= 2, phases.join(', '));
  for (const f of firsts) assert.match(f, /^\w+ 0\/\d+$/, `a phase starts at 0: ${firsts.join(', ')}`);
});

test('the CLI on a pipe (not a TTY): stderr has no progress and no control characters', async () => {
  const r = await runCli(['predict', fixture('sst2-sibling-a'), '--text', 'a gorgeous , witty movie .']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  assert.doesNotMatch(r.stdout, /\x1b/);
});
