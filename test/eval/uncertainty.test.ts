import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { bootstrap, discordant, logLossPValue, mcnemarExact, pairedDifference, scoreIntervals } from '../../src/eval/bootstrap.js';
import type { EvalRow } from '../../src/eval/result.js';
import { riskCoverage } from '../../src/eval/risk-coverage.js';
import { scoreProbabilities } from '../../src/eval/score.js';
import { selectBest } from '../../src/eval/select.js';
import { Rng } from '../../src/util/rng.js';

/** Binary probabilities [n, 2] that are right exactly on the rows where `right[i]`, with confidence `conf`. */
function probsFor(gold: Int32Array, right: readonly boolean[], conf = 0.9): Float64Array {
  const p = new Float64Array(gold.length * 2);
  gold.forEach((g, i) => {
    const top = right[i] ? g : 1 - g;
    p[i * 2 + top] = conf;
    p[i * 2 + (1 - top)] = 1 - conf;
  });
  return p;
}

/** Exact two-sided McNemar p from binomial coefficients in BigInt (independent of the code under test). */
function mcnemarBig(b: number, c: number): number {
  const m = b + c;
  let num = 0n;
  let coef = 1n; // C(m, 0)
  for (let i = 0; i <= Math.min(b, c); i++) {
    if (i > 0) coef = (coef * BigInt(m - i + 1)) / BigInt(i);
    num += coef;
  }
  return Math.min(1, (2 * Number(num)) / 2 ** m);
}

describe('paired bootstrap intervals', () => {
  test("an accuracy interval recovers the binomial proportion's normal-approximation interval", () => {
    const n = 400;
    const gold = Int32Array.from({ length: n }, (_, i) => i % 2);
    const right = Array.from({ length: n }, (_, i) => i % 5 !== 0); // 320 of 400 right
    const b = bootstrap(new Map([['m', probsFor(gold, right)]]), gold, 2, { seed: 1, resamples: 4000 });
    const iv = scoreIntervals(b, 'm').accuracy;
    const half = 1.96 * Math.sqrt((0.8 * 0.2) / n);
    assert.ok(Math.abs(iv.low - (0.8 - half)) < 0.008, `low ${iv.low} vs ${0.8 - half}`);
    assert.ok(Math.abs(iv.high - (0.8 + half)) < 0.008, `high ${iv.high} vs ${0.8 + half}`);
  });

  test('95% intervals cover a true accuracy of 0.7 in about 95% of simulated test sets', () => {
    const rng = new Rng(7);
    const n = 200;
    const gold = Int32Array.from({ length: n }, (_, i) => i % 2);
    let covered = 0;
    const sims = 200;
    for (let s = 0; s < sims; s++) {
      const right = Array.from({ length: n }, () => rng.next() < 0.7);
      const iv = scoreIntervals(bootstrap(new Map([['m', probsFor(gold, right)]]), gold, 2, { seed: s, resamples: 400 }), 'm').accuracy;
      if (iv.low <= 0.7 && 0.7 <= iv.high) covered++;
    }
    assert.ok(covered / sims > 0.88 && covered / sims < 0.99, `coverage ${covered / sims}`);
  });

  test('the same seed gives the same intervals; every score is inside its interval on this data', () => {
    const rng = new Rng(3);
    const n = 300;
    const gold = Int32Array.from({ length: n }, () => rng.int(3));
    const probs = Float64Array.from({ length: n * 3 }, () => rng.next());
    for (let i = 0; i < n; i++) {
      const s = probs[i * 3]! + probs[i * 3 + 1]! + probs[i * 3 + 2]!;
      for (let j = 0; j < 3; j++) probs[i * 3 + j]! /= s;
    }
    const a = scoreIntervals(bootstrap(new Map([['m', probs]]), gold, 3, { seed: 5, resamples: 300 }), 'm');
    const b = scoreIntervals(bootstrap(new Map([['m', probs]]), gold, 3, { seed: 5, resamples: 300 }), 'm');
    assert.deepEqual(a, b);
    const point = scoreProbabilities(probs, gold, ['a', 'b', 'c']);
    for (const key of ['accuracy', 'macroF1', 'logLoss', 'ece'] as const) {
      assert.ok(a[key].low <= point[key] + 1e-12 && point[key] <= a[key].high + 1e-12, `${key}: ${point[key]} outside [${a[key].low}, ${a[key].high}]`);
    }
  });

  test('pairing: two models that differ on 4 of 500 rows have a far narrower difference interval than either score', () => {
    const n = 500;
    const gold = Int32Array.from({ length: n }, (_, i) => i % 2);
    const rightA = Array.from({ length: n }, (_, i) => i % 4 !== 0);
    const rightB = rightA.map((r, i) => (i < 8 && i % 2 === 0 ? !r : r)); // rows 0,2,4,6 flipped
    const b = bootstrap(new Map([['a', probsFor(gold, rightA)], ['b', probsFor(gold, rightB)]]), gold, 2, { seed: 2, resamples: 1000 });
    const d = pairedDifference(b, 'b', 'a', 'accuracy').interval;
    const ia = scoreIntervals(b, 'a').accuracy;
    assert.ok(d.high - d.low < (ia.high - ia.low) / 3, `difference width ${d.high - d.low} vs ${ia.high - ia.low}`);
    const disc = discordant(b, 'b', 'a');
    // Rows 0 and 4 were wrong for a (i % 4 === 0) and right for b; rows 2 and 6 the other way round.
    assert.deepEqual(disc, { onlyA: 2, onlyB: 2 });
  });
});

