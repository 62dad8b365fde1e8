import assert from 'node:assert/strict';
import { test } from 'node:test';
import { minimizeScalar } from '../../src/optim/scalar.js';

test('Brent finds the vertex of a parabola', () => {
  const r = minimizeScalar((x) => (x - 2) ** 2 + 3, -10, 10);
  assert.ok(Math.abs(r.x - 2) < 1e-7, `x = ${r.x}`);
  assert.ok(Math.abs(r.f - 3) < 1e-12);
  assert.ok(r.iterations < 20, `parabolic steps should converge fast, took ${r.iterations}`);
});

test('Brent finds a non-quadratic minimum (x·e^x has its minimum at -1)', () => {
  const r = minimizeScalar((x) => x * Math.exp(x), -5, 3);
  assert.ok(Math.abs(r.x + 1) < 1e-6, `x = ${r.x}`);
  assert.ok(Math.abs(r.f + Math.exp(-1)) < 1e-12);
});

test('Brent handles a kink (|x - 0.3|) by golden section', () => {
  const r = minimizeScalar((x) => Math.abs(x - 0.3), -1, 1);
  assert.ok(Math.abs(r.x - 0.3) < 1e-7, `x = ${r.x}`);
});

test('Brent approaches a minimum at the bound without evaluating outside', () => {
  const seen: number[] = [];
  const r = minimizeScalar((x) => (seen.push(x), x), 1, 4);
  assert.ok(r.x - 1 < 1e-6);
  assert.ok(seen.every((x) => x > 1 && x < 4));
});

test('Brent refuses an empty bracket', () => {
  assert.throws(() => minimizeScalar((x) => x, 2, 2), /empty bracket/);
});
