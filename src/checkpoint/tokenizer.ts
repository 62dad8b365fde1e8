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
import type { TokenizerSpec } from '../architectures/types.js';
import { hfCompatible } from './tokenizer-compat.js';
import { tokenizerJsonFromBpeFiles } from './tokenizer-bpe-files.js';
import { SPM_FILE, tokenizerJsonFromSentencePiece, type SpmLayout } from './tokenizer-spm-files.js';

/** BERT's tokenizer needs, the default when a caller does not name a family. */
export const BERT_TOKENIZER: TokenizerSpec = { models: ['WordPiece'], template: 'bert', specials: { cls: '[CLS]', sep: '[SEP]', pad: '[PAD]' }, tokenTypes: true };

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
 * How many tokens of each text survive `longest_first` truncation to `budget`, as Hugging Face's
 * fast (Rust) tokenizers do it: a single text keeps its first `budget`; for a pair, when only the
 * longer must be cut it keeps budget − shorter; when both must be cut the shorter keeps ⌊budget/2⌋
 * and the longer ⌈budget/2⌉ (on equal lengths the first counts as the shorter).
 */
export function truncatedLengths(a: number, b: number, budget: number): [number, number] {
  if (a + b <= budget) return [a, b];
  const firstShorter = a <= b;
  const short = firstShorter ? a : b;
  const half = Math.floor(budget / 2);
  const keepShort = short > half ? half : short;
  const keepLong = budget - keepShort;
  return firstShorter ? [keepShort, keepLong] : [keepLong, keepShort];
}

/**
 * A family's tokenizer with Hugging Face's template and truncation. tokenizers.js does the
 * normalisation and pieces (on a tokenizer.json rewritten where its whitespace differs from HF's,
 * see tokenizer-compat.ts); the template and truncation are ours, because tokenizers.js has no
 * truncation, its RobertaProcessing gives the second segment type id 1 where HF gives 0, and
 * transformers.js cuts pairs wrongly (drops the last [SEP]). The name is from before families.
 */
