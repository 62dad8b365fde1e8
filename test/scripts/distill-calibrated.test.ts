import assert from 'node:assert/strict';
import { test } from 'node:test';
import { atTemperature, temperatureOf } from '../../scripts/distill-calibrated.js';
import { Rng } from '../../src/util/rng.js';

test('atTemperature: T = 1 leaves probabilities as they are, T = 2 is softmax(log p / 2) worked by hand, rows sum to 1', () => {
  const p = Float64Array.from([0.9, 0.1, 0.5, 0.5, 0.2, 0.8]);
  const same = atTemperature(p, 2, 1);
  same.forEach((v, i) => assert.ok(Math.abs(v - p[i]!) < 1e-12));
  const t2 = atTemperature(p, 2, 2);
  // sqrt(0.9) / (sqrt(0.9) + sqrt(0.1)) = 0.75
  assert.ok(Math.abs(t2[0]! - 0.75) < 1e-12);
  assert.ok(Math.abs(t2[2]! - 0.5) < 1e-12);
  assert.ok(Math.abs(t2[5]! - Math.sqrt(0.8) / (Math.sqrt(0.8) + Math.sqrt(0.2))) < 1e-12);
  for (let i = 0; i < 3; i++) assert.ok(Math.abs(t2[2 * i]! + t2[2 * i + 1]! - 1) < 1e-12);
});

test('temperatureOf recovers the temperature that over-confident probabilities were sharpened by', () => {
  // True probabilities q; labels drawn from q; the model reports q sharpened at T = 1 / 1.8, so the
  // temperature that undoes it is about 1.8.
  const rng = new Rng(7);
  const n = 20000;
  const q = new Float64Array(2 * n);
  const gold = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const z = 3 * (rng.next() - 0.5);
    const p1 = 1 / (1 + Math.exp(-z));
    q[2 * i] = 1 - p1;
    q[2 * i + 1] = p1;
    gold[i] = rng.next() < p1 ? 1 : 0;
  }
  const sharp = atTemperature(q, 2, 1 / 1.8);
  const t = temperatureOf(sharp, gold, 2);
  assert.ok(Math.abs(t - 1.8) < 0.15, `fitted ${t}`);
  assert.ok(Math.abs(temperatureOf(q, gold, 2) - 1) < 0.1);
});
