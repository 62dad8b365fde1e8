import assert from 'node:assert/strict';
import { test } from 'node:test';
import { correctness, gainRetention } from '../../src/distill/retention.js';

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
