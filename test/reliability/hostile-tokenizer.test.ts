/**
 * tokenizer.json components beyond what the supported families use: arbitrary regexes (a
 * backtracking `Replace` once froze `predict`), unknown component types, sizes no real tokenizer
 * has. Each is refused by `predict` and `inspect` in one line naming tokenizer.json and the
 * component, in bounded time, with the folder unchanged; every fixture's tokenizer still passes.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { validateTokenizerJson } from '../../src/checkpoint/tokenizer-validate.js';
import { editJson } from '../helpers/corrupt.js';
import { FIXTURES, fixture, tempDir } from '../helpers/fixtures.js';
import { BoundedCli, assertOneLineRefusal, unchanged } from './bounded.js';
import { stageFixture } from './consumers.js';

const root = tempDir('bertfuse-hostile-tokenizer-');
const cli = new BoundedCli();
after(() => cli.close());

type Json = Record<string, unknown>;
const BERT_NORMALIZER = { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true };
/** A text on which the classic exponential regexes backtrack for hours. */
const EVIL_TEXT = `${'a'.repeat(40)}!`;

const CASES: readonly { name: string; edit: (j: Json) => void; pattern: RegExp }[] = [
  { name: 'Replace normalizer with a backtracking regex (a+)+$', edit: (j) => (j['normalizer'] = { type: 'Sequence', normalizers: [BERT_NORMALIZER, { type: 'Replace', pattern: { Regex: '(a+)+$' }, content: '' }] }), pattern: /normalizer\[1\] Replace: regex "\(a\+\)\+\$" is not one the supported families use/ },
  { name: 'Replace normalizer alone with (x|xx)+y', edit: (j) => (j['normalizer'] = { type: 'Replace', pattern: { Regex: '(a|aa)+b' }, content: 'c' }), pattern: /normalizer Replace: regex "\(a\|aa\)\+b" is not one/ },
  { name: 'Split pre-tokenizer with a regex', edit: (j) => (j['pre_tokenizer'] = { type: 'Split', pattern: { Regex: '(\\w+\\s?)*$' }, behavior: 'Isolated', invert: false }), pattern: /pre_tokenizer Split: regex .* is not one/ },
  { name: 'Replace decoder with a regex', edit: (j) => (j['decoder'] = { type: 'Replace', pattern: { Regex: '(.*a){20}' }, content: '' }), pattern: /decoder Replace: regex .* is not one/ },
  { name: 'a pattern that is neither String nor Regex', edit: (j) => (j['normalizer'] = { type: 'Replace', pattern: { Glob: '*' }, content: '' }), pattern: /pattern must be \{"String": …\} or \{"Regex": …\}/ },
  { name: 'an unknown normalizer type inside a Sequence', edit: (j) => (j['normalizer'] = { type: 'Sequence', normalizers: [BERT_NORMALIZER, { type: 'RegexReplace', pattern: 'a+' }] }), pattern: /normalizer\[1\]: type "RegexReplace" is not supported \(the supported families use BertNormalizer, / },
  { name: 'an unknown pre-tokenizer type', edit: (j) => (j['pre_tokenizer'] = { type: 'UnicodeScripts' }), pattern: /pre_tokenizer: type "UnicodeScripts" is not supported/ },
  { name: 'an unknown model type (WordLevel)', edit: (j) => ((j['model'] as Json)['type'] = 'WordLevel'), pattern: /model(:)? type "WordLevel" is not supported/ },
  { name: 'an unknown post-processor type', edit: (j) => (j['post_processor'] = { type: 'Python', code: 'x' }), pattern: /post_processor: type "Python" is not supported/ },
  { name: 'an unknown decoder type', edit: (j) => (j['decoder'] = { type: 'CTC' }), pattern: /decoder: type "CTC" is not supported/ },
  { name: 'a component type that is not a string', edit: (j) => (j['normalizer'] = { type: { $regex: 'a' } }), pattern: /normalizer: type an object is not supported/ },
  { name: 'Sequences nested three deep', edit: (j) => (j['normalizer'] = { type: 'Sequence', normalizers: [{ type: 'Sequence', normalizers: [{ type: 'Sequence', normalizers: [BERT_NORMALIZER] }] }] }), pattern: /Sequences nested more than 2 deep/ },
  { name: 'a Sequence of 10,000 normalizers', edit: (j) => (j['normalizer'] = { type: 'Sequence', normalizers: Array.from({ length: 10_000 }, () => ({ type: 'NFC' })) }), pattern: /normalizers: 10000 items \(at most 32\)/ },
  { name: 'WordPiece max_input_chars_per_word 10^9 (cubic greedy match)', edit: (j) => ((j['model'] as Json)['max_input_chars_per_word'] = 1e9), pattern: /model WordPiece: "max_input_chars_per_word" must be an integer from 0 to 1000, got 1000000000/ },
  { name: 'a vocabulary token of 5,000 characters', edit: (j) => (((j['model'] as Json)['vocab'] as Json)['x'.repeat(5000)] = 8191), pattern: /a vocab token is 5000 characters/ },
  { name: '20,000 added tokens', edit: (j) => (j['added_tokens'] = Array.from({ length: 20_000 }, (_, i) => ({ id: i % 8192, content: `tok${i}`, special: false }))), pattern: /added_tokens: 20000 items \(at most 10000\)/ },
  { name: 'a Metaspace replacement of several characters', edit: (j) => (j['pre_tokenizer'] = { type: 'Metaspace', replacement: 'abc', prepend_scheme: 'always', split: true }), pattern: /"replacement" must be one character/ },
  { name: 'a 10 MB Precompiled charsmap', edit: (j) => (j['normalizer'] = { type: 'Precompiled', precompiled_charsmap: 'A'.repeat(10 << 20) }), pattern: /"precompiled_charsmap" is 10485760 characters/ },
  { name: 'a literal Replace pattern of 100,000 characters', edit: (j) => (j['normalizer'] = { type: 'Replace', pattern: { String: 'a'.repeat(100_000) }, content: '' }), pattern: /literal pattern of 100000 characters/ },
  { name: 'a TemplateProcessing with 1,000 pieces', edit: (j) => ((j['post_processor'] as Json)['single'] = Array.from({ length: 1000 }, () => ({ Sequence: { id: 'A', type_id: 0 } }))), pattern: /post_processor TemplateProcessing single: 1000 items/ },
];

describe('hostile tokenizer.json: only known components and patterns, bounded sizes', () => {
  const folder = stageFixture(fixture('sst2-sibling-a'), path.join(root, 'model'));
  const tj = path.join(folder, 'tokenizer.json');
  const good = fs.readFileSync(tj);
  for (const c of CASES) {
    test(c.name, async () => {
      fs.writeFileSync(tj, good);
      editJson(tj, c.edit);
      for (const argv of [['predict', folder, '--text', EVIL_TEXT], ['inspect', folder]]) {
        const r = await unchanged(folder, () => cli.run(argv));
        assertOneLineRefusal(r, { names: tj, pattern: c.pattern }, argv[0]);
      }
    });
  }

  test('a 200 MB tokenizer.json is refused before it is read', async () => {
    fs.writeFileSync(tj, good);
    fs.truncateSync(tj, 200 << 20); // sparse: the size is what is checked
    const r = await cli.run(['predict', folder, '--text', 'fine']);
    assertOneLineRefusal(r, { names: tj, pattern: /file is 209715200 bytes, larger than any tokenizer/ });
    fs.writeFileSync(tj, good);
  });

  test('literal Replace patterns are allowed: a BERT tokenizer with a `` → " replacement loads and predicts', async () => {
    fs.writeFileSync(tj, good);
    editJson(tj, (j) => (j['normalizer'] = { type: 'Sequence', normalizers: [{ type: 'Replace', pattern: { String: '``' }, content: '"' }, BERT_NORMALIZER] }));
    const r = await cli.run(['predict', folder, '--text', '``a gorgeous , witty movie .', '--json']);
    assert.equal(r.code, 0, r.stderr);
    fs.writeFileSync(tj, good);
  });

  test("every bundled fixture's tokenizer.json passes (BERT, DistilBERT, ELECTRA, RoBERTa, ModernBERT, XLM-R, DeBERTa-v3)", () => {
    const files = [
      ...fs.readdirSync(FIXTURES).map((d) => path.join(FIXTURES, d, 'tokenizer.json')),
      ...fs.readdirSync(path.join(FIXTURES, 'family')).map((d) => path.join(FIXTURES, 'family', d, 'tokenizer.json')),
    ].filter((f) => fs.existsSync(f));
    assert.ok(files.length >= 15, `found ${files.length}`);
    for (const f of files) validateTokenizerJson(JSON.parse(fs.readFileSync(f, 'utf8')) as Json, f);
  });
});
