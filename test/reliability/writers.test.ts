import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import YAML from 'yaml';
import { sweepStaleTemps } from '../../src/util/atomic.js';
import { OWNERSHIP_FILE } from '../../src/util/ownership.js';
import { isOneLineError, type CliResult } from '../helpers/cli.js';
import { hashTree, tempLeftovers } from '../helpers/corrupt.js';
import { fixture, tempDir } from '../helpers/fixtures.js';
import { smallTsv } from './artifacts.js';
import { cliInProcess } from './in-process.js';

/*
 * Writers replace a folder only when bertfuse wrote it and nothing was added or changed since
 * (its bertfuse-files.json parses and lists exactly what is there), and never the current folder,
 * one of its parents, or a link. Every refusal: exit ≠ 0, one line naming the folder, no stack, and
 * the user's files byte-identical.
 */

const root = tempDir('bertfuse-rel-writers-');
const TINY = ['--hidden', '32', '--layers', '1', '--heads', '2', '--intermediate', '64', '--vocab', '200', '--max-positions', '32'];
const randomCkpt = (out: string, seed = 0, cwd?: string): Promise<CliResult> => cliInProcess(['random-checkpoint', out, ...TINY, '--seed', String(seed)], cwd ? { cwd } : {});

/** A folder of the user's: notes and a nested data file. */
function userFolder(dir: string, extra: Record<string, string> = {}): string {
  fs.mkdirSync(path.join(dir, 'data'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'notes.md'), '# chapter 1\n');
  fs.writeFileSync(path.join(dir, 'data', 'train.csv'), 'text,label\nhi,1\n');
  for (const [name, text] of Object.entries(extra)) fs.writeFileSync(path.join(dir, name), text);
  return dir;
}

/** sha256 of every file under `dir` by relative path, not following links (a link to '.' would loop). */
function hashFolder(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const name of fs.readdirSync(d).sort()) {
      const p = path.join(d, name);
      const st = fs.lstatSync(p);
      if (st.isDirectory()) walk(p);
      else out[path.relative(dir, p)] = st.isSymbolicLink() ? `link:${fs.readlinkSync(p)}` : createHash('sha256').update(fs.readFileSync(p)).digest('hex');
    }
  };
  walk(dir);
  return out;
}

/** The refusal every case expects, and that `dir` (and what is beside it) did not change. */
async function assertRefusedUnchanged(run: () => Promise<CliResult>, dir: string, pattern: RegExp): Promise<void> {
  const before = hashFolder(dir);
  const r = await run();
  assert.ok(isOneLineError(r), `exit ${r.code}, stderr: ${r.stderr}`);
  assert.match(r.stderr, pattern);
  assert.deepEqual(hashFolder(dir), before, 'the user\'s files are byte-identical');
  assert.deepEqual(tempLeftovers(path.dirname(path.resolve(dir))), [], 'no temp sibling left');
}

