import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { firstNonFinite, loadCheckpoint, setAllowNonFiniteDefault } from '../../src/checkpoint/load.js';
import { SafetensorsFile, writeSafetensors, type WriteDType } from '../../src/checkpoint/safetensors.js';
import { buildBertGraph } from '../../src/graph/bert-model.js';
import { merge } from '../../src/merge/merge.js';
import { parseMergeRecipe } from '../../src/recipe/merge.js';
import { loadClassifier } from '../../src/runtime/classifier.js';
import { assertNoOutput, expectRefused } from '../helpers/corrupt.js';
import { isOneLineError, runCli } from '../helpers/cli.js';
import { fixture, tempDir } from '../helpers/fixtures.js';
import { EXPORT_ONNX, stageFixture } from './consumers.js';

const root = tempDir('bertfuse-rel-nonfinite-');
const TENSOR = 'bert.encoder.layer.1.output.dense.weight';
const INDEX = 1234;

/** sst2-sibling-a with one value of one tensor replaced, written in `dtype`. */
function poisoned(name: string, value: number, dtype: WriteDType): string {
  const dir = stageFixture(fixture('sst2-sibling-a'), path.join(root, name), false);
  const src = SafetensorsFile.open(path.join(fixture('sst2-sibling-a'), 'model.safetensors'));
  try {
    writeSafetensors(
      path.join(dir, 'model.safetensors'),
      src.names().map((n) => ({
        name: n,
        shape: src.info(n).shape,
        data: () => {
          const d = src.read(n).data;
          if (n === TENSOR) d[INDEX] = value;
          return d;
        },
      })),
      { dtype },
    );
  } finally {
    src.close();
  }
  return dir;
}

const VARIANTS: readonly { name: string; value: number; dtype: WriteDType; shows: RegExp }[] = [
  { name: 'F32 NaN', value: NaN, dtype: 'F32', shows: /first: NaN at index 1234/ },
  { name: 'F32 +Infinity', value: Infinity, dtype: 'F32', shows: /first: Infinity at index 1234/ },
  { name: 'F32 -Infinity', value: -Infinity, dtype: 'F32', shows: /first: -Infinity at index 1234/ },
  // 1e6 is finite in F32 but overflows F16: the file holds +Inf, as a careless fp16 export would.
  { name: 'F16 overflow to +Inf', value: 1e6, dtype: 'F16', shows: /first: Infinity at index 1234/ },
  { name: 'BF16 NaN', value: NaN, dtype: 'BF16', shows: /first: NaN at index 1234/ },
];

after(() => setAllowNonFiniteDefault(false));

describe('non-finite weights: refused unless allowed', () => {
  VARIANTS.forEach((v, k) => {
    test(`${v.name}: export, classifier and merge refuse it; nothing is written`, async () => {
      const dir = poisoned(`variant-${k}`, v.value, v.dtype);
      const weights = path.join(dir, 'model.safetensors');
      const refusal = { code: 'E_NONFINITE', names: weights, pattern: new RegExp(`tensor "${TENSOR.replace(/\./g, '\\.')}" holds 1 non-finite value \\(${v.shows.source}.*--allow-nonfinite`) } as const;
      // Loading reads headers only: the checkpoint opens, the refusal comes when the weights are used.
      loadCheckpoint(dir).close();
      const onnx = path.join(root, 'out', `${path.basename(dir)}.onnx`);
      await expectRefused(() => EXPORT_ONNX.run(dir, onnx), refusal, [onnx], 'export');
      await expectRefused(() => loadClassifier(dir), refusal, [], 'loadClassifier');
      const out = path.join(root, 'merged', path.basename(dir));
      const recipe = parseMergeRecipe({ merge_method: 'linear', models: [{ model: fixture('sst2-sibling-b') }, { model: dir }], onnx: false });
      await expectRefused(() => merge(recipe, { out }), refusal, [out], 'merge');
    });
  });

  test('allowNonFinite (per load, or as the default the CLI flag sets) lets the same file through', async () => {
    const dir = poisoned('allowed', NaN, 'F32');
    const c = loadCheckpoint(dir, { allowNonFinite: true });
    try {
      const g = buildBertGraph(c);
      assert.ok(g.weightBytes() > 0);
      assert.ok(Number.isNaN(c.tensors.read(TENSOR).data[INDEX]!), 'the NaN is read through unchanged');
    } finally {
      c.close();
    }
    setAllowNonFiniteDefault(true);
    try {
      const out = path.join(root, 'allowed-out', 'model.onnx');
      await EXPORT_ONNX.run(dir, out);
      assert.ok(fs.statSync(out).size > 1000);
    } finally {
      setAllowNonFiniteDefault(false);
    }
    // An explicit option wins over the default.
    setAllowNonFiniteDefault(true);
    try {
      const strict = loadCheckpoint(dir, { allowNonFinite: false });
      await expectRefused(() => buildBertGraph(strict), { code: 'E_NONFINITE', names: dir, pattern: /holds 1 non-finite value/ });
      strict.close();
    } finally {
      setAllowNonFiniteDefault(false);
    }
  });

  test('CLI: predict and merge refuse in one line and write nothing; --allow-nonfinite lets them run', async () => {
    const dir = poisoned('cli', Infinity, 'F32');
    const refused = await runCli(['predict', dir, '--text', 'fine']);
    assert.ok(isOneLineError(refused), refused.stderr);
    assert.match(refused.stderr, /model\.safetensors: tensor "bert\.encoder\.layer\.1\.output\.dense\.weight" holds 1 non-finite value .*--allow-nonfinite/);
    const out = path.join(root, 'cli-merged');
    const merged = await runCli(['merge', fixture('sst2-sibling-b'), dir, '--out', out, '--no-onnx', '--quiet']);
    assert.ok(isOneLineError(merged), merged.stderr);
    assertNoOutput([out]);
    const allowed = await runCli(['predict', dir, '--text', 'fine', '--json', '--allow-nonfinite']);
    assert.equal(allowed.code, 0, allowed.stderr);
    // One Inf in a dense layer reaches the logits: the allowed run reports NaN, which is why the default refuses.
    assert.match(allowed.stdout, /"probs":\{"negative":null,"positive":null\}|NaN|null/);
    // With the flag the merge goes through (the Inf is carried into the merged weights, as asked).
    const mergedAllowed = await runCli(['merge', fixture('sst2-sibling-b'), dir, '--out', out, '--no-onnx', '--quiet', '--allow-nonfinite']);
    assert.equal(mergedAllowed.code, 0, mergedAllowed.stderr);
    const result = loadCheckpoint(out, { allowNonFinite: true });
    try {
      assert.equal(result.tensors.read(TENSOR).data[INDEX], Infinity);
    } finally {
      result.close();
    }
  });

  test('the scan finds NaN, +Inf, -Inf anywhere and passes every finite value, including extremes', () => {
    const finite = new Float32Array([0, -0, 1e-45, -1e-45, 3.4028234663852886e38, -3.4028234663852886e38, 1.17549435e-38]);
    assert.equal(firstNonFinite(finite), -1);
    for (const bad of [NaN, Infinity, -Infinity]) {
      for (const at of [0, 3, 6]) {
        const a = Float32Array.from(finite);
        a[at] = bad;
        assert.equal(firstNonFinite(a), at, `${bad} at ${at}`);
      }
    }
    assert.equal(firstNonFinite(new Float32Array(0)), -1);
  });
});
