import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import YAML from 'yaml';
import { createRandomCheckpoint } from '../../src/checkpoint/random.js';
import { sweepStaleTemps, withTempDir } from '../../src/util/atomic.js';
import { cliEntry } from '../helpers/cli.js';
import { hashTree, tempLeftovers } from '../helpers/corrupt.js';
import { ROOT, fixture, tempDir } from '../helpers/fixtures.js';
import { smallTsv } from './artifacts.js';

/*
 * kill -9 in the middle of a merge must leave the destination untouched: absent if it did not
 * exist, byte-identical if it held an earlier merge. The members are random checkpoints big enough
 * (≈ 12 MB each) that the kill lands while the weights are being written; the test checks that it
 * did (a partial temp file existed at the moment of the kill) rather than assuming it.
 */

const root = tempDir('bertfuse-rel-kill-');
const SIZE = { hiddenSize: 192, numLayers: 3, numHeads: 4, intermediateSize: 768, vocabSize: 8192, maxPositions: 128 };
let recipe = '';

before(async () => {
  await createRandomCheckpoint(path.join(root, 'a'), { ...SIZE, seed: 1 });
  await createRandomCheckpoint(path.join(root, 'b'), { ...SIZE, seed: 2 });
  recipe = path.join(root, 'recipe.yaml');
  // onnx: true so the run writes two large files (weights, then the graph): more of it is "mid-write".
  fs.writeFileSync(recipe, YAML.stringify({ merge_method: 'linear', models: [{ model: path.join(root, 'a') }, { model: path.join(root, 'b') }], parameters: { weight: 1 }, onnx: true }));
});

function startMerge(out: string, recipeFile = recipe): ChildProcess {
  return spawn(process.execPath, [...cliEntry(), 'merge', recipeFile, '--out', out, '--quiet'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stderr })));
}

/** Files under the temp build folder(s) beside `out` whose own name marks them as being written. */
function partialFiles(out: string): { name: string; size: number }[] {
  const found: { name: string; size: number }[] = [];
  for (const t of tempLeftovers(path.dirname(out))) {
    const dir = path.join(path.dirname(out), t);
    if (!fs.statSync(dir).isDirectory()) continue;
    for (const f of fs.readdirSync(dir)) {
      if (f.startsWith('.bertfuse-tmp-')) {
        try {
          found.push({ name: f, size: fs.statSync(path.join(dir, f)).size });
        } catch {
          // renamed between readdir and stat: not partial any more
        }
      }
    }
  }
  return found;
}

/** Polls (busy, ~1 ms) until a partial weights/graph file is being written, then SIGKILLs the child. */
async function killMidWrite(child: ChildProcess, out: string, done: Promise<unknown>): Promise<{ name: string; size: number }> {
  let finished = false;
  void done.then(() => (finished = true));
  const deadline = Date.now() + 120_000;
  while (!finished && Date.now() < deadline) {
    const partial = partialFiles(out).find((p) => p.size > 0);
    if (partial) {
      child.kill('SIGKILL');
      if (process.env['BERTFUSE_KILL_VERBOSE']) console.log(`killed at ${partial.name} ${partial.size} bytes`);
      return partial;
    }
    await new Promise((r) => setImmediate(r));
  }
  child.kill('SIGKILL');
  throw new Error('the merge finished (or timed out) before any partial file was seen: make the members bigger');
}

describe('interrupted runs: kill -9 mid-merge leaves the destination untouched', () => {
  test('a fresh destination does not appear', { timeout: 180_000 }, async () => {
    const out = path.join(root, 'fresh', 'merged');
    fs.mkdirSync(path.dirname(out), { recursive: true });
    const child = startMerge(out);
    const done = exited(child);
    const partial = await killMidWrite(child, out, done);
    const r = await done;
    assert.equal(r.signal, 'SIGKILL', `the child was killed (code ${r.code}, stderr ${r.stderr})`);
    assert.ok(partial.size > 0, `killed while ${partial.name} held ${partial.size} bytes`);
    assert.ok(!fs.existsSync(out), 'destination must not exist');
    // What is left is only the temp build folder, named as such.
    assert.ok(fs.readdirSync(path.dirname(out)).every((f) => f.startsWith('.bertfuse-tmp-merged-')), fs.readdirSync(path.dirname(out)).join(', '));
  });

  test('an existing merge output stays byte-identical; a rerun completes and sweeps the dead temp folder', { timeout: 300_000 }, async () => {
    const out = path.join(root, 'existing', 'merged');
    fs.mkdirSync(path.dirname(out), { recursive: true });
    // A complete earlier merge (different recipe: weights 0.3/0.7), which the killed run would replace.
    const earlier = path.join(root, 'earlier.yaml');
    fs.writeFileSync(earlier, YAML.stringify({ merge_method: 'linear', models: [{ model: path.join(root, 'a'), parameters: { weight: 0.3 } }, { model: path.join(root, 'b'), parameters: { weight: 0.7 } }], onnx: true }));
    const first = await exited(startMerge(out, earlier));
    assert.equal(first.code, 0, first.stderr);
    const before = await hashTree(out);
    assert.ok(Object.keys(before).some((f) => f.endsWith('.safetensors')));

    const child = startMerge(out);
    const done = exited(child);
    await killMidWrite(child, out, done);
    assert.equal((await done).signal, 'SIGKILL');
    assert.deepEqual(await hashTree(out), before, 'every file of the earlier merge is unchanged');
    const left = tempLeftovers(path.dirname(out));
    assert.equal(left.length, 1, `the killed run left its temp folder: ${left.join(', ')}`);

    const again = await exited(startMerge(out));
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(tempLeftovers(path.dirname(out)), [], 'the dead run\'s temp folder was swept');
    assert.notDeepEqual(await hashTree(out), before, 'the rerun replaced the earlier merge');
  });
});

