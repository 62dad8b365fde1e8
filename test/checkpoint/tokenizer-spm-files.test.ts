import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { registerCombinedLoader } from '../../src/artifact/read.js';
import { writeCombined } from '../../src/artifact/write.js';
import { describeCheckpoint } from '../../src/checkpoint/describe.js';
import { loadCheckpoint } from '../../src/checkpoint/load.js';
import { tokenizerJsonFromSentencePiece } from '../../src/checkpoint/tokenizer-spm-files.js';
import { isBertfuseError } from '../../src/errors.js';
import { getFusionMethod } from '../../src/fusion/registry.js';
import { loadMembers } from '../../src/members/load.js';
import { runMembers } from '../../src/members/run.js';
import { padBatch } from '../../src/runtime/batch.js';
import { loadClassifier } from '../../src/runtime/classifier.js';
import { familyFixture, familyFixtureWithout } from '../architectures/family-fixture.js';
import { tempDir } from '../helpers/fixtures.js';

/*
 * XLM-R and DeBERTa-v3 folders that ship only the SentencePiece model (sentencepiece.bpe.model /
 * spm.model), no tokenizer.json. The fixtures' .model files were written from their tokenizer.json
 * by Python's sentencepiece protobuf (scripts/build-spm-fixtures.py), and spm-reference.json holds
 * the sentencepiece library's own ids for normalization-heavy strings.
 */

const CASES = [
  { name: 'xlmr-sst2', model: 'sentencepiece.bpe.model', layout: 'xlmr' as const },
  { name: 'deberta-sst2', model: 'spm.model', layout: 'deberta-v3' as const },
];
const ROOT = path.resolve(import.meta.dirname, '../..');
const DEV = fs.readFileSync(path.join(ROOT, 'data/sst2_dev.tsv'), 'utf8').split('\n').slice(1).filter(Boolean).map((l) => l.split('\t')[1]!);
const json = (dir: string, f: string): Record<string, unknown> => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as Record<string, unknown>;
const spmReference = (name: string): { text: string; ids: number[] }[] => (json(familyFixture(name), 'spm-reference.json')['inputs'] as { text: string; ids: number[] }[]);
/** Added tokens in running text, which sentencepiece itself does not know. */
const EXTRA = ['I <mask> it', 'I [MASK] it', '<s> and </s> inline', '[CLS] [SEP] [PAD] [UNK]'];

test('the tokenizer.json built from the .model is the fixture\'s (DeBERTa-v3 exactly; XLM-R but for its normalizer, which is the model\'s own Precompiled charsmap)', () => {
  for (const c of CASES) {
    const dir = familyFixture(c.name);
    const cfg = json(dir, 'tokenizer_config.json');
    const built = tokenizerJsonFromSentencePiece(fs.readFileSync(path.join(dir, c.model)), c.model, c.layout, cfg, 'tokenizer_config.json');
    const hf = json(dir, 'tokenizer.json');
    if (c.layout === 'deberta-v3') assert.deepEqual(built, hf);
    else {
      // The fixture spells nmt_nfkc out as Replace + NFKC steps; the .model carries the compiled rule.
      const normalizers = (built['normalizer'] as { normalizers: { type: string }[] }).normalizers;
      assert.deepEqual(normalizers.map((n) => n.type), ['Precompiled', 'Strip', 'Replace']);
      assert.deepEqual({ ...built, normalizer: null }, { ...hf, normalizer: null });
    }
    // Without added_tokens_decoder, the defaults give the same added tokens.
    const { added_tokens_decoder: _, ...older } = cfg;
    assert.deepEqual(tokenizerJsonFromSentencePiece(fs.readFileSync(path.join(dir, c.model)), c.model, c.layout, older, 'tokenizer_config.json')['added_tokens'], hf['added_tokens'], c.name);
  }
});

test('a folder with the .model and no tokenizer.json gives the tokenizer.json path\'s ids, type ids and masks on every SST-2 dev text, pairs and tricky strings, and sentencepiece\'s own pieces', () => {
  for (const c of CASES) {
    const slow = loadCheckpoint(familyFixtureWithout(c.name, ['tokenizer.json']));
    const fast = loadCheckpoint(familyFixture(c.name));
    try {
      assert.ok(slow.tokenizer.files[c.model] && !slow.tokenizer.files['tokenizer.json']);
      assert.equal(describeCheckpoint(slow).tokenizer.source, c.model);
      if (c.layout === 'deberta-v3') assert.equal(slow.tokenizer.fingerprint, fast.tokenizer.fingerprint);
      const ref = spmReference(c.name);
      // The fixture's hand-written XLM-R normalizer departs from nmt_nfkc on U+0085 and U+FF5E (～),
      // where the .model path does what sentencepiece does (checked against spm-reference.json below).
      const fixtureAgrees = (t: string): boolean => c.layout !== 'xlmr' || !/[\u0085\uff5e]/.test(t);
      const texts = [...DEV, ...ref.map((r) => r.text).filter(fixtureAgrees), ...EXTRA];
      assert.ok(DEV.length >= 800);
      const inputs = texts.flatMap((t, i) => [{ text: t, textPair: null }, { text: t, textPair: texts[(i + 1) % texts.length]! }]);
      const a = inputs.map((x) => slow.tokenizer.encode(x));
      const b = inputs.map((x) => fast.tokenizer.encode(x));
      a.forEach((e, i) => assert.deepEqual(e, b[i], `${c.name} ${JSON.stringify(inputs[i])}`));
      for (let i = 0; i < inputs.length; i += 64) {
        const [pa, pb] = [padBatch(a.slice(i, i + 64), slow.tokenizer.padId), padBatch(b.slice(i, i + 64), fast.tokenizer.padId)];
        assert.deepEqual(pa, pb, `${c.name} batch ${i / 64}`);
      }
      for (const r of ref) assert.deepEqual(slow.tokenizer.pieces(r.text), r.ids, `${c.name} sentencepiece ${JSON.stringify(r.text)}`);
    } finally {
      slow.close();
      fast.close();
    }
  }
});

