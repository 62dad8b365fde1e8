import fs from 'node:fs';
import { BertfuseError } from '../errors.js';

/*
 * tokenizer.json is a program for the tokenizer library: its normalizers and pre-tokenizers may
 * carry regular expressions (a `Replace` normalizer with a backtracking pattern once froze
 * `predict`), its vocabularies and merge lists are built into maps before any text is seen, and
 * WordPiece's greedy match is cubic in `max_input_chars_per_word`. So before the library sees the
 * file, every component is checked against what the supported families use (BERT/DistilBERT/
 * ELECTRA WordPiece, RoBERTa/ModernBERT byte-level BPE, XLM-R/DeBERTa-v3 Unigram with Metaspace),
 * regular expressions must be one of the few those families ship, and sizes are bounded. Anything
 * else is refused in one line naming the file and the component.
 */

/** The regexes the supported families' tokenizer.json files use (XLM-R/DeBERTa-v3 normalizers). */
export const KNOWN_REGEXES: ReadonlySet<string> = new Set([
  ' {2,}',
  '[\u0001-\u0008\u000b\u000e-\u001f\u007f\u008f\u009f]',
  '[\u0009\u000a\u000c\u000d\u0085\u1680\u200b-\u200f\u2028\u2029\u2581\ufeff\ufffd]',
]);

export const TOKENIZER_LIMITS = {
  /** tokenizer.json / vocab.txt bytes (XLM-R's tokenizer.json is 17 MB). */
  fileBytes: 128 * 2 ** 20,
  /** Vocabulary entries and BPE merges (XLM-R: 250,002 tokens). */
  vocab: 1_000_000,
  merges: 1_000_000,
  /** Characters of one token, one merge, one literal pattern or replacement. */
  tokenChars: 1_024,
  literalChars: 1_024,
  /** Added tokens are matched by one alternation over all of them, for every input. */
  addedTokens: 10_000,
  /** WordPiece's greedy longest match is cubic in the word length it accepts (HF default 100). */
  maxInputCharsPerWord: 1_000,
  /** Items of a Sequence component, and how deep Sequences may nest. */
  sequenceItems: 32,
  sequenceDepth: 2,
  /** Size of a Precompiled normalizer's charsmap (base64; XLM-R's is ~316 KB). */
  precompiledChars: 8 * 2 ** 20,
  /** Template pieces and special tokens of a post-processor. */
  templateItems: 64,
} as const;

type Json = Record<string, unknown>;

class Check {
  constructor(private readonly file: string) {}

