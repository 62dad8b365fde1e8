import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { registerCombinedLoader } from '../../src/artifact/read.js';
import { writeCombined } from '../../src/artifact/write.js';
import { describeCheckpoint } from '../../src/checkpoint/describe.js';
import { loadCheckpoint } from '../../src/checkpoint/load.js';
import { tokenizerJsonFromBpeFiles } from '../../src/checkpoint/tokenizer-bpe-files.js';
import { isBertfuseError } from '../../src/errors.js';
import { getFusionMethod } from '../../src/fusion/registry.js';
import { loadMembers } from '../../src/members/load.js';
import { runMembers } from '../../src/members/run.js';
import { loadClassifier } from '../../src/runtime/classifier.js';
import { familyFixture, familyFixtureWithout, familyReference } from '../architectures/family-fixture.js';
import { tempDir } from '../helpers/fixtures.js';

/*
 * RoBERTa folders that ship only the slow tokenizer's vocab.json + merges.txt (no tokenizer.json).
 * The fixtures carry both forms, written by Hugging Face from one tokenizer: what we build from the
 * slow files must be exactly HF's tokenizer.json, and tokenize every reference input as PyTorch's run did.
 */

const ROBERTA = ['roberta-sst2-a', 'roberta-sst2-b', 'roberta-mlm'];
const read = (dir: string, f: string): string => fs.readFileSync(path.join(dir, f), 'utf8');
const json = (dir: string, f: string): Record<string, unknown> => JSON.parse(read(dir, f)) as Record<string, unknown>;

test('vocab.json + merges.txt become exactly the tokenizer.json Hugging Face wrote for the same tokenizer (with and without added_tokens_decoder)', () => {
  for (const name of ROBERTA) {
    const dir = familyFixture(name);
    const cfg = json(dir, 'tokenizer_config.json');
    const build = (c: Record<string, unknown>): Record<string, unknown> =>
      tokenizerJsonFromBpeFiles({ text: read(dir, 'vocab.json'), file: 'vocab.json' }, { text: read(dir, 'merges.txt'), file: 'merges.txt' }, c, 'tokenizer_config.json');
    const hf = json(dir, 'tokenizer.json');
    assert.deepEqual(build(cfg), hf, name);
    // Older configs name the special tokens only: RobertaTokenizer's defaults give the same added tokens.
    const { added_tokens_decoder: _, ...older } = cfg;
    assert.deepEqual(build(older)['added_tokens'], hf['added_tokens'], `${name} without added_tokens_decoder`);
  }
});

test('a RoBERTa folder without tokenizer.json loads from vocab.json + merges.txt: the reference ids, the same fingerprint', () => {
  for (const name of ROBERTA) {
    const slow = loadCheckpoint(familyFixtureWithout(name, ['tokenizer.json']));
    const fast = loadCheckpoint(familyFixture(name));
    try {
      assert.equal(slow.tokenizer.fingerprint, fast.tokenizer.fingerprint, name);
      assert.ok(slow.tokenizer.files['merges.txt'] && !slow.tokenizer.files['tokenizer.json']);
      assert.equal(describeCheckpoint(slow).tokenizer.source, 'vocab.json + merges.txt');
      for (const x of familyReference(name).inputs) {
        assert.deepEqual(slow.tokenizer.encode({ text: x.text, textPair: x.text_pair ?? null }).inputIds, x.input_ids, `${name} ${x.id}`);
      }
    } finally {
      slow.close();
      fast.close();
    }
  }
});

test('bad slow-tokenizer files: one line naming the folder or the file and the problem', () => {
  const refused = (dir: string, pattern: RegExp): void => {
    assert.throws(() => loadCheckpoint(dir), (e) => isBertfuseError(e) && !e.message.includes('\n') && pattern.test(e.message), String(pattern));
  };
  const noMerges = familyFixtureWithout('roberta-sst2-a', ['tokenizer.json', 'merges.txt']);
  refused(noMerges, new RegExp(`^${noMerges}: no tokenizer: vocab\\.json without merges\\.txt \\(byte-level BPE needs both, or a tokenizer\\.json\\)$`));
  const neither = familyFixtureWithout('roberta-sst2-a', ['tokenizer.json', 'merges.txt', 'vocab.json']);
  refused(neither, /roberta-sst2-a: no tokenizer: expected tokenizer\.json or vocab\.json \+ merges\.txt$/);

  const badMerge = familyFixtureWithout('roberta-sst2-a', ['tokenizer.json']);
  fs.writeFileSync(path.join(badMerge, 'merges.txt'), '#version: 0.2\nĠ t\nĠ zzqx\n');
  refused(badMerge, /merges\.txt: line 3 merges "Ġ" \+ "zzqx", but "zzqx" is not in vocab\.json/);
  fs.writeFileSync(path.join(badMerge, 'merges.txt'), '#version: 0.2\nĠ t a\n');
  refused(badMerge, /merges\.txt: line 2 "Ġ t a" is not two pieces/);
  fs.writeFileSync(path.join(badMerge, 'merges.txt'), '#version: 0.2\nĠ t\n');
  fs.writeFileSync(path.join(badMerge, 'vocab.json'), '{"<s>": 0, "Ġ": -1}');
  refused(badMerge, /vocab\.json: piece "Ġ" has id -1, not a token id/);
  fs.writeFileSync(path.join(badMerge, 'vocab.json'), '["<s>"]');
  refused(badMerge, /vocab\.json: not an object of piece → id$/);
});

test('a combined folder of such members carries the tokenizer.json (the transformers.js layout needs one) and predicts as the members do', async () => {
  registerCombinedLoader();
  const set = loadMembers([familyFixtureWithout('roberta-sst2-a', ['tokenizer.json']), familyFixtureWithout('roberta-sst2-b', ['tokenizer.json'])]);
  const out = path.join(tempDir('bertfuse-bpe-combined-'), 'combined');
  const ref = familyReference('roberta-sst2-a');
  const inputs = ref.inputs.map((x) => ({ text: x.text, textPair: x.text_pair ?? null }));
  try {
    const run = await runMembers(set, inputs);
    const mean = getFusionMethod('mean');
    const params = mean.fit(run.outputs, { labels: Int32Array.from(ref.inputs, (_, i) => i % 2), seed: 0, folds: 2 }, {});
    await writeCombined(out, { set, method: mean, options: {}, params, metrics: null });
    // One tokenizer group (the siblings share theirs): HF's tokenizer.json, rebuilt, beside the slow files.
    assert.deepEqual(json(out, 'tokenizer.json'), json(familyFixture('roberta-sst2-a'), 'tokenizer.json'));
    assert.ok(fs.existsSync(path.join(out, 'vocab.json')) && fs.existsSync(path.join(out, 'merges.txt')));
    const model = await loadClassifier(out);
    try {
      const fused = await model.predictProba(inputs);
      const expect = mean.apply(run.outputs, params);
      for (let i = 0; i < expect.length; i++) assert.ok(Math.abs(fused[i]! - expect[i]!) < 1e-4, `row ${Math.floor(i / 2)}: ${fused[i]} vs ${expect[i]}`);
    } finally {
      await model.close();
    }
  } finally {
    set.close();
  }
});
