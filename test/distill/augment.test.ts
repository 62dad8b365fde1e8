import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { augmentTexts, matchForm } from '../../src/distill/augment.js';
import { readLabelled } from '../../src/data/labelled.js';
import { DATA } from '../helpers/fixtures.js';

const texts = fs.readFileSync(path.join(DATA, 'sst2_transfer.txt'), 'utf8').split('\n').filter(Boolean).map((text) => ({ text }));
const dev = readLabelled(path.join(DATA, 'sst2_dev.tsv'), { labels: ['negative', 'positive'] }).inputs.map((t) => t.text);

test('augment: the same seed draws the same variants, another seed others', () => {
  const a = augmentTexts(texts, { variants: 2, seed: 7 });
  const b = augmentTexts(texts, { variants: 2, seed: 7 });
  const c = augmentTexts(texts, { variants: 2, seed: 8 });
  assert.deepEqual(a, b);
  assert.notDeepEqual(a.variants, c.variants);
  assert.equal(a.drawn, 2 * texts.length);
  assert.equal(a.variants.length + a.duplicates, a.drawn);
  assert.ok(a.variants.length > 0.5 * a.drawn, `only ${a.variants.length} of ${a.drawn} variants are new`);
});

test('augment: every variant is new, made of the corpus\'s words, no longer than its text; n-grams are ≤ 5 words', () => {
  const { variants } = augmentTexts(texts, { variants: 3, seed: 1 });
  const originals = new Set(texts.map((t) => matchForm(t.text)));
  const vocabulary = new Set(texts.flatMap((t) => t.text.split(/\s+/)));
  const forms = new Set<string>();
  let short = 0;
  for (const v of variants) {
    const f = matchForm(v.text);
    assert.ok(f !== '' && !originals.has(f) && !forms.has(f), `"${v.text}" repeats a text or a variant`);
    forms.add(f);
    for (const w of v.text.split(' ')) assert.ok(vocabulary.has(w), `"${w}" is not a corpus word`);
    if (v.text.split(' ').length <= 5) short++;
  }
  const longest = Math.max(...texts.map((t) => t.text.split(/\s+/).length));
  assert.ok(variants.every((v) => v.text.split(' ').length <= longest));
  // About a quarter are n-grams (plus texts of ≤ 5 words anyway): a real share, not all.
  assert.ok(short > 0.15 * variants.length && short < 0.9 * variants.length, `${short} of ${variants.length} variants have ≤ 5 words`);
});

test('augment: words are dropped at 0.1 and replaced at 0.1 (pair sides: no n-grams)', () => {
  // A pair whose second side is one repeated word: every other word in its variant is a replacement.
  const pairs = texts.slice(0, 4000).map((t) => ({ text: t.text, textPair: Array(20).fill('zzz').join(' ') }));
  const { variants } = augmentTexts(pairs, { variants: 1, seed: 3 });
  let words = 0;
  let replaced = 0;
  for (const v of variants) {
    const w = v.textPair!.split(' ');
    words += w.length;
    replaced += w.filter((x) => x !== 'zzz').length;
  }
  // Of 20 words, 90% are kept on average (18), and of the kept ones 1/9 are replaced — the corpus
  // itself holds "zzz" 20·4000 times of its words, so a replacement can be "zzz" again.
  const zzzShare = 20 * pairs.length / (20 * pairs.length + pairs.reduce((n, p) => n + p.text.split(/\s+/).length, 0));
  assert.ok(Math.abs(words / variants.length - 18) < 0.1, `kept ${words / variants.length} of 20 words`);
  const expected = (0.1 / 0.9) * (1 - zzzShare);
  assert.ok(Math.abs(replaced / words - expected) < 0.005, `replaced ${replaced / words}, expected ${expected}`);
});

test('augment: no variant is, contains or is inside an avoided text (checked here by substring search against SST-2 dev)', () => {
  const free = augmentTexts(texts, { variants: 2, seed: 5 });
  const r = augmentTexts(texts, { variants: 2, seed: 5, avoid: dev });
  const devForms = dev.map(matchForm);
  const near = (f: string): boolean => devForms.some((d) => d.includes(f) || f.includes(d));
  // The same draws, the near ones taken out: exactly the variants this test finds near a dev row.
  const expected = free.variants.filter((v) => !near(matchForm(v.text)));
  assert.deepEqual(r.variants, expected);
  assert.equal(r.avoided, free.variants.length - expected.length);
  assert.ok(r.avoided > 100, `only ${r.avoided} variants were near a dev row (short n-grams often are)`);
});

test('augment: matchForm compares SST and MR spellings alike; variants must be a whole number', () => {
  assert.equal(matchForm("it does n't -LRB- really -RRB- work"), matchForm("It doesn't (really) work!"));
  assert.equal(matchForm('Café, naïve'), 'cafénaïve');
  assert.throws(() => augmentTexts(texts, { variants: 1.5, seed: 0 }), /whole number/);
  assert.deepEqual(augmentTexts(texts.slice(0, 10), { variants: 0, seed: 0 }).variants, []);
});
