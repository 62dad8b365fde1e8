import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { BertfuseError } from '../errors.js';
import { decodeText } from '../data/encoding.js';
import { leadingPieces } from './leading-pieces.js';
import { assertFilesInside } from './folder-files.js';
import { checkTokenizerFileSize, validateTokenizerJson } from './tokenizer-validate.js';
import { recordOf } from '../util/names.js';

/** Token ids for one input, before padding. */
export interface Encoded {
  readonly inputIds: number[];
  readonly tokenTypeIds: number[];
}

export interface TextInput {
  readonly text: string;
  readonly textPair?: string | null | undefined;
}

/**
 * A BERT WordPiece tokenizer with Hugging Face's truncation semantics. The library does the
 * normalisation and word pieces; truncation and the [CLS]/[SEP] template are ours, because
 * tokenizers.js has no truncation and transformers.js cuts pairs wrongly (drops the last [SEP]).
 */
export class BertTokenizer {
  readonly maxLength: number;
  readonly vocabSize: number;
  readonly clsId: number;
  readonly sepId: number;
  readonly padId: number;
  /** Source files, copied into artifacts so the tokenizer travels with the model. */
  readonly files: Readonly<Record<string, string>>;
  /** A digest of what decides the ids: equal fingerprints tokenize identically. */
  readonly fingerprint: string;
  private readonly tok: Tokenizer;

  constructor(opts: {
    tokenizerJson: Record<string, unknown>;
    tokenizerConfig: Record<string, unknown>;
    maxLength: number;
    files: Record<string, string>;
    fingerprint: string;
    source: string;
  }) {
    try {
      this.tok = new Tokenizer(opts.tokenizerJson, opts.tokenizerConfig);
    } catch (e) {
      throw new BertfuseError('E_BAD_TOKENIZER', `cannot build tokenizer (${(e as Error).message})`, opts.source);
    }
    const vocab = this.tok.get_vocab(true);
    // A loop, not Math.max(...ids): spreading a vocabulary of ~150k ids or more overflows the stack.
    let maxId = -1;
    for (const id of vocab.values()) if (id > maxId) maxId = id;
    this.vocabSize = maxId + 1;
    const special = (name: string, token: string): number => {
      const configured = opts.tokenizerConfig[name];
      const id = this.tok.token_to_id(typeof configured === 'string' ? configured : token);
      if (id === undefined) throw new BertfuseError('E_BAD_TOKENIZER', `vocabulary has no ${token} token`, opts.source);
      return id;
    };
    this.clsId = special('cls_token', '[CLS]');
    this.sepId = special('sep_token', '[SEP]');
    this.padId = special('pad_token', '[PAD]');
    if (opts.maxLength < 3) throw new BertfuseError('E_BAD_TOKENIZER', `max length ${opts.maxLength} is too small`, opts.source);
    this.maxLength = opts.maxLength;
    this.files = opts.files;
    this.fingerprint = opts.fingerprint;
  }

  /** Word pieces of one text, without special tokens. */
  pieces(text: string): number[] {
    return this.tok.encode(text, { add_special_tokens: false }).ids;
  }

  tokens(ids: readonly number[]): string[] {
    return ids.map((id) => this.tok.id_to_token(id) ?? '[?]');
  }