  fail(where: string, msg: string): never {
    throw new BertfuseError('E_BAD_TOKENIZER', `${where}: ${msg}`, this.file);
  }
  obj(v: unknown, where: string): Json {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail(where, `expected an object, got ${describe(v)}`);
    return v as Json;
  }
  type(c: Json, where: string, allowed: readonly string[]): string {
    const t = c['type'];
    if (typeof t !== 'string' || !allowed.includes(t)) {
      this.fail(where, `type ${describe(t)} is not supported (the supported families use ${allowed.join(', ')})`);
    }
    return t;
  }
  bool(c: Json, key: string, where: string): void {
    const v = c[key];
    if (v !== undefined && v !== null && typeof v !== 'boolean') this.fail(where, `"${key}" must be true or false, got ${describe(v)}`);
  }
  str(c: Json, key: string, where: string, max: number = TOKENIZER_LIMITS.literalChars, optional = true): void {
    const v = c[key];
    if ((v === undefined || v === null) && optional) return;
    if (typeof v !== 'string') this.fail(where, `"${key}" must be a string, got ${describe(v)}`);
    if (v.length > max) this.fail(where, `"${key}" is ${v.length} characters (at most ${max})`);
  }
  int(c: Json, key: string, where: string, max: number): void {
    const v = c[key];
    if (v === undefined || v === null) return;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || v > max) this.fail(where, `"${key}" must be an integer from 0 to ${max}, got ${describe(v)}`);
  }
  list(v: unknown, where: string, max: number): unknown[] {
    if (!Array.isArray(v)) this.fail(where, `expected a list, got ${describe(v)}`);
    if (v.length > max) this.fail(where, `${v.length} items (at most ${max})`);
    return v;
  }
  /** A Replace/Split pattern: a literal string, or one of the known regexes. */
  pattern(c: Json, where: string): void {
    const p = this.obj(c['pattern'], `${where} pattern`);
    const keys = Object.keys(p);
    if (keys.length !== 1 || (keys[0] !== 'String' && keys[0] !== 'Regex')) this.fail(where, 'pattern must be {"String": …} or {"Regex": …}');
    const v = p[keys[0]!];
    if (typeof v !== 'string') this.fail(where, `pattern ${keys[0]} must be a string`);
    if (keys[0] === 'String') {
      if (v.length === 0 || v.length > TOKENIZER_LIMITS.literalChars) this.fail(where, `literal pattern of ${v.length} characters (1 to ${TOKENIZER_LIMITS.literalChars})`);
    } else if (!KNOWN_REGEXES.has(v)) {
      this.fail(where, `regex ${JSON.stringify(v.slice(0, 60))}${v.length > 60 ? '…' : ''} is not one the supported families use; refusing to run an arbitrary regex on every input (catastrophic backtracking)`);
    }
  }
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (typeof v === 'object') return 'an object';
  return String(v);
}

const NORMALIZERS = ['BertNormalizer', 'NFC', 'NFD', 'NFKC', 'NFKD', 'Lowercase', 'Strip', 'StripAccents', 'Nmt', 'Precompiled', 'Replace', 'Prepend', 'Sequence'] as const;
const PRE_TOKENIZERS = ['BertPreTokenizer', 'ByteLevel', 'Metaspace', 'Whitespace', 'WhitespaceSplit', 'Punctuation', 'Digits', 'Split', 'Sequence'] as const;
const MODELS = ['WordPiece', 'BPE', 'Unigram'] as const;
const POST_PROCESSORS = ['TemplateProcessing', 'BertProcessing', 'RobertaProcessing', 'ByteLevel', 'Sequence'] as const;
const DECODERS = ['WordPiece', 'ByteLevel', 'Metaspace', 'BPEDecoder', 'Replace', 'Strip', 'Fuse', 'ByteFallback', 'Sequence'] as const;

function normalizer(k: Check, v: unknown, where: string, depth = 0): void {
  const c = k.obj(v, where);
  const t = k.type(c, where, NORMALIZERS);
  const at = `${where} ${t}`;
  switch (t) {
    case 'BertNormalizer':
      for (const b of ['clean_text', 'handle_chinese_chars', 'strip_accents', 'lowercase']) k.bool(c, b, at);
      break;
    case 'Strip':
      k.bool(c, 'strip_left', at);
      k.bool(c, 'strip_right', at);
      break;
    case 'Precompiled':
      k.str(c, 'precompiled_charsmap', at, TOKENIZER_LIMITS.precompiledChars);
      break;
    case 'Replace':
      k.pattern(c, at);
      k.str(c, 'content', at, TOKENIZER_LIMITS.literalChars, false);
      break;
    case 'Prepend':
      k.str(c, 'prepend', at, 16, false);
      break;
    case 'Sequence':
      if (depth >= TOKENIZER_LIMITS.sequenceDepth) k.fail(at, `Sequences nested more than ${TOKENIZER_LIMITS.sequenceDepth} deep`);
      k.list(c['normalizers'], `${at} normalizers`, TOKENIZER_LIMITS.sequenceItems).forEach((n, i) => normalizer(k, n, `${where}[${i}]`, depth + 1));
      break;
  }
}

