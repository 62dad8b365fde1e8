import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { distill, temperedTargets } from '../../src/distill/distill.js';
import { DATA, fixture } from '../helpers/fixtures.js';

// Hinton et al. 2015 soften both sides at temperature T: the student's softmax(z / T) is matched to
// the teacher's softmax(z_teacher / T), not to its plain probabilities.

test('tempered targets: softmax(log p / T), e.g. [0.8, 0.2] at T = 2 is [2/3, 1/3]; T = 1 leaves them as they are', () => {
  const two = temperedTargets(Float32Array.from([0.8, 0.2, 0.5, 0.5]), 2, 2);
  // sqrt(0.8) / (sqrt(0.8) + sqrt(0.2)) = 2 / 3 exactly.
  assert.ok(Math.abs(two[0]! - 2 / 3) < 1e-6 && Math.abs(two[1]! - 1 / 3) < 1e-6, String(two));
  assert.deepEqual([...two.subarray(2)], [0.5, 0.5]);
  const p = [0.7, 0.2, 0.1];
  const t = 4;
  const got = temperedTargets(Float32Array.from(p), 3, t);
  const z = p.reduce((s, x) => s + x ** (1 / t), 0);
  p.forEach((x, j) => assert.ok(Math.abs(got[j]! - x ** (1 / t) / z) < 1e-6, `class ${j}: ${got[j]} vs ${x ** (1 / t) / z}`));
  // Softening keeps the order and moves towards uniform.
  assert.ok(got[0]! < p[0]! && got[2]! > p[2]! && got[0]! > got[1]! && got[1]! > got[2]!);
  const same = Float32Array.from([0.9, 0.1]);
  assert.equal(temperedTargets(same, 2, 1), same);
});

test('a student identical to its teacher starts at zero distillation loss at T = 2 (targets softened like the student)', async () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'bertfuse-distill-temperature-'));
  try {
    const texts = path.join(work, 'texts.txt');
    fs.writeFileSync(texts, fs.readFileSync(path.join(DATA, 'sst2_transfer.txt'), 'utf8').split('\n').slice(0, 8).join('\n') + '\n');
    const A = fixture('sst2-sibling-a');
    const r = await distill({ teacher: [A], student: A, texts, temperature: 2, epochs: 1, batchSize: 8, learningRate: 1e-5, dropout: false, out: path.join(work, 'student'), runtime: { threads: 1 } });
    assert.equal(r.train.steps, 1);
    // Unsoftened targets would give T²·KL(p ‖ softmax(z / 2)) ≈ 0.1–0.3 per row on this confident model.
    assert.ok(Math.abs(r.train.firstLoss) < 1e-4, `first loss ${r.train.firstLoss}`);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
});
