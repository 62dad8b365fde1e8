import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { Tokenizer } from '@huggingface/tokenizers';
import { leadingPieces, safeCut } from '../../src/checkpoint/leading-pieces.js';
import { loadTokenizer, type BertTokenizer } from '../../src/checkpoint/tokenizer.js';
import { DATA, fixture } from '../helpers/fixtures.js';

/*
 * Word-piecing only a prefix of a long text must give exactly the ids of word-piecing all of it
 * and truncating: checked on every tokenizer the project ships fixtures for (BERT WordPiece,
 * byte-level BPE, Unigram/Metaspace), on long real texts and on awkward ones.
 */

const sentences = [
  ...fs.readFileSync(path.join(DATA, 'sst2_dev.tsv'), 'utf8').split('\n').slice(1).map((l) => l.split('\t')[1] ?? ''),
  ...fs.readFileSync(path.join(DATA, 'rt-polarity-sample.pos'), 'latin1').split('\n'),
  ...fs.readFileSync(path.join(DATA, 'rt-polarity-sample.neg'), 'latin1').split('\n'),
].filter((s) => s.trim() !== '');

/** `chars` characters of real sentences joined by `sep`, starting at sentence `from`. */
function realText(chars: number, from: number, sep = ' '): string {
  let s = '';
  for (let i = from; s.length < chars; i++) s += sentences[i % sentences.length] + sep;
  return s.slice(0, chars);
}

const LONG_TEXTS: Readonly<Record<string, string>> = {
  'real 10k': realText(10_000, 0),
  'real 20k': realText(20_000, 300),
  'real, newline/tab/multi-space separated': realText(12_000, 50, '\n\t  '),
  'words over 100 characters': Array.from({ length: 150 }, (_, i) => 'x'.repeat(90 + (i % 30))).join(' '),
  'CJK without spaces, then words': '中文文本'.repeat(800) + ' ' + realText(8000, 7),
  'Hangul (several pieces per character)': '한국어 '.repeat(2000),
  'accents, emoji and punctuation': Array.from({ length: 2000 }, (_, i) => ['café', 'naïve!', '👍🏽', 'déjà-vu', 'ÉLAN', '...', '1,234.5'][i % 7]).join(' '),
  'no whitespace at all': 'abc.'.repeat(2000),
  'surrogate pairs before spaces': '𝐀𝐁 '.repeat(2000),
};

function tokenizerFiles(dir: string): { json: Record<string, unknown>; config: Record<string, unknown> } {
  const read = (f: string): Record<string, unknown> => (fs.existsSync(path.join(dir, f)) ? (JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as Record<string, unknown>) : {});
  return { json: read('tokenizer.json'), config: read('tokenizer_config.json') };
}

const FAMILY = ['distilbert-sst2', 'roberta-sst2-a', 'xlmr-sst2', 'electra-sst2', 'modernbert-sst2', 'deberta-sst2'];

describe('leadingPieces: the first pieces equal the whole text\'s, for every family\'s tokenizer', () => {
  const tokenizers: [string, (t: string) => number[]][] = [
    ...['sst2-sibling-a', 'sst2-stranger-a'].map((name): [string, (t: string) => number[]] => {
      const tok = loadTokenizer(fixture(name), 128);
      return [`${name} (BERT)`, (t) => tok.pieces(t)];
    }),
    ...FAMILY.map((name): [string, (t: string) => number[]] => {
      const { json, config } = tokenizerFiles(fixture(path.join('family', name)));
      const tok = new Tokenizer(json, config);
      return [name, (t) => tok.encode(t, { add_special_tokens: false }).ids];
    }),
  ];
  for (const [name, pieces] of tokenizers) {
    test(name, () => {
      for (const [what, text] of Object.entries(LONG_TEXTS)) {
        const all = pieces(text);
        for (const need of [1, 126, 510]) {
          const got = leadingPieces(text, need, pieces);
          assert.ok(got.length >= Math.min(need, all.length), `${what}, need ${need}: only ${got.length} pieces`);
          assert.deepEqual(got.slice(0, need), all.slice(0, need), `${what}, need ${need}`);
        }
      }
    });
  }
});

