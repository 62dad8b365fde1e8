import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BertfuseError } from '../../src/errors.js';
import { resolveOptions } from '../../src/fusion/options.js';
import { FUSION_METHODS, getFusionMethod } from '../../src/fusion/registry.js';
import type { MemberOutputs, ParamSpec } from '../../src/fusion/types.js';

const recipe = (re: RegExp) => (e: unknown) => e instanceof BertfuseError && e.code === 'E_BAD_RECIPE' && re.test(e.message);

const SPECS: ParamSpec[] = [
  { name: 'rate', type: 'number', default: 0.5, min: 0, max: 1, description: '' },
  { name: 'steps', type: 'number', default: 3, min: 1, integer: true, description: '' },
  { name: 'on', type: 'boolean', default: false, description: '' },
  { name: 'kind', type: 'string', default: 'a', choices: ['a', 'b'], description: '' },
];

test('options: defaults filled, CLI strings coerced', () => {
  assert.deepEqual(resolveOptions('m', SPECS, {}), { rate: 0.5, steps: 3, on: false, kind: 'a' });
  assert.deepEqual(resolveOptions('m', SPECS, { rate: '0.25', steps: '4', on: 'true', kind: 'b' }), { rate: 0.25, steps: 4, on: true, kind: 'b' });
});

test('options: unknown names, wrong types, ranges, choices are E_BAD_RECIPE naming method and option', () => {
  assert.throws(() => resolveOptions('m', SPECS, { rat: 1 }), recipe(/fusion method "m": unknown option "rat" \(options: rate, steps, on, kind\)/));
  assert.throws(() => resolveOptions('m', [], { x: 1 }), recipe(/unknown option "x" \(it takes no options\)/));
  assert.throws(() => resolveOptions('m', SPECS, { rate: 'fast' }), recipe(/option "rate" must be a number, got "fast"/));
  assert.throws(() => resolveOptions('m', SPECS, { rate: 1.5 }), recipe(/option "rate" must be ≤ 1, got 1.5/));
  assert.throws(() => resolveOptions('m', SPECS, { rate: -1 }), recipe(/must be ≥ 0/));
  assert.throws(() => resolveOptions('m', SPECS, { steps: 2.5 }), recipe(/option "steps" must be a whole number/));
  assert.throws(() => resolveOptions('m', SPECS, { on: 'yes' }), recipe(/option "on" must be true or false/));
  assert.throws(() => resolveOptions('m', SPECS, { kind: 'c' }), recipe(/option "kind" must be one of a, b, got "c"/));
  assert.throws(() => resolveOptions('m', SPECS, { kind: 3 }), recipe(/must be a string/));
});

test('every method declares documented options with valid defaults', () => {
  for (const m of FUSION_METHODS) {
    assert.ok(m.summary.length > 10, m.name);
    for (const o of m.options) assert.ok(o.description.length > 5, `${m.name}.${o.name}`);
    const defaults = Object.fromEntries(m.options.map((o) => [o.name, o.default]));
    assert.deepEqual(resolveOptions(m.name, m.options, defaults), defaults);
  }
});

test('registry: unknown method names list the known ones', () => {
  assert.throws(() => getFusionMethod('average'), recipe(/unknown fusion method "average" \(known: mean, weighted, vote, geometric_mean, stack, concat, cascade\)/));
  assert.equal(getFusionMethod('stack').name, 'stack');
});

const two: MemberOutputs = {
  n: 2,
  k: 2,
  members: [0, 1].map((m) => ({ name: `m${m}`, logits: Float64Array.from([1, 0, 0, 1]), pooled: null, cls: null, hiddenSize: 4, cost: 1 })),
};
const ctx = { labels: Int32Array.from([0, 1]), seed: 0, folds: 2 };

test('methods refuse bad fits and fitted params that do not match the members', () => {
  assert.throws(() => getFusionMethod('mean').fit(two, ctx, { calibrate: 'maybe' }), recipe(/"mean": option "calibrate" must be true or false/));
  assert.throws(() => getFusionMethod('mean').apply(two, { weights: [1], temperatures: [1], postTemperature: 1 }), recipe(/"mean": fitted parameter "weights" must be an array of 2 non-negative numbers/));
  assert.throws(() => getFusionMethod('weighted').apply(two, { weights: [0.9, 0.9], temperatures: [1, 1], postTemperature: 1 }), recipe(/sum to 1/));
  assert.throws(() => getFusionMethod('vote').apply(two, { temperatures: [1, -1] }), recipe(/"temperatures" must be an array of 2 positive numbers/));
  assert.throws(() => getFusionMethod('stack').apply(two, { l2: 1, weights: [[1, 2]], bias: [0, 0], cv: [] }), recipe(/"weights" must be a 2×4 array/));
  assert.throws(() => getFusionMethod('concat').fit(two, ctx, {}), recipe(/member m0 has no pooler output \(use embedding: cls\)/));
  assert.throws(() => getFusionMethod('concat').fit(two, ctx, { l2_min: 0 }), recipe(/needs 0 < l2_min ≤ l2_max/));
  assert.throws(() => getFusionMethod('cascade').fit({ ...two, members: two.members.slice(0, 1) }, ctx, {}), recipe(/"cascade" needs at least 2 members, got 1/));
  assert.throws(() => getFusionMethod('cascade').apply(two, { temperatures: [1, 1], threshold: 0.5, fallback: 'best' }), recipe(/"fallback" must be one of mean, second/));
});

test('fitting on no rows is a clear error', () => {
  const empty: MemberOutputs = { n: 0, k: 2, members: two.members.map((m) => ({ ...m, logits: new Float64Array(0) })) };
  for (const m of FUSION_METHODS) {
    assert.throws(
      () => m.fit(empty, { labels: new Int32Array(0), seed: 0, folds: 2 }, {}),
      (e: unknown) => e instanceof BertfuseError && e.code === 'E_BAD_DATA' && e.message.includes(`"${m.name}": no rows to fit on`),
      m.name,
    );
  }
});
