import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { loadCheckpoint } from '../../src/checkpoint/load.js';
import { augmentTexts } from '../../src/distill/augment.js';
import { mlmSubstitutes } from '../../src/distill/mlm-substitutes.js';
import { BertfuseError } from '../../src/errors.js';
import { DATA, fixture, FIXTURES, reference } from '../helpers/fixtures.js';

const MLM = fixture('base-mlm');
const ROBERTA_MLM = path.join(FIXTURES, 'family', 'roberta-mlm');
const ckpt = loadCheckpoint(MLM);
after(() => ckpt.close());
const tok = ckpt.tokenizer;
const words = (t: string): string[] => t.split(/\s+/).filter(Boolean);

test('mlm substitutes: the top words agree with PyTorch\'s masked-LM predictions (reference.json)', async () => {
  // reference.json masks one word piece per input and records PyTorch's 5 most likely tokens there.
  // Where that piece is a whole word of letters, our substitutes for the word are those tokens that
  // are whole words other than the word itself, in PyTorch's order (then more from further down).
  const cases: { text: string; word: number; expected: string[] }[] = [];
  for (const x of reference('base-mlm').inputs) {
    if (!x.mlm || x.text_pair) continue;
    const ws = words(x.text);
    const i = ws.findIndex((_, j) => JSON.stringify(tok.encode({ text: ws.map((w, k) => (k === j ? '[MASK]' : w)).join(' ') }).inputIds) === JSON.stringify(x.mlm!.masked_input_ids));
    if (i < 0 || !/^\p{L}+$/u.test(ws[i]!) || tok.pieces(ws[i]!).length !== 1) continue;
    const expected = x.mlm.top5_tokens.filter((t) => /^\p{L}+$/u.test(t) && t !== ws[i]!.toLowerCase());
    cases.push({ text: x.text, word: i, expected });
  }
  assert.ok(cases.length >= 10, `only ${cases.length} reference inputs mask a whole word`);
  const subs = await mlmSubstitutes(MLM, cases.map((c) => c.text), { topK: 5 });
  cases.forEach((c, n) => {
    const got = subs[n]![c.word];
    assert.ok(got, `"${c.text}" word ${c.word}: no substitutes`);
    assert.deepEqual(got.slice(0, c.expected.length), c.expected, `"${c.text}" word ${c.word} ("${words(c.text)[c.word]}")`);
  });
});

test('mlm substitutes: only one-piece words of letters get them; each list is K distinct whole words, never the word itself', async () => {
  const texts = fs.readFileSync(path.join(DATA, 'sst2_transfer.txt'), 'utf8').split('\n').filter(Boolean).slice(0, 150);
  const subs = await mlmSubstitutes(MLM, texts, { topK: 8 });
  let withSubs = 0; // one-piece words of letters
  let full = 0;
  let none = 0;
  texts.forEach((t, n) => {
    const ws = words(t);
    assert.equal(subs[n]!.length, ws.length, `"${t}": one entry per word`);
    ws.forEach((w, i) => {
      const s = subs[n]![i];
      const eligible = /^\p{L}+$/u.test(w) && tok.pieces(w).length === 1;
      if (!eligible) return assert.equal(s, null, `"${w}" in "${t}" is not one piece of letters`);
      // Up to K: the graph ranks K + 15 tokens, and where punctuation or a word piece is likely (a
      // text's last word, "deja vu") fewer of them, or none, are words.
      withSubs++;
      if (s === null) return none++;
      assert.ok(s.length >= 1 && s.length <= 8, `"${w}" in "${t}": ${JSON.stringify(s)}`);
      if (s.length === 8) full++;
      assert.equal(new Set(s).size, s.length);
      for (const x of s) {
        assert.match(x, /^\p{L}+$/u);
        assert.notEqual(x.toLowerCase(), w.toLowerCase());
        assert.equal(tok.pieces(x).length, 1, `"${x}" is a vocabulary word`);
      }
    });
  });
  assert.ok(withSubs > 500, `${withSubs} words with substitutes`);
  assert.ok(full > 0.9 * withSubs && none < 0.02 * withSubs, `of ${withSubs} one-piece words ${full} have all 8, ${none} none`);
  // The same texts twice, in another order: the same answers (repeats are computed once).
  const again = await mlmSubstitutes(MLM, [texts[3]!, texts[0]!, texts[3]!], { topK: 8 });
  assert.deepEqual(again, [subs[3], subs[0], subs[3]]);
});

