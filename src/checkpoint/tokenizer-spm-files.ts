import { BertfuseError } from '../errors.js';
import { MODEL_TYPE, PIECE_TYPE, readSentencePieceModel, type SentencePieceModel } from './sentencepiece-model.js';
import { addedTokensFromConfig, tokenName } from './tokenizer-bpe-files.js';

/*
 * The SentencePiece model a repository ships instead of tokenizer.json, turned into the tokenizer.json
 * transformers' converters (convert_slow_tokenizer.py: XLMRobertaConverter, DebertaV2Converter) build
 * from it, so such a folder tokenizes as the fast tokenizer Python's AutoTokenizer makes of it:
 *
 * - `xlmr` (sentencepiece.bpe.model): fairseq's ids. spm's <unk>=0 <s>=1 </s>=2 become <s>=0
 *   <pad>=1 </s>=2 <unk>=3, every other piece moves up by one, <mask> comes last.
 * - `deberta-v3` (spm.model): the pieces keep spm's ids ([PAD] [CLS] [SEP] [UNK] are pieces of the
 *   model); [MASK] is not one, and is added after the last piece.
 *
 * Both are Unigram over Metaspace (▁) words; the normalizer is the model's precompiled charsmap
 * (Precompiled, base64) when it has one, then the family's whitespace steps.
 */

export type SpmLayout = 'xlmr' | 'deberta-v3';

type Json = Record<string, unknown>;

/** The file each layout reads, as transformers names it (vocab_files_names). */
export const SPM_FILE: Readonly<Record<SpmLayout, string>> = { xlmr: 'sentencepiece.bpe.model', 'deberta-v3': 'spm.model' };

const XLMR_SPECIALS = ['<s>', '<pad>', '</s>', '<unk>'] as const;

const added = (id: number, content: string, lstrip = false, special = true): Json => ({ id, content, single_word: false, lstrip, rstrip: false, normalized: false, special });

function template(cls: [string, number], sep: [string, number], roberta: boolean): Json {
  const tok = (id: string, typeId: number): Json => ({ SpecialToken: { id, type_id: typeId } });
  const seq = (id: string, typeId: number): Json => ({ Sequence: { id, type_id: typeId } });
  const second = roberta ? 0 : 1;
  return {
    type: 'TemplateProcessing',
    single: [tok(cls[0], 0), seq('A', 0), tok(sep[0], 0)],
    pair: [tok(cls[0], 0), seq('A', 0), tok(sep[0], 0), ...(roberta ? [tok(sep[0], 0)] : []), seq('B', second), tok(sep[0], second)],
    special_tokens: Object.fromEntries([cls, sep].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([name, id]) => [name, { id: name, ids: [id], tokens: [name] }])),
  };
}

function precompiled(m: SentencePieceModel): Json[] {
  const map = m.normalizer.precompiledCharsmap;
  return map.length > 0 ? [{ type: 'Precompiled', precompiled_charsmap: Buffer.from(map.buffer, map.byteOffset, map.byteLength).toString('base64') }] : [];
}

/** XLMRobertaConverter: fairseq's ids over the spm pieces. */
function xlmr(m: SentencePieceModel, file: string, cfg: Json, configFile: string, metaspace: Json): Json {
  const t = m.trainer;
  if (t.unkId !== 0 || t.bosId !== 1 || t.eosId !== 2 || m.pieces.length < 4) {
    throw new BertfuseError('E_BAD_TOKENIZER', `not XLM-R's layout: XLM-R's model has <unk>=0 <s>=1 </s>=2 and then the pieces (this one: unk_id ${t.unkId}, bos_id ${t.bosId}, eos_id ${t.eosId}, ${m.pieces.length} pieces)`, file);
  }
  const vocab: [string, number][] = [...XLMR_SPECIALS.map((s): [string, number] => [s, 0]), ...m.pieces.slice(3).map((p): [string, number] => [p.piece, p.score]), ['<mask>', 0]];
  const maskId = vocab.length - 1;
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: addedTokensFromConfig(cfg, configFile) ?? [...XLMR_SPECIALS.map((s, i) => added(i, s)), added(maskId, '<mask>', true)],
    normalizer: { type: 'Sequence', normalizers: [...precompiled(m), { type: 'Strip', strip_left: false, strip_right: true }, { type: 'Replace', pattern: { Regex: ' {2,}' }, content: '▁' }] },
    pre_tokenizer: metaspace,
    post_processor: template(['<s>', 0], ['</s>', 2], true),
    decoder: metaspace,
    model: { type: 'Unigram', unk_id: 3, vocab, byte_fallback: false },
  };
}