function preTokenizer(k: Check, v: unknown, where: string, depth = 0): void {
  const c = k.obj(v, where);
  const t = k.type(c, where, PRE_TOKENIZERS);
  const at = `${where} ${t}`;
  switch (t) {
    case 'ByteLevel':
      for (const b of ['add_prefix_space', 'trim_offsets', 'use_regex']) k.bool(c, b, at);
      break;
    case 'Metaspace':
      metaspace(k, c, at);
      break;
    case 'Digits':
      k.bool(c, 'individual_digits', at);
      break;
    case 'Split':
      k.pattern(c, at);
      k.bool(c, 'invert', at);
      break;
    case 'Sequence':
      if (depth >= TOKENIZER_LIMITS.sequenceDepth) k.fail(at, `Sequences nested more than ${TOKENIZER_LIMITS.sequenceDepth} deep`);
      k.list(c['pretokenizers'], `${at} pretokenizers`, TOKENIZER_LIMITS.sequenceItems).forEach((n, i) => preTokenizer(k, n, `${where}[${i}]`, depth + 1));
      break;
  }
}

function metaspace(k: Check, c: Json, at: string): void {
  const r = c['replacement'];
  if (typeof r !== 'string' || [...r].length !== 1) k.fail(at, `"replacement" must be one character, got ${describe(r)}`);
  const scheme = c['prepend_scheme'];
  if (scheme !== undefined && scheme !== null && !['always', 'first', 'never'].includes(scheme as string)) k.fail(at, `"prepend_scheme" ${describe(scheme)} is not always, first or never`);
  k.bool(c, 'add_prefix_space', at);
  k.bool(c, 'split', at);
}

function model(k: Check, v: unknown): void {
  const where = 'model';
  const c = k.obj(v, where);
  // A missing type is WordPiece in BERT files written by old converters.
  const t = c['type'] === undefined ? 'WordPiece' : k.type(c, where, MODELS);
  const at = `${where} ${t}`;
  const L = TOKENIZER_LIMITS;
  const token = (s: unknown, what: string): void => {
    if (typeof s !== 'string') k.fail(at, `${what} must be a string, got ${describe(s)}`);
    if (s.length > L.tokenChars) k.fail(at, `${what} is ${s.length} characters (at most ${L.tokenChars})`);
  };
  if (t === 'Unigram') {
    const vocab = k.list(c['vocab'], `${at} vocab`, L.vocab);
    for (const e of vocab) {
      if (!Array.isArray(e) || e.length !== 2 || typeof e[1] !== 'number') k.fail(at, 'vocab entries must be [token, score]');
      token(e[0], 'a vocab token');
    }
    k.int(c, 'unk_id', at, Math.max(0, vocab.length - 1));
    k.bool(c, 'byte_fallback', at);
    return;
  }
  const vocab = k.obj(c['vocab'], `${at} vocab`);
  let n = 0;
  for (const tok in vocab) {
    if (++n > L.vocab) k.fail(at, `vocab has more than ${L.vocab} tokens`);
    token(tok, 'a vocab token');
  }
  k.str(c, 'unk_token', at, L.tokenChars);
  k.str(c, 'continuing_subword_prefix', at, 16);
  if (t === 'WordPiece') {
    k.int(c, 'max_input_chars_per_word', at, L.maxInputCharsPerWord);
    return;
  }
  k.str(c, 'end_of_word_suffix', at, 16);
  for (const b of ['fuse_unk', 'byte_fallback', 'ignore_merges']) k.bool(c, b, at);
  const dropout = c['dropout'];
  if (dropout !== undefined && dropout !== null && dropout !== 0) k.fail(at, `"dropout" ${describe(dropout)}: BPE dropout makes tokenisation random; inference uses none`);
  const merges = k.list(c['merges'] ?? [], `${at} merges`, L.merges);
  for (const m of merges) {
    if (typeof m === 'string') token(m, 'a merge');
    else if (Array.isArray(m) && m.length === 2) (token(m[0], 'a merge'), token(m[1], 'a merge'));
    else k.fail(at, 'merges must be "a b" strings or [a, b] pairs');
  }
}

