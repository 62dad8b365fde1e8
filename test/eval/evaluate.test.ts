import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { evaluate, type EvalInput, type EvalSplit } from '../../src/eval/evaluate.js';
import { paretoFront, selectBest } from '../../src/eval/select.js';
import type { EvalRow } from '../../src/eval/result.js';
import type { FusionMethod, MemberOutputs, MemberRows } from '../../src/fusion/types.js';
import { Rng } from '../../src/util/rng.js';
import { probsOf, testWeightedMean } from '../members/shared.js';

const LABELS = ['neg', 'pos'];

/** Two synthetic members on n rows: noisy logits that point at the gold label most of the time. */
function synthetic(n: number, seed: number): EvalSplit {
  const rng = new Rng(seed);
  const gold = Int32Array.from({ length: n }, () => rng.int(2));
  const member = (name: string, strength: number, cost: number): MemberRows => {
    const logits = new Float64Array(n * 2);
    for (let i = 0; i < n; i++) {
      logits[i * 2 + gold[i]!] = strength + rng.normal();
      logits[i * 2 + 1 - gold[i]!] = rng.normal();
    }
    return { name, logits, pooled: null, cls: null, hiddenSize: 0, cost };
  };
  const outputs: MemberOutputs = { n, k: 2, members: [member('a', 1.5, 1), member('b', 1.0, 3)] };
  return { path: `synthetic-${seed}`, inputs: Array.from({ length: n }, (_, i) => ({ text: `row ${i}` })), gold, outputs };
}

function input(fit: EvalSplit, ev: EvalSplit | null = null): EvalInput {
  const scored = ev ?? fit;
  return {
    labels: LABELS,
    members: scored.outputs.members.map((m, i) => ({ name: m.name, source: m.name, group: 0, ownLabels: LABELS, flops: m.cost * 1000, meanTokens: 10, cost: m.cost })),
    fit,
    eval: ev,
  };
}

/**
 * A method that memorises its training rows (keyed by member a's first logit) and predicts the
 * gold label with certainty on them, 50/50 elsewhere. Scored honestly it can only ever say 50/50.
 */
const memoriser: FusionMethod<{ seen: Record<string, number> }> = {
  name: 'memoriser',
  summary: 'cheats if allowed to',
  options: [],
  fit(outputs, ctx) {
    const seen: Record<string, number> = {};
    for (let i = 0; i < outputs.n; i++) seen[String(outputs.members[0]!.logits[i * 2])] = ctx.labels[i]!;
    return { seen };
  },
  apply(outputs, params) {
    const out = new Float64Array(outputs.n * 2).fill(0.5);
    for (let i = 0; i < outputs.n; i++) {
      const g = params.seen[String(outputs.members[0]!.logits[i * 2])];
      if (g !== undefined) {
        out[i * 2 + g] = 1;
        out[i * 2 + 1 - g] = 0;
      }
    }
    return out;
  },
  emit() {
    throw new Error('not exported');
  },
};