describe('writers: never replace a folder bertfuse did not write', () => {
  test('random-checkpoint into a thesis folder (notes, data) is refused and names what is not ours', async () => {
    const thesis = userFolder(path.join(root, 'thesis'));
    await assertRefusedUnchanged(() => randomCkpt(thesis), thesis, /thesis: is not a bertfuse output \(no bertfuse-files\.json; it holds "data\/train\.csv", "notes\.md"\); refusing to replace it/);
  });

  test('random-checkpoint . / .. / a link to the current folder: the current folder and its parents are never replaced', async () => {
    const project = path.join(root, 'project');
    const inner = path.join(project, 'src');
    fs.mkdirSync(inner, { recursive: true });
    fs.writeFileSync(path.join(project, 'a.txt'), 'x');
    fs.symlinkSync('.', path.join(inner, 'here'));
    for (const out of ['.', '..', 'here', `${inner}/./`]) {
      await assertRefusedUnchanged(() => randomCkpt(out, 0, inner), project, /(is the current folder or one of its parents|is a symbolic link)/);
    }
  });

  test('the current folder is refused even when it is an untouched bertfuse output', async () => {
    const own = path.join(root, 'own-cwd');
    assert.equal((await randomCkpt(own)).code, 0);
    await assertRefusedUnchanged(() => randomCkpt('.', 1, own), own, /own-cwd: is the current folder or one of its parents/);
  });

  test('merge merge.yaml --out . in a project that holds a merge.yaml is refused', async () => {
    const project = userFolder(path.join(root, 'merge-project'));
    const a = path.join(root, 'ckpt-a');
    assert.equal((await randomCkpt(a, 1)).code, 0);
    fs.writeFileSync(path.join(project, 'merge.yaml'), YAML.stringify({ merge_method: 'linear', parameters: { weight: 1 }, models: [{ model: a }, { model: a }] }));
    await assertRefusedUnchanged(() => cliInProcess(['merge', 'merge.yaml', '--out', '.', '--quiet'], { cwd: project }), project, /merge-project: is the current folder or one of its parents/);
    // The same folder named from outside: not ours either (it holds the user's files).
    await assertRefusedUnchanged(() => cliInProcess(['merge', path.join(project, 'merge.yaml'), '--out', project, '--quiet']), project, /merge-project: is not a bertfuse output .*"merge\.yaml"/);
  });

  test('a file added to an earlier output, or an earlier output with a changed file, is refused (random-checkpoint, merge)', async () => {
    const out = path.join(root, 'earlier');
    assert.equal((await randomCkpt(out)).code, 0);
    fs.writeFileSync(path.join(out, 'my-notes.txt'), 'do not lose');
    await assertRefusedUnchanged(() => randomCkpt(out, 2), out, /earlier: holds "my-notes\.txt", which bertfuse did not write; refusing/);
    fs.rmSync(path.join(out, 'my-notes.txt'));
    fs.appendFileSync(path.join(out, 'config.json'), ' ');
    await assertRefusedUnchanged(() => randomCkpt(out, 2), out, /earlier: "config\.json" changed since bertfuse wrote it/);
    // A same-size edit is caught too (small files are hashed, not only sized).
    const merged = path.join(root, 'merged');
    const recipe = path.join(root, 'recipe.yaml');
    fs.writeFileSync(recipe, YAML.stringify({ merge_method: 'linear', parameters: { weight: 1 }, models: [{ model: path.join(root, 'earlier') }, { model: path.join(root, 'earlier') }] }));
    fs.rmSync(out, { recursive: true });
    assert.equal((await randomCkpt(out)).code, 0);
    const cfg = path.join(out, 'config.json');
    fs.writeFileSync(cfg, fs.readFileSync(cfg, 'utf8').replace('"bert"', '"bort"'));
    await assertRefusedUnchanged(() => randomCkpt(out, 2), out, /earlier: "config\.json" changed since bertfuse wrote it/);
    fs.writeFileSync(cfg, fs.readFileSync(cfg, 'utf8').replace('"bort"', '"bert"'));
    assert.equal((await cliInProcess(['merge', recipe, '--out', merged, '--quiet'])).code, 0);
    const readme = path.join(merged, 'README.md');
    fs.writeFileSync(readme, fs.readFileSync(readme, 'utf8').replace(/a/, 'b'));
    await assertRefusedUnchanged(() => cliInProcess(['merge', recipe, '--out', merged, '--quiet']), merged, /merged: "README\.md" changed since bertfuse wrote it/);
    fs.mkdirSync(path.join(merged, 'extra-dir'));
    await assertRefusedUnchanged(() => cliInProcess(['merge', recipe, '--out', merged, '--quiet']), merged, /merged: holds "extra-dir\/", which bertfuse did not write/);
  });

  test('a bertfuse-files.json that does not parse, or is not ours, means "not ours"', async () => {
    for (const [name, text] of [
      ['garbage', '{"format": "bertfuse-files", '],
      ['other-format', JSON.stringify({ format: 'something-else', version: 1, kind: 'x', files: [] })],
      ['bad-files', JSON.stringify({ format: 'bertfuse-files', version: 1, kind: 'x', files: [{ path: 1 }] })],
      ['proto', '{"__proto__": {"format": "bertfuse-files", "version": 1, "kind": "x", "files": []}}'],
    ] as const) {
      const dir = path.join(root, `forged-${name}`);
      fs.mkdirSync(dir);
      fs.writeFileSync(path.join(dir, OWNERSHIP_FILE), text);
      fs.writeFileSync(path.join(dir, 'results.csv'), 'a,b\n');
      await assertRefusedUnchanged(() => randomCkpt(dir), dir, new RegExp(`forged-${name}: (its bertfuse-files\\.json does not parse|holds "results\\.csv")`));
    }
  });

  test('an output that is a file, or a link to a folder, is refused', async () => {
    const file = path.join(root, 'paper.tex');
    fs.writeFileSync(file, '\\documentclass{article}');
    const r = await randomCkpt(file);
    assert.ok(isOneLineError(r), r.stderr);
    assert.match(r.stderr, /paper\.tex: exists and is not a folder/);
    assert.equal(fs.readFileSync(file, 'utf8'), '\\documentclass{article}');
    const target = path.join(root, 'link-target');
    assert.equal((await randomCkpt(target)).code, 0);
    fs.symlinkSync(target, path.join(root, 'link'));
    await assertRefusedUnchanged(() => randomCkpt(path.join(root, 'link')), target, /link: is a symbolic link/);
  });

  test('an untouched earlier output is replaced; an empty folder is used', async () => {
    const out = path.join(root, 'rerun');
    assert.equal((await randomCkpt(out, 1)).code, 0);
    const first = await hashTree(out);
    const r = await randomCkpt(out, 2);
    assert.equal(r.code, 0, r.stderr);
    assert.notDeepEqual(await hashTree(out), first);
    const empty = path.join(root, 'empty');
    fs.mkdirSync(empty);
    assert.equal((await randomCkpt(empty)).code, 0);
    // Every file written is listed in the record, and nothing else is in the folder.
    const record = JSON.parse(fs.readFileSync(path.join(empty, OWNERSHIP_FILE), 'utf8')) as { kind: string; files: { path: string }[] };
    assert.equal(record.kind, 'random-checkpoint');
    assert.deepEqual(record.files.map((f) => f.path).sort(), Object.keys(await hashTree(empty)).filter((f) => f !== OWNERSHIP_FILE).sort());
  });
});

