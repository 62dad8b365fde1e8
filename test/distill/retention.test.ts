import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bootstrap } from '../../src/eval/bootstrap.js';
import { accuracy, logLoss } from '../../src/eval/metrics.js';
import { correctness, gainRetention, scoreRetention } from '../../src/distill/retention.js';

const bits = (s: string): Uint8Array => Uint8Array.from(s, (c) => Number(c));

test('gain retention: (student − best member) / (teacher − best member), best member chosen by accuracy', () => {
  // 10 rows: member A 6/10, member B 5/10, teacher 8/10, student 7/10 → (0.7 − 0.6) / (0.8 − 0.6) = 0.5
  const r = gainRetention(bits('1111111000'), bits('1111111100'), new Map([['A', bits('1111110000')], ['B', bits('1111100000')]]), { resamples: 500 });
  assert.equal(r.bestMember, 'A');
  assert.ok(Math.abs(r.retention! - 0.5) < 1e-12, String(r.retention));
  assert.equal(r.student, 0.7);
  assert.ok(r.ci && r.ci[0] <= r.ci[1]);
});

test('gain retention is undefined when the teacher does not beat the best member', () => {
  const r = gainRetention(bits('1100'), bits('1000'), new Map([['A', bits('1100')]]));
  assert.equal(r.retention, null);
  assert.equal(r.ci, null);
});

test('correctness compares the argmax with the gold label', () => {
  assert.deepEqual([...correctness([0.2, 0.8, 0.9, 0.1, 0.4, 0.6], [1, 1, 0], 2)], [1, 0, 0]);
});

/** Two-class probabilities [n, 2] whose gold-class probability (gold = 1 on every row) is `p[i]`. */
const gold1 = (p: readonly number[]): Float64Array => Float64Array.from(p.flatMap((q) => [1 - q, q]));

function setup(models: Record<string, readonly number[]>) {
  const probs = new Map(Object.entries(models).map(([k, v]) => [k, gold1(v)] as const));
  const gold = new Int32Array(Object.values(models)[0]!.length).fill(1);
  const samples = bootstrap(probs, gold, 2, { seed: 3, resamples: 400 });
  const scores = new Map([...probs].map(([k, p]) => [k, { accuracy: accuracy(p, gold, 2), logLoss: logLoss(p, gold, 2) }] as const));
  return { samples, scores };
}

test('log-loss gain retention: (best − student) / (best − teacher) on the mean −log p(gold), interval from the paired rounds', () => {
  // A beats B on every row, the teacher beats A on every row: A is the best member in every round.
  const A = [0.6, 0.7, 0.8, 0.55, 0.9, 0.65, 0.75, 0.6];
  const B = A.map((q) => q - 0.05);
  const T = A.map((q) => Math.min(0.99, q + 0.08));
  const S = A.map((a, i) => (a + T[i]!) / 2);
  const { samples, scores } = setup({ A, B, T, S, copyT: T, copyA: A });
  const mean = (v: readonly number[]): number => v.reduce((s, q) => s - Math.log(q), 0) / v.length;
  const expected = (mean(A) - mean(S)) / (mean(A) - mean(T));
  const r = scoreRetention(samples, scores, { student: 'S', teacher: 'T', members: ['A', 'B'] }, 'logLoss');
  assert.equal(r.bestMember, 'A');
  assert.ok(Math.abs(r.retention! - expected) < 1e-9, `${r.retention} vs ${expected}`);
  assert.ok(r.retention! > 0.3 && r.retention! < 0.7);
  assert.ok(r.determined && r.teacherGainCi.low > 0);
  assert.ok(r.ci!.low <= r.retention! && r.retention! <= r.ci!.high);
  // A student that IS the teacher keeps all of the gain in every round; one that is the best member keeps none.
  const all = scoreRetention(samples, scores, { student: 'copyT', teacher: 'T', members: ['A', 'B'] }, 'logLoss');
  assert.deepEqual([all.retention, all.ci!.low, all.ci!.high].map((x) => Math.round(x! * 1e9) / 1e9), [1, 1, 1]);
  const none = scoreRetention(samples, scores, { student: 'copyA', teacher: 'T', members: ['A', 'B'] }, 'logLoss');
  assert.deepEqual([none.retention, none.ci!.low, none.ci!.high], [0, 0, 0]);
});

test('accuracy gain retention is undetermined when the interval of the teacher gain reaches 0', () => {
  // Against A (7/10), the teacher gets rows 5 and 6 right and loses row 8: 8/10, +1 row net on 3 discordant rows.
  const A = [0.9, 0.9, 0.9, 0.9, 0.9, 0.4, 0.4, 0.4, 0.9, 0.9];
  const T = [0.9, 0.9, 0.9, 0.9, 0.9, 0.6, 0.6, 0.4, 0.4, 0.9];
  const S = [0.9, 0.9, 0.9, 0.9, 0.9, 0.6, 0.4, 0.4, 0.9, 0.9];
  const { samples, scores } = setup({ A, T, S });
  const r = scoreRetention(samples, scores, { student: 'S', teacher: 'T', members: ['A'] }, 'accuracy');
  assert.ok(Math.abs(r.retention! - 1) < 1e-9, String(r.retention));
  assert.ok(r.teacherGainCi.low <= 0, JSON.stringify(r.teacherGainCi));
  assert.equal(r.determined, false);
  const worse = scoreRetention(samples, scores, { student: 'S', teacher: 'A', members: ['T'] }, 'accuracy');
  assert.equal(worse.retention, null);
  assert.equal(worse.ci, null);
});
