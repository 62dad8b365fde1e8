import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { Tokenizer } from '@huggingface/tokenizers';
import type { TokenizerSpec } from '../../src/architectures/types.js';
import { BertTokenizer, truncatedLengths } from '../../src/checkpoint/tokenizer.js';
import { FIXTURES } from '../helpers/fixtures.js';

/**
 * Each known divergence of tokenizers.js from Hugging Face's Rust tokenizers
 * (fixtures/family/README.md, "Cross-check with tokenizers.js"), with the README's edge strings:
 * bertfuse gives HF's ids; tokenizers.js on the unmodified tokenizer.json does not. HF's ids are
 * derived in each test from facts the README states, not copied from bertfuse.
 */

function files(name: string): { json: Record<string, unknown>; cfg: Record<string, unknown> } {
  const dir = path.join(FIXTURES, 'family', name);
  return {
    json: JSON.parse(fs.readFileSync(path.join(dir, 'tokenizer.json'), 'utf8')) as Record<string, unknown>,
    cfg: JSON.parse(fs.readFileSync(path.join(dir, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>,
  };
}

function ours(name: string, spec: TokenizerSpec): BertTokenizer {
  const { json, cfg } = files(name);
  return new BertTokenizer({ tokenizerJson: json, tokenizerConfig: cfg, maxLength: 128, files: {}, fingerprint: name, source: name, spec });
}

function raw(name: string): (text: string) => number[] {
  const { json, cfg } = files(name);
  const t = new Tokenizer(json, cfg);
  return (text) => t.encode(text, { add_special_tokens: false }).ids;
}

const BPE: TokenizerSpec = { models: ['BPE'], template: 'bert', specials: { cls: '[CLS]', sep: '[SEP]', pad: '[PAD]' }, tokenTypes: false };
const UNIGRAM: TokenizerSpec = { models: ['Unigram'], template: 'bert', specials: { cls: '[CLS]', sep: '[SEP]', pad: '[PAD]' }, tokenTypes: false };

test('byte-level BPE: U+0085 is whitespace in the GPT-2 regex (HF), so "a\\u0085! and \\u0085x" splits a|\\u0085|!| and| |\\u0085|x', () => {
  const s = 'a\u0085! and \u0085x';
  const js = raw('modernbert-sst2');
  // HF's pre-tokens under Oniguruma's \s (U+0085 included); each piece alone splits the same in both.
  const hf = ['a', '\u0085', '!', ' and', ' ', '\u0085', 'x'].flatMap(js);
  assert.deepEqual(ours('modernbert-sst2', BPE).pieces(s), hf);
  assert.notDeepEqual(js(s), hf, 'tokenizers.js alone splits " \\u0085" as one piece');
});

test('byte-level BPE: U+FEFF is not whitespace in HF (it is in JavaScript): it stays a byte-level symbol next to the word', () => {
  const s = 'good \ufeff film';
  const js = raw('modernbert-sst2');
  // HF: "good", " \ufeff" (space + non-letter run), " film"; JS would take " " as whitespace before FEFF.
  const hf = ['good', ' \ufeff', ' film'].flatMap(js);
  assert.deepEqual(ours('modernbert-sst2', BPE).pieces(s), hf);
});

test('Unigram with Strip: a leading BOM is kept (→ ▁ [UNK] …) and a leading/trailing U+0085 is stripped, as HF (Rust char::is_whitespace)', () => {
  const js = raw('deberta-sst2');
  const tok = ours('deberta-sst2', UNIGRAM);
  // HF keeps U+FEFF like any other unknown non-space character (U+E000 here): tokenizers.js's trim() drops it.
  assert.deepEqual(tok.pieces('\ufeffgood film'), js('\ue000good film'));
  assert.notDeepEqual(js('\ufeffgood film'), js('\ue000good film'));
  // HF strips U+0085 at either end; tokenizers.js keeps it (an extra ▁ + unknown piece).
  assert.deepEqual(tok.pieces('\u0085good film\u0085'), js('good film'));
  assert.notDeepEqual(js('\u0085good film\u0085'), js('good film'));
  // Inside the text nothing changes.
  assert.deepEqual(tok.pieces('good\u0085film'), js('good\u0085film'));
});

test('truncation longest_first as HF fast tokenizers: shorter side keeps ⌊B/2⌋, first counts as shorter on ties', () => {
  assert.deepEqual(truncatedLengths(100, 100, 125), [62, 63]);
  assert.deepEqual(truncatedLengths(300, 200, 125), [63, 62]);
  assert.deepEqual(truncatedLengths(200, 300, 125), [62, 63]);
  assert.deepEqual(truncatedLengths(10, 300, 125), [10, 115]);
  assert.deepEqual(truncatedLengths(300, 10, 124), [114, 10]);
  assert.deepEqual(truncatedLengths(5, 7, 124), [5, 7]);
});

test('RoBERTa pair template: <s> A </s></s> B </s> with all-zero type ids (tokenizers.js\'s RobertaProcessing says 1)', () => {
  const tok = ours('roberta-sst2-a', { models: ['BPE'], template: 'roberta', specials: { cls: '<s>', sep: '</s>', pad: '<pad>' }, tokenTypes: false });
  const enc = tok.encode({ text: 'good', textPair: 'bad' });
  const js = raw('roberta-sst2-a');
  assert.deepEqual(enc.inputIds, [0, ...js('good'), 2, 2, ...js('bad'), 2]);
  assert.ok(enc.tokenTypeIds.every((t) => t === 0));
  // An empty second text is no pair (HF fast tokenizers).
  assert.deepEqual(tok.encode({ text: 'good', textPair: '' }).inputIds, [0, ...js('good'), 2]);
});
