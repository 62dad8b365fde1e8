import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { loadCheckpoint } from '../../src/checkpoint/load.js';
import { distill } from '../../src/distill/distill.js';
import { BertfuseError } from '../../src/errors.js';
import { loadClassifier } from '../../src/runtime/classifier.js';
import { isOneLineError, runCli } from '../helpers/cli.js';
import { DATA, fixture } from '../helpers/fixtures.js';

// WiSE-FT: the written weights are (1 − λ)·start + λ·distilled, checked tensor by tensor against the
// start's file and the same run without interpolation (same seed and data → same distilled weights).

const A = fixture('sst2-sibling-a');
const B = fixture('sst2-stranger-b');

function readAll(dir: string): Map<string, Float32Array> {
  const c = loadCheckpoint(dir);
  try {
    return new Map(c.tensors.names().map((n) => [n, c.tensors.read(n).data] as const));
  } finally {
    c.close();
  }
}

test('--interpolate λ writes (1 − λ)·start + λ·distilled for every tensor; the card and manifest say so; the folder predicts', async () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'bertfuse-distill-interpolate-'));
  try {
    const texts = path.join(work, 'texts.txt');
    fs.writeFileSync(texts, fs.readFileSync(path.join(DATA, 'sst2_transfer.txt'), 'utf8').split('\n').slice(0, 32).join('\n') + '\n');
    // A rate large enough that two steps move every trained tensor visibly.
    const common = { teacher: [A, B], method: 'mean', student: B, texts, epochs: 1, batchSize: 16, learningRate: 2e-3, dropout: false, runtime: { threads: 1 } } as const;
    const plain = path.join(work, 'plain');
    const mixed = path.join(work, 'mixed');
    await distill({ ...common, out: plain });
    const r = await distill({ ...common, out: mixed, interpolate: 0.3 });
    assert.equal(r.train.steps, 2);
    const start = readAll(B);
    const distilled = readAll(plain);
    const written = readAll(mixed);
    assert.deepEqual([...written.keys()].sort(), [...distilled.keys()].sort());
    let moved = 0;
    for (const [name, w] of written) {
      const s = start.get(name);
      const d = distilled.get(name)!;
      assert.ok(s, `${name} is not in the start`);
      assert.equal(w.length, s.length, name);
      let diff = 0;
      let travel = 0;
      for (let i = 0; i < w.length; i++) {
        // Independent of the implementation: float64 arithmetic on the two files' values.
        const want = 0.7 * s[i]! + 0.3 * d[i]!;
        diff = Math.max(diff, Math.abs(w[i]! - want) / Math.max(1, Math.abs(want)));
        travel = Math.max(travel, Math.abs(d[i]! - s[i]!));
      }
      assert.ok(diff < 1e-6, `${name}: off by ${diff}`);
      if (travel > 1e-4) moved++;
    }
    // The check above means something only if training moved the weights.
    assert.ok(moved > written.size / 2, `only ${moved} of ${written.size} tensors moved`);
    const manifest = JSON.parse(fs.readFileSync(path.join(mixed, 'bertfuse-distill.json'), 'utf8')) as { options: { interpolate: number } };
    assert.equal(manifest.options.interpolate, 0.3);
    assert.match(fs.readFileSync(path.join(mixed, 'README.md'), 'utf8'), /λ = 0\.3/);
    // model.onnx is built from the interpolated weights: its predictions differ from both ends.
    const rows = ['a gorgeous , witty , seductive movie .', 'the plot is nothing but boilerplate clichés .'].map((text) => ({ text }));
    const probs = async (dir: string): Promise<Float32Array> => {
      const c = await loadClassifier(dir);
      try {
        return await c.predictProba(rows);
      } finally {
        await c.close();
      }
    };
    const [pm, pd, ps] = [await probs(mixed), await probs(plain), await probs(B)];
    for (let i = 0; i < pm.length; i++) assert.ok(Number.isFinite(pm[i]!));
    assert.ok(pm.some((x, i) => Math.abs(x - pd[i]!) > 1e-6) && pm.some((x, i) => Math.abs(x - ps[i]!) > 1e-6), 'the interpolated model predicts like one of its ends');
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
});

test('--interpolate refuses a --student-layers student before any work (one line), and a λ outside [0, 1]', async () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'bertfuse-distill-interpolate-'));
  try {
    const texts = path.join(work, 'texts.txt');
    fs.writeFileSync(texts, 'a fine film .\n');
    const out = path.join(work, 'half');
    await assert.rejects(
      distill({ teacher: [A], student: A, studentLayers: 1, texts, interpolate: 0.5, out }),
      (e: unknown) => e instanceof BertfuseError && e.code === 'E_USAGE' && /--interpolate needs a student with its start's architecture/.test(e.message) && /--student-layers/.test(e.message),
    );
    assert.ok(!fs.existsSync(out));
    await assert.rejects(distill({ teacher: [A], student: A, texts, interpolate: 1.5, out }), (e: unknown) => e instanceof BertfuseError && /between 0/.test(e.message));
    const cli = await runCli(['distill', A, '--student', A, '--student-layers', '1', '--interpolate', '0.5', '--texts', texts, '--out', out]);
    assert.ok(isOneLineError(cli), cli.stderr);
    assert.match(cli.stderr, /--interpolate needs a student/);
    assert.ok(!fs.existsSync(out));
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
});