describe('leadingPieces: stops early', () => {
  test('a 100,000-character text is word-pieced only up to a prefix a few times what is needed', () => {
    const tok = loadTokenizer(fixture('sst2-sibling-a'), 128);
    let chars = 0;
    const counting = (t: string): number[] => {
      chars += t.length;
      return tok.pieces(t);
    };
    const ids = leadingPieces(realText(100_000, 300), 126, counting);
    assert.ok(ids.length >= 126);
    assert.ok(chars <= 4 * 2048 + 64, `tokenized ${chars} characters for 126 pieces`);
  });
  test('safeCut: only between a letter or digit and an ASCII space, tab or line break', () => {
    assert.equal(safeCut('ab cd', 0), 2);
    assert.equal(safeCut('ab cd', 3), -1);
    assert.equal(safeCut('a.  b c', 0), 5);
    assert.equal(safeCut('9\tx', 0), 1);
    assert.equal(safeCut('x\u00a0y\u3000z', 0), -1);
    assert.equal(safeCut('𝐀 b', 0), 2); // after a surrogate pair
  });
});

/** Hugging Face's longest_first over whole-text pieces, written out independently of the tokenizer's loop. */
function expectedIds(tok: BertTokenizer, text: string, pair: string | null): number[] {
  const a = tok.pieces(text);
  const b = pair === null ? [] : tok.pieces(pair);
  const budget = tok.maxLength - (pair === null ? 2 : 3);
  let la = a.length;
  let lb = b.length;
  // HF's fast tokenizers (fixtures/family/README.md, Truncation): when both sides must be cut the
  // shorter keeps ⌊budget/2⌋ (the first counts as shorter on ties), else the longer keeps budget − shorter.
  if (la + lb > budget) {
    const firstShorter = la <= lb;
    const keepShort = Math.min(Math.min(la, lb), Math.floor(budget / 2));
    [la, lb] = firstShorter ? [keepShort, budget - keepShort] : [budget - keepShort, keepShort];
  }
  return pair === null ? [tok.clsId, ...a.slice(0, la), tok.sepId] : [tok.clsId, ...a.slice(0, la), tok.sepId, ...b.slice(0, lb), tok.sepId];
}

describe('BertTokenizer.encode with the bound: the same ids as truncating the whole text', () => {
  const tok = loadTokenizer(fixture('sst2-sibling-a'), 128);
  const short = 'a gorgeous , witty , seductive movie .';
  const cases: [string, string, string | null][] = [
    ...Object.entries(LONG_TEXTS).map(([k, t]): [string, string, string | null] => [k, t, null]),
    ['long + short pair', LONG_TEXTS['real 10k']!, short],
    ['short + long pair', short, realText(100_000, 300)],
    ['long + long pair', realText(100_000, 300), LONG_TEXTS['real 10k']!],
    ['long + Hangul pair', LONG_TEXTS['Hangul (several pieces per character)']!, LONG_TEXTS['words over 100 characters']!],
    ['pair of 60-piece sides (both cut)', realText(400, 11), realText(400, 12)],
    ['empty + long pair', '', LONG_TEXTS['real 10k']!],
  ];
  for (const [name, text, pair] of cases) {
    test(name, () => {
      const e = tok.encode({ text, textPair: pair });
      assert.deepEqual(e.inputIds, expectedIds(tok, text, pair));
      assert.equal(e.inputIds.length, Math.min(e.inputIds.length, tok.maxLength));
    });
  }
  test('every max length from 3 to 40 on a long pair and a long single text', () => {
    const a = realText(3000, 21);
    const b = realText(2500, 22);
    for (let max = 3; max <= 40; max++) {
      for (const pair of [null, b, 'tiny']) assert.deepEqual(tok.encode({ text: a, textPair: pair }, max).inputIds, expectedIds(Object.assign(Object.create(tok) as BertTokenizer, { maxLength: max }), a, pair), `max ${max}`);
    }
  });
});