describe('exact McNemar', () => {
  test('p-values equal the exact binomial tail computed by hand', () => {
    assert.ok(Math.abs(mcnemarExact(10, 2) - 158 / 4096) < 1e-12); // 2·(1 + 12 + 66)/2¹²
    assert.ok(Math.abs(mcnemarExact(0, 6) - 2 / 64) < 1e-12);
    assert.ok(Math.abs(mcnemarExact(3, 0) - 0.25) < 1e-12);
    assert.equal(mcnemarExact(5, 5), 1);
    assert.equal(mcnemarExact(0, 0), 1);
    for (const [b, c] of [[25, 15], [40, 22], [7, 19], [120, 95]] as const) {
      const want = mcnemarBig(b, c);
      assert.ok(Math.abs(mcnemarExact(b, c) - want) < 1e-9 * Math.max(1, want), `(${b}, ${c}): ${mcnemarExact(b, c)} vs ${want}`);
      assert.equal(mcnemarExact(b, c), mcnemarExact(c, b));
    }
  });
});

function row(name: string, kind: EvalRow['kind'], probs: Float64Array, gold: Int32Array, cost: number): EvalRow {
  return { name, kind, scoring: 'direct', cost, pareto: false, ...scoreProbabilities(probs, gold, ['negative', 'positive']) };
}

describe('auto: the cheaper candidate unless a costlier one is better beyond the interval', () => {
  const n = 600;
  const gold = Int32Array.from({ length: n }, (_, i) => i % 2);
  const base = Array.from({ length: n }, (_, i) => i % 5 !== 0); // 80% right

  test('two candidates within noise: the cheaper is picked, and the reason says why', () => {
    // The costlier one is right on 3 more rows and a little more confident: lower point log-loss, but within noise.
    const cheap = probsFor(gold, base, 0.8);
    const costlyRight = base.map((r, i) => r || i === 0 || i === 5 || i === 10);
    const costly = probsFor(gold, costlyRight, 0.8);
    const rows = [row('cheap', 'merge', cheap, gold, 1), row('costly', 'fusion', costly, gold, 2)];
    assert.ok(rows[1]!.logLoss < rows[0]!.logLoss, 'the costlier one is better on the point estimate');
    const boot = bootstrap(new Map([['cheap', cheap], ['costly', costly]]), gold, 2, { seed: 0, resamples: 1000 });
    const s = selectBest(rows, { bootstrap: boot });
    assert.equal(s.winner, 'cheap');
    assert.match(s.reason, /^cheap \(1\.00×, log-loss [\d.]+\): the cheapest candidate; no costlier candidate is better beyond the 95% interval \(closest: costly, Δlog-loss −[\d.]+ \[−[\d.]+, \+[\d.]+\]\)$/);
    assert.equal(s.reason.split('\n').length, 1);
  });

  test('a real gap: the costlier and better candidate is picked; --min-gain and --max-cost can still say no', () => {
    const cheap = probsFor(gold, base, 0.8);
    const better = probsFor(gold, base.map((r, i) => r || i % 10 === 0), 0.8); // 60 more rows right
    const rows = [row('cheap', 'merge', cheap, gold, 1), row('better', 'fusion', better, gold, 2)];
    const boot = bootstrap(new Map([['cheap', cheap], ['better', better]]), gold, 2, { seed: 0, resamples: 1000 });
    const s = selectBest(rows, { bootstrap: boot });
    assert.equal(s.winner, 'better');
    assert.match(s.reason, /^better \(2\.00×, log-loss [\d.]+\): beats the cheaper cheap beyond the 95% interval \(Δlog-loss −[\d.]+ \[−[\d.]+, −[\d.]+\]\)/);
    const gain = pairedDifference(boot, 'cheap', 'better', 'logLoss').interval.low; // smallest assured gain
    assert.equal(selectBest(rows, { bootstrap: boot, minGain: gain + 0.01 }).winner, 'cheap');
    const budget = selectBest(rows, { bootstrap: boot, maxCost: 1.5 });
    assert.equal(budget.winner, 'cheap');
    assert.match(budget.reason, /over --max-cost 1\.50×: better/);
    assert.ok(logLossPValue(boot, 'better', 'cheap') < 0.01);
  });

  test('a merge whose loss barrier is large is left out and fusion is picked', () => {
    const fusion = probsFor(gold, base, 0.8);
    const merged = probsFor(gold, base, 0.8);
    const rows = [{ ...row('merge:linear', 'merge', merged, gold, 1), barrier: 0.4 }, row('mean', 'fusion', fusion, gold, 2)];
    const s = selectBest(rows, {});
    assert.equal(s.winner, 'mean');
    assert.match(s.reason, /left out for a loss barrier above 0\.05: merge:linear \(\+0\.4000\)/);
  });
});

describe('risk–coverage', () => {
  test('accuracy on the most confident rows, by hand on six rows', () => {
    // confidences 0.95 (right), 0.9 (wrong), 0.8 (right), 0.7 (right), 0.6 (wrong), 0.55 (right)
    const gold = Int32Array.from([0, 0, 1, 1, 0, 1]);
    const top = [0, 1, 1, 1, 1, 1];
    const conf = [0.95, 0.9, 0.8, 0.7, 0.6, 0.55];
    const probs = new Float64Array(12);
    top.forEach((t, i) => {
      probs[i * 2 + t] = conf[i]!;
      probs[i * 2 + 1 - t] = 1 - conf[i]!;
    });
    const curve = riskCoverage(probs, gold, 2, 6);
    assert.deepEqual(
      curve.map((p) => [p.coverage, p.accuracy]),
      [[1 / 6, 1], [2 / 6, 1 / 2], [3 / 6, 2 / 3], [4 / 6, 3 / 4], [5 / 6, 3 / 5], [1, 4 / 6]],
    );
  });
});
