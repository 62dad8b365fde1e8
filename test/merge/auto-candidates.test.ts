import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { prepare } from '../../src/eval/prepare.js';
import { mergeBlocker, mergeCandidates } from '../../src/merge/auto-candidates.js';
import { merge } from '../../src/merge/merge.js';
import { parseMergeRecipe } from '../../src/recipe/merge.js';
import { loadClassifier } from '../../src/runtime/classifier.js';
import { DATA, fixture, tempDir } from '../helpers/fixtures.js';

function subset(rows: number): string {
  const lines = fs.readFileSync(path.join(DATA, 'sst2_dev.tsv'), 'utf8').split('\n');
  const file = path.join(tempDir(), 'dev-subset.tsv');
  fs.writeFileSync(file, lines.slice(0, rows + 1).join('\n') + '\n');
  return file;
}

test('merges compete in auto only where one merged head can answer for the members', async () => {
  const data = { path: subset(40) };
  const cases: [string[], RegExp | null][] = [
    [['sst2-sibling-a', 'sst2-sibling-b'], null],
    [['sst2-sibling-a', 'sst2-stranger-b'], /different tokenizers/],
    [['sst2-sibling-a', 'subj-sibling'], /label names differ/],
  ];
  for (const [members, blocker] of cases) {
    const labelMap: Record<string, string> = members.includes('subj-sibling') ? { subjective: 'negative', objective: 'positive' } : {};
    const p = await prepare({ members: members.map((m) => ({ path: fixture(m) })), data, labels: ['negative', 'positive'], labelMap });
    try {
      const why = mergeBlocker(p);
      if (blocker) assert.match(why ?? '', blocker, members.join(' + '));
      else assert.equal(why, null);
      assert.equal((await mergeCandidates(p)).length, blocker ? 0 : 2);
    } finally {
      p.close();
    }
  }
});

test('a merge candidate scores exactly what the merged model predicts, columns put in label-name order', async () => {
  const rows = 60;
  // stranger-a and stranger-d share tokenizer and size; the common label order is the reverse of
  // theirs, and the data's integers are named (0 = negative) so the order says nothing about them.
  const p = await prepare({ members: [{ path: fixture('sst2-stranger-a') }, { path: fixture('sst2-stranger-d') }], data: { path: subset(rows) }, labels: ['positive', 'negative'], labelMap: { '0': 'negative', '1': 'positive' } });
  try {
    const [linear] = await mergeCandidates(p);
    assert.equal(linear!.name, 'merge:linear');
    const scored = await linear!.score(p);
    assert.equal(scored.scoring, 'direct');
    assert.equal(scored.probs.length, rows * 2);
    // Independently: merge with the library and predict with the merged folder.
    const out = path.join(tempDir(), 'merged');
    await merge(parseMergeRecipe({ merge_method: 'linear', models: [{ model: fixture('sst2-stranger-a') }, { model: fixture('sst2-stranger-d') }] }), { out });
    const model = await loadClassifier(out);
    const own = await model.predictProba(p.fit.data.inputs);
    await model.close();
    const pos = model.labels.indexOf('positive');
    const neg = model.labels.indexOf('negative');
    for (let i = 0; i < rows; i++) {
      assert.ok(Math.abs(scored.probs[i * 2]! - own[i * 2 + pos]!) < 1e-6);
      assert.ok(Math.abs(scored.probs[i * 2 + 1]! - own[i * 2 + neg]!) < 1e-6);
    }
    const dest = path.join(tempDir(), 'written');
    await linear!.write(dest);
    assert.ok(fs.existsSync(path.join(dest, 'model.safetensors.index.json')) || fs.existsSync(path.join(dest, 'model.safetensors')));
  } finally {
    p.close();
  }
});
