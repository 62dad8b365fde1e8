// The time budget's plan: measured past the slow first steps, only ever shortened.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MEASURE_STEPS, RECHECK_STEPS, TimeBudget, WARM_STEPS } from '../../src/train/time-budget.js';

/** Runs a plan step by step; `msOf(step)` is how long step number `step` (1-based) takes. */
function simulate(budgetMs: number, planned: number, msOf: (step: number) => number, startStep = 0): { total: number; endMs: number; steps: number } {
  const b = new TimeBudget(budgetMs, startStep);
  let total = planned;
  let elapsed = 0;
  let step = startStep;
  while (step < total) {
    step++;
    elapsed += msOf(step - startStep);
    total = b.plan(step, total, elapsed);
  }
  return { total, endMs: elapsed, steps: step };
}

test('slow first steps do not cut a plan that fits (100 ms warm-up steps, then 40 ms; 1,400 steps in 60 s)', () => {
  const r = simulate(60_000, 1400, (s) => (s <= WARM_STEPS ? 100 : 40));
  assert.equal(r.total, 1400);
  assert.equal(r.steps, 1400);
  // The old rule (3 first steps × budget / their time) would have planned 600 steps.
  assert.equal(Math.floor((60_000 / (3 * 100)) * 3), 600);
});

test('a plan that cannot fit is shortened as soon as the speed is measured, and ends within the budget', () => {
  const r = simulate(60_000, 3000, (s) => (s <= WARM_STEPS ? 100 : 40));
  // 3 warm-up steps (0.3 s) + MEASURE steps, then what is left at 40 ms a step.
  const expected = WARM_STEPS + MEASURE_STEPS + Math.floor((60_000 - 300 - MEASURE_STEPS * 40) / 40);
  assert.equal(r.total, expected);
  assert.ok(r.endMs <= 60_000, `ended at ${r.endMs} ms`);
  assert.ok(r.endMs > 59_000, 'and uses the budget');
});

test('a run that slows down later is shortened again at a recheck; it is never lengthened', () => {
  // 20 ms a step, then 60 ms from step 500: 2,000 steps would take 20·500 + 60·1,500 = 100 s.
  const r = simulate(50_000, 2000, (s) => (s < 500 ? 20 : 60));
  assert.ok(r.total < 2000);
  assert.ok(r.endMs <= 50_000 + RECHECK_STEPS * 60, `ended at ${r.endMs} ms`);
  const faster = simulate(50_000, 200, () => 1);
  assert.equal(faster.total, 200, 'a fast run keeps its plan');
});

test('no budget: the plan stands; a resumed run measures its own steps', () => {
  assert.equal(simulate(Infinity, 500, () => 1000).total, 500);
  const resumed = simulate(10_000, 1000, (s) => (s <= WARM_STEPS ? 500 : 20), 400);
  assert.equal(resumed.total, 400 + WARM_STEPS + MEASURE_STEPS + Math.floor((10_000 - 1500 - MEASURE_STEPS * 20) / 20));
});
