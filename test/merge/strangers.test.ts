import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { merge, type MergeResult } from '../../src/merge/merge.js';
import { parseMergeRecipe } from '../../src/recipe/merge.js';
import { fixture, tempDir } from '../helpers/fixtures.js';
import { SST2_DEV, UNLABELLED } from './helpers.js';

// sst2-stranger-a and sst2-stranger-d: same size and vocabulary, independent random starts.
const work = tempDir('bertfuse-merge-strangers-');
const models = [{ model: fixture('sst2-stranger-a') }, { model: fixture('sst2-stranger-d') }];

async function run(align: string): Promise<MergeResult> {
  const recipe = parseMergeRecipe({ merge_method: 'linear', align, models, texts: UNLABELLED, texts_encoding: 'latin1', max_texts: 300, onnx: false });
  return merge(recipe, { out: path.join(work, align), evaluate: [{ file: SST2_DEV }], threads: 1 });
}

const merged = (r: MergeResult): number => r.evaluation.find((e) => e.kind === 'merged')!.accuracy;
const members = (r: MergeResult): number[] => r.evaluation.filter((e) => e.kind === 'member').map((e) => e.accuracy);

test('unaligned average of two strangers loses most of what they know; alignment recovers it', async () => {
  const plain = await run('none');
  const [a, d] = members(plain);
  assert.ok(a! > 0.8 && d! > 0.8);
  const chance = 0.5;
  const best = Math.max(a!, d!);
  // The plain average falls well below the members (measured 70.6% vs 81.3% / 80.7%).
  assert.ok(merged(plain) < best - 0.05, `plain average ${merged(plain)}`);
  for (const align of ['activations', 'weights']) {
    const r = await run(align);
    const recovered = (merged(r) - merged(plain)) / (best - merged(plain));
    // "Most of it": at least 3/4 of the gap to the best member closed, and far above chance.
    assert.ok(recovered >= 0.75 && merged(r) > chance + 0.25, `${align}: ${merged(r)} (recovered ${recovered.toFixed(2)} of the gap)`);
    const report = r.alignment[0]!;
    assert.equal(report.source, 'sst2-stranger-d');
    for (const g of report.groups) assert.ok(g.after > g.before, `${align} ${g.group}: similarity ${g.before} → ${g.after}`);
  }
});
