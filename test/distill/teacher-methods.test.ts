import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { distill } from '../../src/distill/distill.js';
import { fittedTeacher } from '../../src/distill/fitted-teacher.js';
import { isBertfuseError } from '../../src/errors.js';
import { loadClassifier } from '../../src/runtime/classifier.js';
import { DATA, fixture } from '../helpers/fixtures.js';

// Teacher = members + any fusion method: the method is fitted on the labelled transfer rows exactly
// as `bertfuse combine -m` would, and the student learns from that fused model.

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'bertfuse-teacher-methods-'));
const labelled = path.join(work, 'labelled.tsv');
fs.writeFileSync(labelled, fs.readFileSync(path.join(DATA, 'sst2_dev.tsv'), 'utf8').split('\n').slice(0, 49).join('\n') + '\n');
const texts = path.join(work, 'texts.txt');
fs.writeFileSync(texts, fs.readFileSync(path.join(DATA, 'sst2_transfer.txt'), 'utf8').split('\n').slice(0, 16).join('\n') + '\n');
const A = fixture('sst2-sibling-a');
const B = fixture('sst2-stranger-b');
const runtime = { threads: 1 };
const labels = ['negative', 'positive'];

test('weighted with fixed weights: the teacher\'s probabilities are 0.7·p_a + 0.3·p_b of the members run on their own', async () => {
  const teacher = await fittedTeacher({ members: [A, B], method: 'weighted', params: { weights: '0.7,0.3' }, data: { path: labelled }, labels, runtime });
  const inputs = [{ text: 'a gorgeous , witty , seductive movie .' }, { text: 'dull and overlong .' }, { text: 'it works', text_pair: 'barely .' }];
  try {
    assert.equal(teacher.method, 'weighted');
    assert.deepEqual(teacher.members, [A, B]);
    const got = await teacher.probs(inputs);
    const [ca, cb] = [await loadClassifier(A, { runtime }), await loadClassifier(B, { runtime })];
    const [pa, pb] = [await ca.predictProba(inputs), await cb.predictProba(inputs)];
    await Promise.all([ca.close(), cb.close()]);
    // stranger-b lists its labels the other way round: match by name.
    const col = (c: typeof ca, name: string): number => c.labels.indexOf(name);
    for (let i = 0; i < inputs.length; i++) {
      teacher.labels.forEach((name, j) => {
        const want = 0.7 * pa[i * 2 + col(ca, name)]! + 0.3 * pb[i * 2 + col(cb, name)]!;
        assert.ok(Math.abs(got[i * 2 + j]! - want) < 1e-5, `row ${i} ${name}: ${got[i * 2 + j]} vs ${want}`);
      });
    }
  } finally {
    await teacher.close();
  }
});

test('a method that needs fitting without labelled rows is refused in one line', async () => {
  await assert.rejects(fittedTeacher({ members: [A, B], method: 'stack', data: undefined, runtime }), (e: unknown) => {
    assert.ok(isBertfuseError(e));
    assert.match(e.message, /the teacher's method stack is fitted on labelled rows: give --data/);
    assert.ok(!e.message.includes('\n'));
    return true;
  });
});

test('distill from members + stack: the student is scored beside the stacked teacher', async () => {
  const out = path.join(work, 'student');
  const teacherDirs = (): string[] => fs.readdirSync(os.tmpdir()).filter((d) => d.startsWith('bertfuse-distill-teacher-'));
  const before = teacherDirs();
  const r = await distill({ teacher: [A, B], method: 'stack', texts, data: { path: labelled }, labels, evalData: { path: labelled }, student: A, epochs: 1, batchSize: 16, learningRate: 3e-4, out, runtime });
  assert.match(r.teacher, /^stack\(sst2-sibling-a, sst2-stranger-b\)$/);
  assert.ok(r.evaluation, 'the members are known, so the table is there');
  const names = r.evaluation.rows.map((row) => row.name);
  assert.ok(names.includes('teacher (stack)') && names.some((n) => n.startsWith('student')), names.join(', '));
  const manifest = JSON.parse(fs.readFileSync(path.join(out, 'bertfuse-distill.json'), 'utf8')) as { teacher: { method: string } };
  assert.equal(manifest.teacher.method, 'stack');
  // The temporary combined teacher is gone.
  assert.deepEqual(teacherDirs(), before);
});