test('the .model folder predicts the tokenizer.json folder\'s class probabilities (within 1e-6) on 200 SST-2 dev texts and pairs', async () => {
  for (const c of CASES) {
    const inputs = DEV.slice(0, 200).map((text, i) => ({ text, textPair: i % 4 === 0 ? DEV[i + 1]! : null }));
    const [slow, fast] = [await loadClassifier(familyFixtureWithout(c.name, ['tokenizer.json'])), await loadClassifier(familyFixture(c.name))];
    try {
      const [p, q] = [await slow.predictProba(inputs), await fast.predictProba(inputs)];
      assert.equal(p.length, q.length);
      for (let i = 0; i < p.length; i++) assert.ok(Math.abs(p[i]! - q[i]!) < 1e-6, `${c.name} ${i}: ${p[i]} vs ${q[i]}`);
    } finally {
      await slow.close();
      await fast.close();
    }
  }
});

test('a malformed or unsuitable .model: one line naming the file and the problem', () => {
  const refused = (dir: string, pattern: RegExp): void => {
    assert.throws(() => loadCheckpoint(dir), (e) => isBertfuseError(e) && !e.message.includes('\n') && pattern.test(e.message), String(pattern));
  };
  const x = familyFixtureWithout('xlmr-sst2', ['tokenizer.json']);
  const xm = path.join(x, 'sentencepiece.bpe.model');
  const good = fs.readFileSync(xm);
  fs.writeFileSync(xm, good.subarray(0, 1000));
  refused(x, new RegExp(`^${xm}: not a SentencePiece model: the protobuf does not decode \\(`));
  fs.writeFileSync(xm, 'this is not a model\n');
  refused(x, new RegExp(`^${xm}: not a SentencePiece model`));
  fs.writeFileSync(xm, '');
  refused(x, new RegExp(`^${xm}: not a SentencePiece model: it has no pieces$`));
  // DeBERTa-v3's model (ids of its own) where XLM-R's fairseq layout is expected.
  fs.copyFileSync(path.join(familyFixture('deberta-sst2'), 'spm.model'), xm);
  refused(x, new RegExp(`^${xm}: not XLM-R's layout: .*unk_id 3, bos_id 1, eos_id 2, 8187 pieces\\)$`));
  // A BPE SentencePiece model: trainer_spec (field 2) with model_type (field 3) = 2, appended.
  fs.writeFileSync(xm, Buffer.concat([good, Buffer.from([0x12, 0x02, 0x18, 0x02])]));
  refused(x, new RegExp(`^${xm}: a SentencePiece bpe model; XLM-R uses Unigram$`));
  const d = familyFixtureWithout('deberta-sst2', ['tokenizer.json', 'spm.model']);
  refused(d, /deberta-sst2: no tokenizer: expected tokenizer\.json or spm\.model$/);
  fs.copyFileSync(path.join(familyFixture('xlmr-sst2'), 'sentencepiece.bpe.model'), path.join(d, 'spm.model'));
  refused(d, /spm\.model: the model has no \[CLS\] piece \(cls_token\)$/);
});

test('a combined folder of .model-only members carries the .model and the generated tokenizer.json, and predicts as the members do', async () => {
  registerCombinedLoader();
  const set = loadMembers([familyFixtureWithout('deberta-sst2', ['tokenizer.json']), familyFixtureWithout('deberta-sst2', ['tokenizer.json'])]);
  const out = path.join(tempDir('bertfuse-spm-combined-'), 'combined');
  const inputs = DEV.slice(0, 24).map((text) => ({ text, textPair: null }));
  try {
    const run = await runMembers(set, inputs);
    const mean = getFusionMethod('mean');
    const params = mean.fit(run.outputs, { labels: Int32Array.from(inputs, (_, i) => i % 2), seed: 0, folds: 2 }, {});
    await writeCombined(out, { set, method: mean, options: {}, params, metrics: null });
    assert.deepEqual(json(out, 'tokenizer.json'), json(familyFixture('deberta-sst2'), 'tokenizer.json'));
    assert.ok(fs.existsSync(path.join(out, 'spm.model')));
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