describe('writers: combine and report keep what the user added', () => {
  const dir = path.join(root, 'combine');
  let data = '';
  before(() => {
    fs.mkdirSync(dir);
    data = smallTsv(dir, 16);
  });
  const combineArgs = (out: string): string[] => ['combine', fixture('sst2-sibling-a'), fixture('sst2-sibling-b'), '--data', data, '--labels', 'negative,positive', '--method', 'mean', '--folds', '2', '--out', out, '--quiet'];

  test('a re-run of combine refuses a combined folder the user added notes to, and replaces it once they are gone', async () => {
    const out = path.join(dir, 'combined');
    const first = await cliInProcess(combineArgs(out));
    assert.equal(first.code, 0, first.stderr);
    fs.writeFileSync(path.join(out, 'NOTES.md'), 'accuracy looked odd on row 12');
    fs.mkdirSync(path.join(out, 'onnx', 'mine'));
    fs.writeFileSync(path.join(out, 'onnx', 'mine', 'variant.onnx'), 'x');
    await assertRefusedUnchanged(() => cliInProcess(combineArgs(out)), out, /combined: holds "NOTES\.md", "onnx\/mine\/variant\.onnx", which bertfuse did not write/);
    fs.rmSync(path.join(out, 'NOTES.md'));
    fs.rmSync(path.join(out, 'onnx', 'mine'), { recursive: true });
    const again = await cliInProcess(combineArgs(out));
    assert.equal(again.code, 0, again.stderr);
  });

  test('report --out replaces only an earlier bertfuse report, never another file', async () => {
    const out = path.join(dir, 'combined');
    const page = path.join(dir, 'report.html');
    assert.equal((await cliInProcess(['report', out, '--out', page])).code, 0);
    assert.equal((await cliInProcess(['report', out, '--out', page, '--title', 'again'])).code, 0, 'its own page is replaced');
    assert.match(fs.readFileSync(page, 'utf8'), /<title>again/);
    for (const [name, text] of [['thesis.tex', '\\section{x}'], ['index.html', '<!DOCTYPE html><html><head><title>my site</title>'], ['empty.html', '']] as const) {
      const file = path.join(dir, name);
      fs.writeFileSync(file, text);
      const r = await cliInProcess(['report', out, '--out', file]);
      assert.ok(isOneLineError(r), r.stderr);
      assert.match(r.stderr, new RegExp(`${name.replace('.', '\\.')}: exists and was not written by bertfuse; refusing to replace it`));
      assert.equal(fs.readFileSync(file, 'utf8'), text);
    }
  });
});