describe('interrupted runs: kill -9 mid-combine leaves the destination untouched', () => {
  test('an existing combined folder stays byte-identical when a combine replacing it is killed while building', { timeout: 300_000 }, async () => {
    const dir = path.join(root, 'combine');
    fs.mkdirSync(dir, { recursive: true });
    const data = smallTsv(dir, 24);
    const out = path.join(dir, 'combined');
    const recipe = (method: string): string => {
      const file = path.join(dir, `${method}.yaml`);
      fs.writeFileSync(file, YAML.stringify({ members: [fixture('sst2-sibling-a'), fixture('sst2-stranger-b')], data, labels: ['negative', 'positive'], method, folds: 2, out }));
      return file;
    };
    const cli = (file: string): ChildProcess => spawn(process.execPath, [...cliEntry(), 'combine', '--recipe', file, '--quiet'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const first = await exited(cli(recipe('mean')));
    assert.equal(first.code, 0, first.stderr);
    const before = await hashTree(out);
    const child = cli(recipe('vote'));
    const done = exited(child);
    // The combined folder is built in a temp sibling: kill as soon as that sibling exists.
    let finished = false;
    void done.then(() => (finished = true));
    let seen = '';
    while (!finished && !seen) {
      seen = tempLeftovers(dir).find((t) => t.startsWith('.bertfuse-tmp-combined-')) ?? '';
      if (!seen) await new Promise((r) => setImmediate(r));
    }
    child.kill('SIGKILL');
    const r = await done;
    assert.ok(seen, `the combine finished before its temp folder was seen (code ${r.code})`);
    assert.equal(r.signal, 'SIGKILL');
    assert.deepEqual(await hashTree(out), before, 'the earlier combined folder is unchanged');
  });
});

describe('interrupted runs: stale temp siblings', () => {
  test('only temp siblings of dead processes are swept; a moved-aside previous output is put back', async () => {
    const dir = path.join(root, 'sweep');
    fs.mkdirSync(dir);
    const dest = path.join(dir, 'out');
    // A pid that cannot be alive (above the kernel's pid_max ceiling), ours, and a backup.
    fs.mkdirSync(path.join(dir, '.bertfuse-tmp-out-4194305-deadbeef'));
    fs.mkdirSync(path.join(dir, `.bertfuse-tmp-out-${process.pid}-0badf00d`));
    fs.mkdirSync(path.join(dir, '.bertfuse-old-out-4194305-feedface'));
    fs.mkdirSync(path.join(dir, '.bertfuse-tmp-other-4194305-deadbeef'));
    assert.deepEqual(sweepStaleTemps(dest), ['.bertfuse-tmp-out-4194305-deadbeef']);
    // The destination was missing, so the swap was cut between its renames: the old output is restored.
    assert.deepEqual(fs.readdirSync(dir).sort(), ['out', `.bertfuse-tmp-other-4194305-deadbeef`, `.bertfuse-tmp-out-${process.pid}-0badf00d`].sort());
    await withTempDir(dest, (tmp) => fs.writeFileSync(path.join(tmp, 'x'), 'y'));
    assert.equal(fs.readFileSync(path.join(dest, 'x'), 'utf8'), 'y');
  });

  test('a failing build leaves neither the destination nor a temp folder', async () => {
    const dest = path.join(root, 'failing', 'out');
    await assert.rejects(
      withTempDir(dest, (tmp) => {
        fs.writeFileSync(path.join(tmp, 'half'), 'x');
        throw new Error('boom');
      }),
      /boom/,
    );
    assert.ok(!fs.existsSync(dest));
    assert.deepEqual(tempLeftovers(path.dirname(dest)), []);
  });
});