test('mlm substitutes: in a text longer than the model takes, a word of several pieces gets none, and so does every word cut off', async () => {
  // "cliches" is three pieces; 300 more words run far past base-mlm's 128 tokens.
  const text = `the cliches ${Array(300).fill('good').join(' ')}`;
  assert.equal(tok.pieces('cliches').length, 3);
  const [subs] = await mlmSubstitutes(MLM, [text]);
  assert.ok(subs![0] && subs![2], 'one-piece words inside the model\'s length get substitutes');
  assert.equal(subs![1], null, 'a three-piece word gets none, though the cut masked text is as long as the cut text');
  let inside = -1;
  subs!.forEach((s, i) => (inside = s === null ? inside : i));
  assert.ok(inside > 100 && inside < 130, `last word with substitutes: ${inside}`);
});

test('mlm substitutes: a RoBERTa masked LM gives whole words, never a piece that continues the word before', async () => {
  const r = loadCheckpoint(ROBERTA_MLM);
  try {
    const texts = ['the acting is terrible and the plot is boring', 'a gorgeous , witty , seductive movie .', 'it is a charming and often affecting journey'];
    const subs = await mlmSubstitutes(ROBERTA_MLM, texts, { topK: 10 });
    let n = 0;
    subs.forEach((perWord, t) =>
      perWord.forEach((s, i) => {
        for (const x of s ?? []) {
          // After the first word a word is preceded by a space: " x" must be one piece of the vocabulary.
          assert.equal(r.tokenizer.pieces(i === 0 ? x : ` ${x}`).length, 1, `"${x}" for word ${i} of "${texts[t]}"`);
          n++;
        }
      }),
    );
    assert.ok(n > 100, `${n} substitutes`);
  } finally {
    r.close();
  }
});

test('mlm substitutes: a classifier folder is refused with one line naming its config.json', async () => {
  await assert.rejects(mlmSubstitutes(fixture('sst2-sibling-a'), ['a movie']), (e: unknown) => {
    assert.ok(e instanceof BertfuseError);
    assert.equal(e.code, 'E_UNSUPPORTED_ARCH');
    assert.equal(e.file, path.join(fixture('sst2-sibling-a'), 'config.json'));
    assert.match(e.message, /BertForSequenceClassification is not a masked language model/);
    return true;
  });
});

test('augment with substitutes: words are replaced at 0.4 by their own substitutes, none dropped', () => {
  // Hand-made substitutes: word i of a text may become "s<i>a" or "s<i>b"; every other word stays.
  const texts = Array.from({ length: 3000 }, (_, n) => ({ text: Array.from({ length: 12 }, (_, i) => `w${i}x${n}`).join(' ') }));
  const substitutes = new Map(texts.map((t) => [t.text, words(t.text).map((_, i) => (i % 3 === 2 ? null : [`s${i}a`, `s${i}b`]))]));
  const { variants } = augmentTexts(texts, { variants: 1, seed: 5, substitutes });
  let eligible = 0;
  let replaced = 0;
  for (const v of variants) {
    const ws = words(v.text);
    if (ws.length < 12) continue; // an n-gram of the variant (Tang et al.'s step, kept)
    ws.forEach((w, i) => {
      if (i % 3 === 2) return assert.match(w, new RegExp(`^w${i}x`), 'a word without substitutes stays');
      assert.ok(w.startsWith(`w${i}x`) || w === `s${i}a` || w === `s${i}b`, `word ${i} became "${w}"`);
      eligible++;
      if (w.startsWith('s')) replaced++;
    });
  }
  assert.ok(eligible > 0.6 * 3000 * 8, `${eligible} eligible words in full-length variants`);
  assert.ok(Math.abs(replaced / eligible - 0.4) < 0.01, `replaced ${replaced / eligible}, expected 0.4`);
});