describe('writers: a swap cut by kill -9 between its two renames', () => {
  const DEAD = 4194305; // above the kernel's pid_max ceiling: never alive
  test('destination missing: the moved-aside previous output is put back, byte for byte, before the next write', async () => {
    const dir = path.join(root, 'cut-1');
    fs.mkdirSync(dir);
    const out = path.join(dir, 'model');
    assert.equal((await randomCkpt(out, 1)).code, 0);
    const before = await hashTree(out);
    fs.renameSync(out, path.join(dir, `.bertfuse-old-model-${DEAD}-0123abcd`));
    // Every writer sweeps first: the previous output comes back whether or not the run then succeeds.
    assert.deepEqual(sweepStaleTemps(out), []);
    assert.deepEqual(await hashTree(out), before);
    assert.deepEqual(fs.readdirSync(dir), ['model']);
    // … and, being an untouched bertfuse output, it may then be replaced.
    assert.equal((await randomCkpt(out, 2)).code, 0);
    assert.notDeepEqual(await hashTree(out), before);
  });

  test('destination present (the swap finished): the leftover old copy is removed by the next write; other folders\' leftovers stay', async () => {
    const dir = path.join(root, 'cut-2');
    fs.mkdirSync(dir);
    const out = path.join(dir, 'model');
    assert.equal((await randomCkpt(out, 1)).code, 0);
    fs.cpSync(out, path.join(dir, `.bertfuse-old-model-${DEAD}-0123abcd`), { recursive: true });
    fs.cpSync(out, path.join(dir, `.bertfuse-old-model-2-${DEAD}-0123abcd`), { recursive: true });
    assert.equal((await randomCkpt(out, 2)).code, 0);
    assert.deepEqual(fs.readdirSync(dir).sort(), [`.bertfuse-old-model-2-${DEAD}-0123abcd`, 'model']);
  });

  test('a restored previous output that the user had changed is still protected', async () => {
    const dir = path.join(root, 'cut-3');
    fs.mkdirSync(dir);
    const out = path.join(dir, 'model');
    assert.equal((await randomCkpt(out, 1)).code, 0);
    fs.writeFileSync(path.join(out, 'mine.txt'), 'x');
    fs.renameSync(out, path.join(dir, `.bertfuse-old-model-${DEAD}-0123abcd`));
    const r = await randomCkpt(out, 2);
    assert.ok(isOneLineError(r), r.stderr);
    assert.match(r.stderr, /model: holds "mine\.txt"/);
    assert.equal(fs.readFileSync(path.join(out, 'mine.txt'), 'utf8'), 'x');
  });
});