export class BertTokenizer {
  readonly maxLength: number;
  readonly vocabSize: number;
  readonly clsId: number;
  readonly sepId: number;
  readonly padId: number;
  /** The family's tokenizer needs: template, whether type ids are a model input. */
  readonly spec: TokenizerSpec;
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
    spec?: TokenizerSpec;
  }) {
    this.spec = opts.spec ?? BERT_TOKENIZER;
    try {
      this.tok = new Tokenizer(hfCompatible(opts.tokenizerJson), opts.tokenizerConfig);
    } catch (e) {
      throw new BertfuseError('E_BAD_TOKENIZER', `cannot build tokenizer (${(e as Error).message})`, opts.source);
    }
    const vocab = this.tok.get_vocab(true);
    // A loop, not Math.max(...ids): spreading a vocabulary of ~150k ids or more overflows the stack.
    let maxId = -1;
    for (const id of vocab.values()) if (id > maxId) maxId = id;
    this.vocabSize = maxId + 1;
    const special = (name: string, fallback: string): number => {
      const configured = opts.tokenizerConfig[name];
      // tokenizer_config.json names a special token as a string or as an AddedToken object.
      const content = typeof configured === 'string' ? configured : isObject(configured) && typeof configured['content'] === 'string' ? configured['content'] : fallback;
      const id = this.tok.token_to_id(content);
      if (id === undefined) throw new BertfuseError('E_BAD_TOKENIZER', `vocabulary has no ${content} token (${name})`, opts.source);
      return id;
    };
    const sp = this.spec.specials;
    this.clsId = special('cls_token', sp.cls);
    this.sepId = special('sep_token', sp.sep);
    this.padId = special('pad_token', sp.pad);
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
   * The family's template, truncated to maxLength with `longest_first` (truncatedLengths):
   * bert `[CLS] a [SEP]` / `[CLS] a [SEP] b [SEP]` (type ids 0…0 1…1); roberta `<s> a </s>` /
   * `<s> a </s></s> b </s>` (type ids all 0, as HF). An empty-string pair is no pair, as in HF's
   * fast tokenizers.
   */
  encode(input: TextInput, maxLength = this.maxLength): Encoded {
    const hasPair = typeof input.textPair === 'string' && input.textPair !== '';
    const roberta = this.spec.template === 'roberta';
    const budget = maxLength - (hasPair ? (roberta ? 4 : 3) : 2);
    if (budget < 0) throw new BertfuseError('E_BAD_INPUT', `max length ${maxLength} leaves no room for the special tokens`);
    // Truncation keeps at most `budget` pieces of either side: word-piece only as much of each text
    // as can survive it (leadingPieces returns the exact pieces when a text has fewer than that).
    let a = leadingPieces(input.text, budget, (t) => this.pieces(t));
    let b = hasPair ? leadingPieces(input.textPair as string, budget, (t) => this.pieces(t)) : [];
    // Both texts cut with an odd budget: the shorter keeps ⌊budget/2⌋, so the true lengths decide.
    if (hasPair && a.length >= budget && b.length >= budget && budget % 2 === 1) {
      a = this.pieces(input.text);
      b = this.pieces(input.textPair as string);
    }
    const [la, lb] = truncatedLengths(a.length, b.length, budget);
    const inputIds = [this.clsId, ...a.slice(0, la), this.sepId];
    const tokenTypeIds = new Array<number>(inputIds.length).fill(0);
    if (hasPair) {
      if (roberta) inputIds.push(this.sepId);
      inputIds.push(...b.slice(0, lb), this.sepId);
      const second = roberta ? 0 : (this.spec.pairTypeId ?? 1);
      while (tokenTypeIds.length < inputIds.length) tokenTypeIds.push(second);
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

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * bertfuse applies the family's template itself, so only a tokenizer model the family ships (BERT:
 * WordPiece; RoBERTa: byte-level BPE; XLM-R: Unigram) with a well-formed vocabulary makes sense;
 * anything else would load and then tokenize into garbage.
 */
function validateModel(tokenizerJson: Record<string, unknown>, file: string, spec: TokenizerSpec, family: string): void {
  const model = tokenizerJson['model'];
  if (!isObject(model)) throw new BertfuseError('E_BAD_TOKENIZER', 'tokenizer.json has no model.vocab', file);
  const m = model;
  // WordPiece files written by old tools may omit the type; the others always carry it.
  const type = m['type'] ?? 'WordPiece';
  if (typeof type !== 'string' || !spec.models.includes(type)) {
    throw new BertfuseError('E_BAD_TOKENIZER', `tokenizer model type ${JSON.stringify(m['type'])} is not supported for a ${family} model (${family} uses ${spec.models.map((x) => `"${x}"`).join(' or ')})`, file);
  }
  if (type === 'Unigram') {
    const vocab = m['vocab'];
    if (!Array.isArray(vocab) || vocab.length === 0) throw new BertfuseError('E_BAD_TOKENIZER', 'tokenizer.json model.vocab must be a non-empty list of [piece, score]', file);
    vocab.forEach((e, i) => {
      if (!Array.isArray(e) || typeof e[0] !== 'string' || typeof e[1] !== 'number') throw new BertfuseError('E_BAD_TOKENIZER', `tokenizer.json model.vocab[${i}] is not [piece, score]`, file);
    });
    return;
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
  const text = decodeText(readBytes(file), file, undefined, { encodingFlag: false });
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

const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'vocab.txt', 'vocab.json', 'merges.txt', ...Object.values(SPM_FILE), 'special_tokens_map.json'];

/** The SentencePiece layout of a Unigram family: XLM-R (RoBERTa's template) or DeBERTa-v3. */
function spmLayout(spec: TokenizerSpec): SpmLayout | null {
  if (!spec.models.includes('Unigram')) return null;
  return spec.template === 'roberta' ? 'xlmr' : 'deberta-v3';
}

/** What a folder without tokenizer.json may carry instead, for this family (error messages). */
export function slowTokenizerNames(spec: TokenizerSpec): string[] {
  const layout = spmLayout(spec);
  return [...(spec.models.includes('WordPiece') ? ['vocab.txt'] : []), ...(spec.models.includes('BPE') && spec.template === 'roberta' ? ['vocab.json + merges.txt'] : []), ...(layout ? [SPM_FILE[layout]] : [])];
}

function readText(file: string): string {
  return decodeText(readBytes(file), file, undefined, { encodingFlag: false });
}

/**
 * The tokenizer.json a folder without one stands for, from its slow tokenizer's files: vocab.txt
 * (WordPiece: BERT, DistilBERT, ELECTRA), vocab.json + merges.txt (RoBERTa's byte-level BPE), or
 * the SentencePiece model (XLM-R: sentencepiece.bpe.model; DeBERTa-v3: spm.model). Null when the folder has neither kind this family uses; one of vocab.json and merges.txt without
 * the other is an error naming the folder.
 */
export function slowTokenizerJson(dir: string, cfg: Record<string, unknown>, spec: TokenizerSpec): { json: Record<string, unknown>; source: string } | null {
  const vocabPath = path.join(dir, 'vocab.txt');
  if (spec.models.includes('WordPiece') && fs.existsSync(vocabPath)) {
    const lines = readText(vocabPath).split(/\r?\n/);
    if (lines[lines.length - 1] === '') lines.pop();
    if (lines.length === 0) throw new BertfuseError('E_BAD_TOKENIZER', 'vocabulary is empty', vocabPath);
    return { json: tokenizerJsonFromVocab(lines, cfg), source: vocabPath };
  }
  if (spec.models.includes('BPE') && spec.template === 'roberta') {
    const [vocabJson, merges] = [path.join(dir, 'vocab.json'), path.join(dir, 'merges.txt')];
    const [hasVocab, hasMerges] = [fs.existsSync(vocabJson), fs.existsSync(merges)];
    if (hasVocab && hasMerges) {
      return { json: tokenizerJsonFromBpeFiles({ text: readText(vocabJson), file: vocabJson }, { text: readText(merges), file: merges }, cfg, path.join(dir, 'tokenizer_config.json')), source: vocabJson };
    }
    if (hasVocab || hasMerges) {
      const [has, lacks] = hasVocab ? ['vocab.json', 'merges.txt'] : ['merges.txt', 'vocab.json'];
      throw new BertfuseError('E_MISSING_FILE', `no tokenizer: ${has} without ${lacks} (byte-level BPE needs both, or a tokenizer.json)`, dir);
    }
  }
  const layout = spmLayout(spec);
  const spmPath = layout ? path.join(dir, SPM_FILE[layout]) : null;
  if (layout && spmPath && fs.existsSync(spmPath)) {
    return { json: tokenizerJsonFromSentencePiece(readBytes(spmPath), spmPath, layout, cfg, path.join(dir, 'tokenizer_config.json')), source: spmPath };
  }
  return null;
}

/**
 * Load the tokenizer of a Hugging Face folder: tokenizer.json when present, else the slow
 * tokenizer's files (slowTokenizerJson). `modelMaxPositions` caps the max length (a tokenizer may claim more).
 */
export function loadTokenizer(dir: string, modelMaxPositions: number, spec: TokenizerSpec = BERT_TOKENIZER, family = 'bert'): BertTokenizer {
  const tjPath = path.join(dir, 'tokenizer.json');
  const tcPath = path.join(dir, 'tokenizer_config.json');
  assertFilesInside(TOKENIZER_FILES.map((f) => path.join(dir, f)), dir);
  const tokenizerConfig = fs.existsSync(tcPath) ? readJson(tcPath) : {};
  let tokenizerJson: Record<string, unknown>;
  let source: string;
  if (fs.existsSync(tjPath)) {
    tokenizerJson = readJson(tjPath);
    source = tjPath;
    validateModel(tokenizerJson, tjPath, spec, family);
    validateTokenizerJson(tokenizerJson, tjPath);
  } else {
    const slow = slowTokenizerJson(dir, tokenizerConfig, spec);
    if (!slow) {
      const expected = ['tokenizer.json', ...slowTokenizerNames(spec)];
      throw new BertfuseError('E_MISSING_FILE', `no tokenizer: expected ${expected.join(' or ')}`, dir);
    }
    ({ json: tokenizerJson, source } = slow);
    // A model file's pieces are data of any size and content: the same bounds as a tokenizer.json.
    if (source.endsWith('.model')) validateTokenizerJson(tokenizerJson, source);
  }
  const claimed = tokenizerConfig['model_max_length'];
  // A token count: a whole number ≥ 3 ([CLS] x [SEP]); 128.5 would be carried into a combined
  // folder's manifest that bertfuse then refuses to open.
  if (claimed !== undefined && claimed !== null && (typeof claimed !== 'number' || !Number.isInteger(claimed) || claimed < 3)) {
    throw new BertfuseError('E_BAD_TOKENIZER', `model_max_length ${JSON.stringify(claimed)} is ${typeof claimed === 'number' && Number.isInteger(claimed) ? 'too small' : 'not a whole number'}: it must be a whole number of tokens, at least 3 ([CLS] x [SEP])`, tcPath);
  }
  // Tokenizers without a limit store a huge sentinel (1e30); the position table is the real limit.
  const maxLength = typeof claimed === 'number' && claimed > 0 && claimed < modelMaxPositions ? claimed : modelMaxPositions;
  const files: Record<string, string> = {};
  for (const f of TOKENIZER_FILES) if (fs.existsSync(path.join(dir, f))) files[f] = path.join(dir, f);
  const model = tokenizerJson['model'] as Record<string, unknown>;
  // WordPiece keeps the digest it had before families (manifests record it); other models add
  // everything that decides ids (merges, scores) and the template.
  const parts: unknown[] = [tokenizerJson['normalizer'], tokenizerJson['pre_tokenizer'], model['vocab'], model['unk_token'], maxLength];
  if (model['type'] !== undefined && model['type'] !== 'WordPiece') parts.push(model, tokenizerJson['added_tokens'], spec.template, ...(spec.pairTypeId === undefined ? [] : [spec.pairTypeId]));
  const fingerprint = JSON.stringify(parts);
  return new BertTokenizer({ tokenizerJson, tokenizerConfig, maxLength, files, fingerprint: sha1(fingerprint), source, spec });
}

function sha1(s: string): string {
  return crypto.createHash('sha1').update(s).digest('hex');
}
