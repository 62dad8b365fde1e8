import { BertfuseError } from '../errors.js';

/**
 * RoBERTa's slow tokenizer files — GPT-2 style byte-level BPE: `vocab.json` (piece → id) and
 * `merges.txt` (one merge `a b` per line, ranked by line, after a `#version` header) — turned into
 * the tokenizer.json that transformers' RobertaConverter (convert_slow_tokenizer.py) builds from
 * them. A repository that ships only these files then tokenizes as the fast tokenizer Python's
 * AutoTokenizer makes of it, with the same fingerprint as that tokenizer.json.
 */

export interface TextFile {
  readonly text: string;
  /** Path named in error messages. */
  readonly file: string;
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** RobertaTokenizer's defaults when tokenizer_config.json names no special token. */
const SPECIAL_DEFAULTS: readonly (readonly [string, string])[] = [
  ['bos_token', '<s>'],
  ['pad_token', '<pad>'],
  ['eos_token', '</s>'],
  ['unk_token', '<unk>'],
  ['sep_token', '</s>'],
  ['cls_token', '<s>'],
  ['mask_token', '<mask>'],
];

/** A special token named in tokenizer_config.json: a string or an AddedToken object's content. */
export function tokenName(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (isObject(v) && typeof v['content'] === 'string') return v['content'];
  return null;
}

function parseVocab(f: TextFile): Json {
  let v: unknown;
  try {
    v = JSON.parse(f.text);
  } catch (e) {
    throw new BertfuseError('E_BAD_TOKENIZER', `invalid JSON (${(e as Error).message})`, f.file);
  }
  if (!isObject(v)) throw new BertfuseError('E_BAD_TOKENIZER', 'not an object of piece → id', f.file);
  const entries = Object.entries(v);
  if (entries.length === 0) throw new BertfuseError('E_BAD_TOKENIZER', 'the vocabulary is empty', f.file);
  for (const [piece, id] of entries) {
    if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) throw new BertfuseError('E_BAD_TOKENIZER', `piece ${JSON.stringify(piece)} has id ${JSON.stringify(id)}, not a token id (integer >= 0)`, f.file);
  }
  return v;
}

/**
 * Merges in rank order. As Hugging Face: the `#version` header is skipped, each line is two pieces
 * split on whitespace, and both pieces and their concatenation must be in the vocabulary (the
 * tokenizers library refuses the file otherwise: MergeTokenOutOfVocabulary).
 */
function parseMerges(f: TextFile, vocab: Json): [string, string][] {
  const lines = f.text.split(/\r?\n/);
  const merges: [string, string][] = [];
  lines.forEach((line, i) => {
    if (line.trim() === '' || (i === 0 && line.startsWith('#version'))) return;
    const parts = line.trim().split(/\s+/);
    if (parts.length !== 2) throw new BertfuseError('E_BAD_TOKENIZER', `line ${i + 1} ${JSON.stringify(line.slice(0, 80))} is not two pieces separated by a space`, f.file);
    const [a, b] = parts as [string, string];
    const missing = [a, b, a + b].find((p) => !Object.hasOwn(vocab, p));
    if (missing !== undefined) throw new BertfuseError('E_BAD_TOKENIZER', `line ${i + 1} merges "${a}" + "${b}", but ${JSON.stringify(missing)} is not in vocab.json (wrong vocab.json for these merges?)`, f.file);
    merges.push([a, b]);
  });
  return merges;
}

/**
 * Added tokens as tokenizer_config.json's `added_tokens_decoder` lists them (transformers ≥ 4.34
 * writes it; the fast tokenizer carries exactly these), sorted by id; null when the config has none.
 */
export function addedTokensFromConfig(cfg: Json, configFile: string): Json[] | null {
  const decoder = cfg['added_tokens_decoder'];
  if (!isObject(decoder)) return null;
  return Object.entries(decoder)
    .map(([id, t]) => {
      const content = tokenName(t);
      if (!Number.isSafeInteger(Number(id)) || Number(id) < 0 || content === null) throw new BertfuseError('E_BAD_TOKENIZER', `added_tokens_decoder[${JSON.stringify(id)}] is not an id with a token`, configFile);
      const flag = (k: string, dflt: boolean): boolean => (isObject(t) && typeof t[k] === 'boolean' ? t[k] : dflt);
      return { id: Number(id), content, single_word: flag('single_word', false), lstrip: flag('lstrip', false), rstrip: flag('rstrip', false), normalized: flag('normalized', false), special: flag('special', true) };
    })
    .sort((x, y) => x.id - y.id);
}

/**
 * Added tokens as the fast tokenizer carries them: addedTokensFromConfig when the config lists
 * them, else the special tokens the config (or RobertaTokenizer's defaults) names that the
 * vocabulary holds; `<mask>` strips the space before it.
 */
function addedTokens(cfg: Json, vocab: Json, configFile: string): Json[] {
  const listed = addedTokensFromConfig(cfg, configFile);
  if (listed) return listed;
  const mask = tokenName(cfg['mask_token']) ?? '<mask>';
  const names = [...new Set(SPECIAL_DEFAULTS.map(([key, dflt]) => tokenName(cfg[key]) ?? dflt))].filter((t) => Object.hasOwn(vocab, t));
  return names
    .map((content) => ({ id: vocab[content] as number, content, single_word: false, lstrip: content === mask, rstrip: false, normalized: false, special: true }))
    .sort((x, y) => x.id - y.id);
}

/** The tokenizer.json for RoBERTa's vocab.json + merges.txt, read with tokenizer_config.json's settings. */
export function tokenizerJsonFromBpeFiles(vocabFile: TextFile, mergesFile: TextFile, cfg: Json, configFile: string): Json {
  const vocab = parseVocab(vocabFile);
  const merges = parseMerges(mergesFile, vocab);
  const addPrefixSpace = cfg['add_prefix_space'] === true;
  const trimOffsets = cfg['trim_offsets'] !== false;
  const special = (key: string, dflt: string): [string, number] => {
    const name = tokenName(cfg[key]) ?? dflt;
    const id = vocab[name];
    if (typeof id !== 'number') throw new BertfuseError('E_BAD_TOKENIZER', `vocab.json has no ${name} token (${key})`, vocabFile.file);
    return [name, id];
  };
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: addedTokens(cfg, vocab, configFile),
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: addPrefixSpace, trim_offsets: true, use_regex: true },
    post_processor: { type: 'RobertaProcessing', sep: special('sep_token', '</s>'), cls: special('cls_token', '<s>'), trim_offsets: trimOffsets, add_prefix_space: addPrefixSpace },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '', fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges },
  };
}
