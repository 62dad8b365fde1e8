import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import YAML from 'yaml';
import { combine } from '../../src/artifact/combine.js';
import { FUSION_METHODS } from '../../src/fusion/registry.js';
import { merge } from '../../src/merge/merge.js';
import { readCombineRecipe } from '../../src/recipe/combine.js';
import { loadMergeRecipe } from '../../src/recipe/merge.js';
import { hashTree } from '../helpers/corrupt.js';
import { runCli } from '../helpers/cli.js';
import { fixture, tempDir } from '../helpers/fixtures.js';
import { smallTsv } from './artifacts.js';

/*
 * The same recipe run twice gives the same bytes in every file. One run is in this process, the
 * other a fresh CLI process (other pid, other start time, other Map/hash seeds), each writing to a
 * different parent folder under the same folder name.
 */

const root = tempDir('bertfuse-rel-det-');

function assertSameTree(a: Record<string, string>, b: Record<string, string>): void {
  assert.deepEqual(Object.keys(b), Object.keys(a), 'same files');
  const differing = Object.keys(a).filter((f) => a[f] !== b[f]);
  assert.deepEqual(differing, [], `files whose sha256 differs: ${differing.join(', ')}`);
}

describe('determinism: same recipe, same bytes (sha256 of every file)', () => {
  test('combine (stack: folds, seeded fitting, two tokenizers), in-process vs CLI', { timeout: 300_000 }, async () => {
    const data = smallTsv(root, 48);
    const recipe = (out: string): string => {
      const file = path.join(path.dirname(out), 'combine.yaml');
      fs.mkdirSync(path.dirname(out), { recursive: true });
      fs.writeFileSync(file, YAML.stringify({ members: [fixture('sst2-sibling-a'), fixture('sst2-stranger-b')], data, labels: ['negative', 'positive'], method: 'stack', options: { l2_steps: 3 }, seed: 7, folds: 3, out }));
      return file;
    };
    const outA = path.join(root, 'combine-a', 'combined');
    await combine(readCombineRecipe(recipe(outA)), { registry: FUSION_METHODS });
    const outB = path.join(root, 'combine-b', 'combined');
    const r = await runCli(['combine', '--recipe', recipe(outB), '--quiet', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const a = await hashTree(outA);
    assert.ok(Object.keys(a).includes('model.onnx') && Object.keys(a).includes('bertfuse.json'), Object.keys(a).join(', '));
    assertSameTree(a, await hashTree(outB));
  });

  test('merge (dare_ties: seeded random masks, ONNX included), in-process vs CLI', { timeout: 300_000 }, async () => {
    const recipe = path.join(root, 'merge.yaml');
    fs.writeFileSync(
      recipe,
      YAML.stringify({
        merge_method: 'dare_ties',
        base_model: fixture('base-mlm'),
        models: [
          { model: fixture('sst2-sibling-a'), parameters: { weight: 0.6, density: 0.4 } },
          { model: fixture('sst2-sibling-b'), parameters: { weight: 0.4, density: 0.4 } },
        ],
        seed: 11,
        onnx: true,
      }),
    );
    const outA = path.join(root, 'merge-a', 'merged');
    await merge(loadMergeRecipe(recipe), { out: outA });
    const outB = path.join(root, 'merge-b', 'merged');
    const r = await runCli(['merge', recipe, '--out', outB, '--quiet']);
    assert.equal(r.code, 0, r.stderr);
    const a = await hashTree(outA);
    assert.ok(Object.keys(a).some((f) => f.endsWith('.safetensors')) && Object.keys(a).includes('model.onnx'), Object.keys(a).join(', '));
    assertSameTree(a, await hashTree(outB));

    // A different seed must change the weights (the masks are really random, not constant).
    const other = path.join(root, 'merge-seed.yaml');
    fs.writeFileSync(other, fs.readFileSync(recipe, 'utf8').replace('seed: 11', 'seed: 12'));
    const outC = path.join(root, 'merge-c', 'merged');
    await merge(loadMergeRecipe(other), { out: outC });
    const c = await hashTree(outC);
    const weights = Object.keys(a).filter((f) => f.endsWith('.safetensors'));
    assert.ok(weights.some((f) => a[f] !== c[f]), 'seed 12 gives other weights than seed 11');
  });
});