  /**
   * `[CLS] a [SEP]` or `[CLS] a [SEP] b [SEP]`, truncated to maxLength with `longest_first`:
   * remove one piece at a time from the longer side (the second on ties, as Hugging Face does).
   */
  encode(input: TextInput, maxLength = this.maxLength): Encoded {
    const hasPair = input.textPair !== undefined && input.textPair !== null;
    const budget = maxLength - (hasPair ? 3 : 2);
    if (budget < 0) throw new BertfuseError('E_BAD_INPUT', `max length ${maxLength} leaves no room for the special tokens`);
    // Truncation below keeps at most `budget` pieces of either side, and gives the same result for
    // every side length >= budget: word-piece only as much of each text as can survive it.
    const a = leadingPieces(input.text, budget, (t) => this.pieces(t));
    const b = hasPair ? leadingPieces(input.textPair as string, budget, (t) => this.pieces(t)) : [];
    let la = a.length;
    let lb = b.length;
    while (la + lb > budget) {
      if (la > lb) la--;
      else lb--;
    }
    const inputIds = [this.clsId, ...a.slice(0, la), this.sepId];
    const tokenTypeIds = new Array<number>(inputIds.length).fill(0);
    if (hasPair) {
      inputIds.push(...b.slice(0, lb), this.sepId);
      while (tokenTypeIds.length < inputIds.length) tokenTypeIds.push(1);
    }
    return { inputIds, tokenTypeIds };
  }
}

function readBytes(file: string): Buffer {
  checkTokenizerFileSize(file);
  try {
    return fs.readFileSync(file);
  } catch (e) {
    throw new BertfuseError('E_MISSING_FILE', `cannot read file (${(e as NodeJS.ErrnoException).code ?? 'error'})`, file);
  }
}

/**
 * bertfuse applies BERT's [CLS]/[SEP] template itself, so only a WordPiece model with a non-empty
 * token → integer id map makes sense; anything else would load and then tokenize into garbage.
 */
function validateWordPiece(tokenizerJson: Record<string, unknown>, file: string): void {
  const model = tokenizerJson['model'];
  if (typeof model !== 'object' || model === null || Array.isArray(model)) throw new BertfuseError('E_BAD_TOKENIZER', 'tokenizer.json has no model.vocab', file);
  const m = model as Record<string, unknown>;
  if (m['type'] !== undefined && m['type'] !== 'WordPiece') {
    throw new BertfuseError('E_BAD_TOKENIZER', `tokenizer model type ${JSON.stringify(m['type'])} is not supported (BERT uses "WordPiece")`, file);
  }
  const vocab = m['vocab'];
  if (typeof vocab !== 'object' || vocab === null || Array.isArray(vocab)) throw new BertfuseError('E_BAD_TOKENIZER', 'tokenizer.json model.vocab must be an object of token → id', file);
  const entries = Object.entries(vocab as Record<string, unknown>);
  if (entries.length === 0) throw new BertfuseError('E_BAD_TOKENIZER', 'tokenizer.json model.vocab is empty', file);
  for (const [token, id] of entries) {
    if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) {
      throw new BertfuseError('E_BAD_TOKENIZER', `tokenizer.json model.vocab[${JSON.stringify(token)}] = ${JSON.stringify(id)} is not a token id (integer >= 0)`, file);
    }
  }
}

function readJson(file: string): Record<string, unknown> {
  const text = decodeText(readBytes(file), file);
  try {
    const v: unknown = JSON.parse(text);
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not a JSON object');
    return v as Record<string, unknown>;
  } catch (e) {
    throw new BertfuseError('E_BAD_TOKENIZER', `invalid JSON (${(e as Error).message})`, file);
  }
}

/** A tokenizer.json equivalent to the slow BertTokenizer described by vocab.txt + tokenizer_config.json. */
export function tokenizerJsonFromVocab(vocabLines: string[], cfg: Record<string, unknown>): Record<string, unknown> {
  // Tokens are data ("__proto__", "constructor" are tokens of some vocabularies): first id wins.
  const ids = new Map<string, number>();
  vocabLines.forEach((tok, i) => {
    if (!ids.has(tok)) ids.set(tok, i);
  });
  const vocab = recordOf(ids);
  const lower = cfg['do_lower_case'] !== false;
  const stripAccents = cfg['strip_accents'] ?? null;
  const cls = typeof cfg['cls_token'] === 'string' ? cfg['cls_token'] : '[CLS]';
  const sep = typeof cfg['sep_token'] === 'string' ? cfg['sep_token'] : '[SEP]';
  const unk = typeof cfg['unk_token'] === 'string' ? cfg['unk_token'] : '[UNK]';
  const specials = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', cls, sep, unk].filter((t, i, a) => a.indexOf(t) === i && t in vocab);
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: specials.map((t) => ({ id: vocab[t], content: t, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: cfg['tokenize_chinese_chars'] !== false, strip_accents: stripAccents, lowercase: lower },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: cls, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: sep, type_id: 0 } }],
      pair: [
        { SpecialToken: { id: cls, type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: sep, type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } },
        { SpecialToken: { id: sep, type_id: 1 } },
      ],
      special_tokens: {
        [cls]: { id: cls, ids: [vocab[cls]], tokens: [cls] },
        [sep]: { id: sep, ids: [vocab[sep]], tokens: [sep] },
      },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: unk, continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab },
  };
}

