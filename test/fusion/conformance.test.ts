// Every registered fusion method, on real member outputs and on synthetic 3-member/3-label ones:
// fitted params are plain JSON, apply gives distributions, and the emitted ONNX nodes give the
// same probabilities as apply (≤ 1e-5).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { describe, test } from 'node:test';
import { accuracy } from '../../src/eval/metrics.js';
import { FUSION_METHODS, getFusionMethod } from '../../src/fusion/registry.js';
import type { FitContext, FusionMethod, FusionParams, MemberOutputs } from '../../src/fusion/types.js';
import { softmaxRows } from '../../src/util/math.js';
import { maxAbsDiff, realMembers, runEmitted, syntheticMembers } from './member-outputs.js';

/** Non-default options worth covering, per method (each also runs with defaults). */
const VARIANTS: Record<string, Record<string, unknown>[]> = {
  mean: [{ calibrate: true, post_temperature: true }],
  weighted: [{ calibrate: true }],
  vote: [{ calibrate: true }],
  geometric_mean: [{ post_temperature: true }],
  stack: [],
  concat: [{ embedding: 'cls', l2_steps: 3 }],
  cascade: [{ fallback: 'second', objective: 'accuracy' }, { max_fallback: 0.3, calibrate: true }],
};

test('the registry lists every method once, and every method has variants covered here', () => {
  const names = FUSION_METHODS.map((m) => m.name);
  assert.equal(new Set(names).size, names.length);
  assert.deepEqual([...names].sort(), Object.keys(VARIANTS).sort());
});

async function checkMethod(method: FusionMethod, options: Record<string, unknown>, outputs: MemberOutputs, ctx: FitContext): Promise<FusionParams> {
  const params = method.fit(outputs, ctx, options);
  const json = JSON.parse(JSON.stringify(params)) as typeof params;
  assert.deepEqual(json, params, 'fitted params survive a JSON round trip unchanged');
  const probs = method.apply(outputs, json);
  assert.equal(probs.length, outputs.n * outputs.k);
  for (let i = 0; i < outputs.n; i++) {
    let s = 0;
    for (let j = 0; j < outputs.k; j++) {
      const p = probs[i * outputs.k + j]!;
      assert.ok(p >= 0 && p <= 1, `row ${i} has probability ${p}`);
      s += p;
    }
    assert.ok(Math.abs(s - 1) < 1e-9, `row ${i} sums to ${s}`);
  }
  const onnx = await runEmitted(method, json, outputs);
  const diff = maxAbsDiff(onnx, probs);
  assert.ok(diff <= 1e-5, `ONNX vs apply: max |Δp| = ${diff.toExponential(2)}`);
  return params;
}

describe('real members: sst2-sibling-a + sst2-stranger-a on sst2_dev', async () => {
  const { data, outputs } = await realMembers();
  const ctx: FitContext = { labels: data.labels, seed: 13, folds: 5 };
  const fitted = new Map<string, FusionParams>();

  test('members are label-aligned: accuracies equal their metrics.json', () => {
    for (const [m, dir] of [
      [0, 'sst2-sibling-a'],
      [1, 'sst2-stranger-a'],
    ] as const) {
      const want = JSON.parse(fs.readFileSync(`fixtures/${dir}/metrics.json`, 'utf8')).sst2_dev.accuracy as number;
      assert.ok(Math.abs(accuracy(softmaxRows(outputs.members[m]!.logits, 2), data.labels, 2) - want) < 1e-9, dir);
    }
  });

  for (const method of FUSION_METHODS) {
    for (const options of [{}, ...(VARIANTS[method.name] ?? [])]) {
      test(`${method.name} ${JSON.stringify(options)}: ONNX equals apply`, async () => {
        const params = await checkMethod(method, options, outputs, ctx);
        if (Object.keys(options).length === 0) fitted.set(method.name, params);
      });
    }
  }

  test('cascade reports the fraction of rows that needed the second member', () => {
    const cascade = getFusionMethod('cascade');
    const params = cascade.fit(outputs, ctx, { max_fallback: 0.3 });
    const stats = cascade.stats!(outputs, params);
    assert.ok(stats['fallback_fraction']! <= 0.3 && stats['fallback_fraction']! >= 0);
    // Recount from the first member's own confidences.
    const p = softmaxRows(outputs.members[0]!.logits, 2);
    let below = 0;
    for (let i = 0; i < outputs.n; i++) if (Math.max(p[2 * i]!, p[2 * i + 1]!) < (params['threshold'] as number)) below++;
    assert.equal(stats['fallback_fraction'], below / outputs.n);
    assert.equal(stats['cost'], 1 + below / outputs.n);
  });

  test('fitting is deterministic: same seed, same params', () => {
    for (const method of FUSION_METHODS) assert.deepEqual(method.fit(outputs, ctx, {}), fitted.get(method.name), method.name);
  });
});

describe('synthetic members: 3 members, 3 labels', () => {
  const { outputs, labels } = syntheticMembers(300, 3, 3, 6, 5);
  const ctx: FitContext = { labels, seed: 1, folds: 3 };
  for (const method of FUSION_METHODS) {
    for (const options of [{}, ...(VARIANTS[method.name] ?? [])]) {
      test(`${method.name} ${JSON.stringify(options)}: ONNX equals apply`, async () => {
        await checkMethod(method, options, outputs, ctx);
      });
    }
  }
});