/** DebertaV2Converter: spm's own ids, with tokenizer_config.json's do_lower_case and split_by_punct. */
function debertaV3(m: SentencePieceModel, file: string, cfg: Json, configFile: string, metaspace: Json): Json {
  const vocab: [string, number][] = m.pieces.map((p) => [p.piece, p.score]);
  const ids = new Map(m.pieces.map((p, i) => [p.piece, i]));
  const unkId = m.trainer.unkId;
  if (!Number.isSafeInteger(unkId) || unkId < 0 || unkId >= m.pieces.length) throw new BertfuseError('E_BAD_TOKENIZER', `unk_id ${unkId} is not a piece (the model has ${m.pieces.length})`, file);
  const special = (key: string, dflt: string): [string, number] => {
    const name = tokenName(cfg[key]) ?? dflt;
    const id = ids.get(name);
    if (id === undefined) throw new BertfuseError('E_BAD_TOKENIZER', `the model has no ${name} piece (${key})`, file);
    return [name, id];
  };
  const cls = special('cls_token', '[CLS]');
  const sep = special('sep_token', '[SEP]');
  // Without added_tokens_decoder: control and user-defined pieces, the unknown piece, then [MASK]
  // after the last piece (DebertaV2Tokenizer adds it; spm.model does not hold it).
  const mask = tokenName(cfg['mask_token']) ?? '[MASK]';
  const fallback = (): Json[] => {
    const out = m.pieces.flatMap((p, i) => (p.type === PIECE_TYPE.control || p.type === PIECE_TYPE.userDefined || i === unkId ? [added(i, p.piece, false, p.type !== PIECE_TYPE.userDefined)] : []));
    if (!ids.has(mask)) out.push(added(m.pieces.length, mask));
    return out;
  };
  const lower = cfg['do_lower_case'] === true;
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: addedTokensFromConfig(cfg, configFile) ?? fallback(),
    normalizer: {
      type: 'Sequence',
      normalizers: [...(lower ? [{ type: 'Lowercase' }] : []), { type: 'Strip', strip_left: true, strip_right: true }, ...precompiled(m), { type: 'Replace', pattern: { Regex: ' {2,}' }, content: ' ' }],
    },
    pre_tokenizer: { type: 'Sequence', pretokenizers: [...(cfg['split_by_punct'] === true ? [{ type: 'Punctuation', behavior: 'Isolated' }] : []), metaspace] },
    post_processor: template(cls, sep, false),
    decoder: metaspace,
    model: { type: 'Unigram', unk_id: unkId, vocab, byte_fallback: false },
  };
}

/**
 * The tokenizer.json for a SentencePiece model file (`bytes`, read from `file`) in the family's
 * `layout`, with tokenizer_config.json's settings (`cfg`, read from `configFile`).
 */
export function tokenizerJsonFromSentencePiece(bytes: Uint8Array, file: string, layout: SpmLayout, cfg: Json, configFile: string): Json {
  const m = readSentencePieceModel(bytes, file);
  if (m.trainer.modelType !== MODEL_TYPE.unigram) {
    const kind = Object.entries(MODEL_TYPE).find(([, v]) => v === m.trainer.modelType)?.[0] ?? `type ${m.trainer.modelType}`;
    throw new BertfuseError('E_BAD_TOKENIZER', `a SentencePiece ${kind} model; ${layout === 'xlmr' ? 'XLM-R' : 'DeBERTa-v3'} uses Unigram`, file);
  }
  // add_prefix_space false (a tokenizer_config.json setting) drops the ▁ before the first word.
  const metaspace = { type: 'Metaspace', replacement: '▁', prepend_scheme: cfg['add_prefix_space'] === false ? 'never' : 'always', split: true };
  return layout === 'xlmr' ? xlmr(m, file, cfg, configFile, metaspace) : debertaV3(m, file, cfg, configFile, metaspace);
}