describe('evaluate', () => {
  const fit = synthetic(200, 1);

  test('member rows: accuracy and log-loss equal a hand computation on their softmax', () => {
    const { result } = evaluate(input(fit), [], { folds: 5, seed: 0 });
    fit.outputs.members.forEach((m, mi) => {
      let right = 0;
      let ll = 0;
      for (let i = 0; i < fit.outputs.n; i++) {
        const p = probsOf(m.logits, i, 2);
        if ((p[1]! > p[0]! ? 1 : 0) === fit.gold[i]) right++;
        ll -= Math.log(p[fit.gold[i]!]!);
      }
      const row = result.rows[mi]!;
      assert.equal(row.kind, 'member');
      assert.equal(row.scoring, 'direct');
      assert.equal(row.accuracy, right / fit.outputs.n);
      assert.ok(Math.abs(row.logLoss - ll / fit.outputs.n) < 1e-12);
      assert.equal(row.confusion.flat().reduce((a, b) => a + b, 0), fit.outputs.n);
      assert.equal(row.reliability.length, 15);
    });
  });

  test('out-of-fold: a method is never scored on rows it was fit on', () => {
    const { result, params } = evaluate(input(fit), [{ method: memoriser, options: {} }], { folds: 5, seed: 3 });
    const row = result.rows.find((r) => r.name === 'memoriser')!;
    assert.equal(row.scoring, 'out-of-fold');
    assert.ok(Math.abs(row.logLoss - Math.log(2)) < 1e-12, `log-loss ${row.logLoss}: some row was scored by params that saw it`);
    // The exported params are fit on all rows.
    assert.equal(Object.keys((params.get('memoriser') as { seen: object }).seen).length, 200);
    assert.deepEqual(result.protocol, { kind: 'out-of-fold', folds: 5, seed: 3 });
  });

  test('--eval-data: fit on one split, scored on the other', () => {
    const ev = synthetic(60, 2);
    const { result } = evaluate(input(fit, ev), [{ method: memoriser, options: {} }, { method: testWeightedMean, options: {} }], { folds: 5, seed: 0 });
    const row = result.rows.find((r) => r.name === 'memoriser')!;
    assert.equal(row.scoring, 'eval-data');
    assert.ok(Math.abs(row.logLoss - Math.log(2)) < 1e-12);
    assert.deepEqual(result.data, { fit: { path: 'synthetic-1', n: 200 }, eval: { path: 'synthetic-2', n: 60 } });
    // Member rows are scored on the eval rows too.
    const a = result.rows[0]!;
    let right = 0;
    for (let i = 0; i < 60; i++) if ((ev.outputs.members[0]!.logits[i * 2 + 1]! > ev.outputs.members[0]!.logits[i * 2]! ? 1 : 0) === ev.gold[i]) right++;
    assert.equal(a.accuracy, right / 60);
  });

  test('cost: fusion = sum of members unless the method reports its own; disagreements and agreement agree', () => {
    const cheap: FusionMethod = { ...testWeightedMean, name: 'reports-cost', stats: () => ({ cost: 1.25, fallback_fraction: 0.125 }) } as FusionMethod;
    const { result } = evaluate(input(fit), [{ method: testWeightedMean, options: {} }, { method: cheap, options: {} }], { folds: 4, seed: 0 });
    assert.equal(result.rows.find((r) => r.name === 'test-weighted-mean')!.cost, 4);
    const rc = result.rows.find((r) => r.name === 'reports-cost')!;
    assert.ok(Math.abs(rc.cost - 1.25) < 1e-12);
    assert.ok(Math.abs(rc.stats!['fallback_fraction']! - 0.125) < 1e-12);
    const [a, b] = fit.outputs.members;
    let differ = 0;
    for (let i = 0; i < 200; i++) if ((a!.logits[i * 2 + 1]! > a!.logits[i * 2]!) !== (b!.logits[i * 2 + 1]! > b!.logits[i * 2]!)) differ++;
    assert.equal(result.disagreements.length, differ);
    assert.ok(Math.abs(result.agreement.all - (1 - differ / 200)) < 1e-12);
    assert.equal(result.agreement.pairs[0]!.rate, result.agreement.all);
    const d = result.disagreements[0]!;
    assert.deepEqual(Object.keys(d.members), ['a', 'b']);
    assert.deepEqual(Object.keys(d.fused), ['test-weighted-mean', 'reports-cost']);
    assert.equal(d.gold, LABELS[fit.gold[d.index]!]);
    assert.ok(result.oracleAccuracy >= Math.max(result.rows[0]!.accuracy, result.rows[1]!.accuracy));
  });

  test('too few rows for the folds is a clear error', () => {
    assert.throws(() => evaluate(input(synthetic(7, 4)), [], { folds: 5, seed: 0 }), /7 rows are too few for 5-fold/);
  });
});

function row(name: string, kind: EvalRow['kind'], accuracy: number, logLoss: number, cost: number): EvalRow {
  return { name, kind, scoring: 'direct', accuracy, macroF1: accuracy, logLoss, ece: 0, cost, pareto: false, perLabel: [], confusion: [], reliability: [] };
}

describe('selection and the Pareto mark', () => {
  test('Pareto front on accuracy vs cost', () => {
    const rows = [row('a', 'member', 0.8, 0.5, 1), row('b', 'member', 0.82, 0.5, 1), row('m', 'fusion', 0.85, 0.4, 2), row('w', 'fusion', 0.84, 0.4, 2), row('c', 'fusion', 0.85, 0.4, 3)];
    assert.deepEqual(paretoFront(rows), [false, true, true, false, false]);
  });

  test('without intervals: the cheaper wins unless a costlier one is lower by more than 1e-4; equal cost: lower log-loss; a member alone is never picked but is mentioned', () => {
    assert.equal(selectBest([row('x', 'fusion', 0.8, 0.30, 2), row('y', 'fusion', 0.8, 0.31, 2)]).winner, 'x');
    const tie = selectBest([row('stack', 'fusion', 0.8, 0.30000, 2), row('cascade', 'fusion', 0.8, 0.30008, 1.4)]);
    assert.equal(tie.winner, 'cascade');
    assert.match(tie.reason, /^cascade \(1\.40×, log-loss 0\.3001\): the cheapest candidate; no costlier candidate is better beyond the tie margin 0\.0001 \(closest: stack, Δlog-loss −0\.0001\)/);
    const beyond = selectBest([row('stack', 'fusion', 0.8, 0.3, 2), row('cascade', 'fusion', 0.8, 0.3002, 1.4)]);
    assert.equal(beyond.winner, 'stack');
    assert.match(beyond.reason, /stack \(2\.00×, log-loss 0\.3000\): beats the cheaper cascade beyond the tie margin/);
    const member = selectBest([row('a', 'member', 0.9, 0.2, 1), row('mean', 'fusion', 0.8, 0.3, 2)]);
    assert.equal(member.winner, 'mean');
    assert.match(member.reason, /member a alone scores lower log-loss/);
  });
});