function postProcessor(k: Check, v: unknown, where: string, depth = 0): void {
  const c = k.obj(v, where);
  const t = k.type(c, where, POST_PROCESSORS);
  const at = `${where} ${t}`;
  const L = TOKENIZER_LIMITS;
  switch (t) {
    case 'TemplateProcessing': {
      k.list(c['single'], `${at} single`, L.templateItems);
      if (c['pair'] !== undefined) k.list(c['pair'], `${at} pair`, L.templateItems);
      const specials = k.obj(c['special_tokens'] ?? {}, `${at} special_tokens`);
      const entries = Object.values(specials);
      if (entries.length > L.templateItems) k.fail(at, `${entries.length} special tokens (at most ${L.templateItems})`);
      for (const s of entries) {
        const o = k.obj(s, `${at} special token`);
        k.list(o['ids'], `${at} special token ids`, L.templateItems);
        k.list(o['tokens'], `${at} special token tokens`, L.templateItems);
      }
      break;
    }
    case 'BertProcessing':
    case 'RobertaProcessing':
      for (const s of ['sep', 'cls']) k.list(c[s], `${at} ${s}`, 2);
      break;
    case 'Sequence':
      if (depth >= L.sequenceDepth) k.fail(at, `Sequences nested more than ${L.sequenceDepth} deep`);
      k.list(c['processors'], `${at} processors`, L.sequenceItems).forEach((p, i) => postProcessor(k, p, `${where}[${i}]`, depth + 1));
      break;
  }
}

function decoder(k: Check, v: unknown, where: string, depth = 0): void {
  const c = k.obj(v, where);
  const t = k.type(c, where, DECODERS);
  const at = `${where} ${t}`;
  switch (t) {
    case 'Metaspace':
      metaspace(k, c, at);
      break;
    case 'Replace':
      k.pattern(c, at);
      k.str(c, 'content', at, TOKENIZER_LIMITS.literalChars, false);
      break;
    case 'Sequence':
      if (depth >= TOKENIZER_LIMITS.sequenceDepth) k.fail(at, `Sequences nested more than ${TOKENIZER_LIMITS.sequenceDepth} deep`);
      k.list(c['decoders'], `${at} decoders`, TOKENIZER_LIMITS.sequenceItems).forEach((d, i) => decoder(k, d, `${where}[${i}]`, depth + 1));
      break;
  }
}

/**
 * Refuses a tokenizer.json whose components are not among those the supported families use, whose
 * regexes are not the known ones, or whose sizes are beyond any real tokenizer's.
 */
export function validateTokenizerJson(json: Readonly<Record<string, unknown>>, file: string): void {
  const k = new Check(file);
  const present = (key: string): boolean => json[key] !== undefined && json[key] !== null;
  if (present('normalizer')) normalizer(k, json['normalizer'], 'normalizer');
  if (present('pre_tokenizer')) preTokenizer(k, json['pre_tokenizer'], 'pre_tokenizer');
  model(k, json['model']);
  if (present('post_processor')) postProcessor(k, json['post_processor'], 'post_processor');
  if (present('decoder')) decoder(k, json['decoder'], 'decoder');
  if (present('added_tokens')) {
    const added = k.list(json['added_tokens'], 'added_tokens', TOKENIZER_LIMITS.addedTokens);
    for (const a of added) k.str(k.obj(a, 'added_tokens'), 'content', 'added_tokens', TOKENIZER_LIMITS.tokenChars, false);
  }
}

/** Refuses a tokenizer file too large to be one, before it is read. */
export function checkTokenizerFileSize(file: string): void {
  let size: number;
  try {
    size = fs.statSync(file).size;
  } catch {
    return; // the reader reports a missing or unreadable file
  }
  if (size > TOKENIZER_LIMITS.fileBytes) throw new BertfuseError('E_BAD_TOKENIZER', `file is ${size} bytes, larger than any tokenizer (at most ${TOKENIZER_LIMITS.fileBytes})`, file);
}