const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'vocab.txt', 'special_tokens_map.json'];

/**
 * Load the tokenizer of a Hugging Face folder: tokenizer.json when present, else vocab.txt +
 * tokenizer_config.json. `modelMaxPositions` caps the max length (a tokenizer may claim more).
 */
export function loadTokenizer(dir: string, modelMaxPositions: number): BertTokenizer {
  const tjPath = path.join(dir, 'tokenizer.json');
  const tcPath = path.join(dir, 'tokenizer_config.json');
  const vocabPath = path.join(dir, 'vocab.txt');
  assertFilesInside(TOKENIZER_FILES.map((f) => path.join(dir, f)), dir);
  const tokenizerConfig = fs.existsSync(tcPath) ? readJson(tcPath) : {};
  let tokenizerJson: Record<string, unknown>;
  let source: string;
  if (fs.existsSync(tjPath)) {
    tokenizerJson = readJson(tjPath);
    source = tjPath;
    validateWordPiece(tokenizerJson, tjPath);
    validateTokenizerJson(tokenizerJson, tjPath);
  } else if (fs.existsSync(vocabPath)) {
    const lines = decodeText(readBytes(vocabPath), vocabPath).split(/\r?\n/);
    if (lines[lines.length - 1] === '') lines.pop();
    if (lines.length === 0) throw new BertfuseError('E_BAD_TOKENIZER', 'vocabulary is empty', vocabPath);
    tokenizerJson = tokenizerJsonFromVocab(lines, tokenizerConfig);
    source = vocabPath;
  } else {
    throw new BertfuseError('E_MISSING_FILE', 'no tokenizer: expected tokenizer.json or vocab.txt', dir);
  }
  const claimed = tokenizerConfig['model_max_length'];
  // A token count: a whole number ≥ 3 ([CLS] x [SEP]); 128.5 would be carried into a combined
  // folder's manifest that bertfuse then refuses to open.
  if (claimed !== undefined && claimed !== null && (typeof claimed !== 'number' || !Number.isInteger(claimed) || claimed < 3)) {
    throw new BertfuseError('E_BAD_TOKENIZER', `model_max_length ${JSON.stringify(claimed)} must be a whole number of tokens, at least 3 ([CLS] x [SEP])`, tcPath);
  }
  // Tokenizers without a limit store a huge sentinel (1e30); the position table is the real limit.
  const maxLength = typeof claimed === 'number' && claimed > 0 && claimed < modelMaxPositions ? claimed : modelMaxPositions;
  const files: Record<string, string> = {};
  for (const f of TOKENIZER_FILES) if (fs.existsSync(path.join(dir, f))) files[f] = path.join(dir, f);
  const model = tokenizerJson['model'] as Record<string, unknown>;
  const fingerprint = JSON.stringify([tokenizerJson['normalizer'], tokenizerJson['pre_tokenizer'], model['vocab'], model['unk_token'], maxLength]);
  return new BertTokenizer({ tokenizerJson, tokenizerConfig, maxLength, files, fingerprint: sha1(fingerprint), source });
}

function sha1(s: string): string {
  return crypto.createHash('sha1').update(s).digest('hex');
}
