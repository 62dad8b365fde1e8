/**
 * Word substitutes from a masked language model: the contextual word replacement of TinyBERT's data
 * augmentation (Jiao et al. 2020, §3.1). Every word of a text that is letters only and one piece of
 * the masked LM's tokenizer is masked in turn; the model predicts that position, and its K most
 * likely whole words (the word itself left out) are the words that may replace it there.
 *
 * Why: `augment.ts` replaces a word by one drawn from the corpus by frequency, which yields text no
 * one writes ("a gorgeous , the seductive movie"); a word the masked LM expects in that context
 * keeps the variant near real text, where the scoring rows are, so each query of the teacher says
 * more about the function the student must learn there. TinyBERT replaces multi-piece words by
 * GloVe neighbours; there is no word-vector file here, so those words are kept as they are.
 *
 * One graph does the work: the masked LM's encoder, its head on the hidden state at the mask only
 * (each row holds exactly one; EmitOptions.mlmRows), and TopK of those logits — the vocabulary-wide
 * product runs once per row, not per token, and onnxruntime hands back a few ids per row. Rows of one length are batched
 * together (every masked copy of a text has the text's length), so nothing is padded.
 */
import path from 'node:path';
import ort from 'onnxruntime-node';
import { loadCheckpoint } from '../checkpoint/load.js';
import type { BertTokenizer } from '../checkpoint/tokenizer.js';
import { BertfuseError } from '../errors.js';
import { attr, encodeModel, GraphBuilder } from '../graph/onnx-builder.js';
import { emitEncoder, type BertWeights } from '../graph/bert-graph.js';
import { familyOf } from '../architectures/registry.js';
import { createSession, int64Tensor, type RuntimeOptions } from '../runtime/session.js';
import { wordsOf } from './augment.js';

/** Per whitespace-separated word of a text: the words that may replace it, or null (kept as it is). */
export type WordSubstitutes = readonly (readonly string[] | null)[];

export interface SubstituteOptions {
  /** Substitutes kept per word (TinyBERT's K). Default 15. */
  readonly topK?: number;
  readonly runtime?: RuntimeOptions;
  readonly onProgress?: (done: number, total: number) => void;
}

export const DEFAULT_TOP_K = 15;
/** Extra predictions asked of the graph: some are word pieces, punctuation or the word itself. */
const TOP_K_SLACK = 15;
/** Masked rows per run. */
const ROWS_PER_RUN = 128;
/** Texts whose masked copies are made and run together (bounds the memory the copies take). */
const TEXTS_PER_CHUNK = 256;

const LETTERS = /^\p{L}+$/u;

/** The mask token of a tokenizer: BERT's [MASK] or RoBERTa's <mask>, whichever is one token of its vocabulary. */
function maskOf(tok: BertTokenizer, source: string): { token: string; id: number } {
  for (const token of ['[MASK]', '<mask>']) {
    const ids = tok.pieces(token);
    if (ids.length === 1 && tok.tokens(ids)[0] === token) return { token, id: ids[0]! };
  }
  throw new BertfuseError('E_BAD_TOKENIZER', 'the masked language model\'s tokenizer has no mask token ([MASK] or <mask>)', source);
}

/** Byte-level BPE's and SentencePiece's marks of a piece that starts a word after a space. */
const SPACE_MARK = /^[\u0120\u2581]/;

/**
 * A predicted token as a whole word, or null. WordPiece: the token as it is (a continuation "##x"
 * is not letters). Space-marked vocabularies (RoBERTa's "Ġword"): after the first word only a
 * marked token starts a word — an unmarked one continues the word before it ("ity").
 */
function wordOfToken(token: string, spaceMarked: boolean, first: boolean): string | null {
  if (spaceMarked && !first && !SPACE_MARK.test(token)) return null;
  const w = token.replace(SPACE_MARK, '');
  return LETTERS.test(w) ? w : null;
}

/** Graph: the masked LM, then the logits at the mask token of each row and their `k` largest. */
function substituteGraph(w: BertWeights, maskId: number, k: number): Uint8Array {
  const g = new GraphBuilder('bertfuse_mlm_substitutes');
  const inputIds = g.input('input_ids', 'int64', ['batch', 'sequence']);
  const attentionMask = g.input('attention_mask', 'int64', ['batch', 'sequence']);
  const tokenTypeIds = familyOf(w.config).tokenizer.tokenTypes ? g.input('token_type_ids', 'int64', ['batch', 'sequence']) : null;
  // One mask per row: the head reads the hidden state there, the sum over positions of (is mask) · state.
  const isMask = g.op('Cast', [g.op('Equal', [inputIds, g.constInt64([maskId], [])])], { to: attr.int(1) });
  const atMask = (hidden: string): string => g.op('ReduceSum', [g.op('Mul', [hidden, g.op('Unsqueeze', [isMask, g.constInt64([2])])]), g.constInt64([1])], { keepdims: attr.int(0) });
  const out = emitEncoder(g, w, { inputIds, attentionMask, tokenTypeIds }, { mlmRows: atMask });
  const [, ids] = g.node('TopK', [out.logits!, g.constInt64([k])], { axis: attr.int(-1), largest: attr.int(1), sorted: attr.int(1) }, { outputs: ['top_values', 'top_ids'] });
  g.output(ids!, 'substitute_ids', 'int64', ['batch', k]);
  return encodeModel(g.toModel());
}

interface MaskedRow {
  readonly text: number;
  readonly word: number;
  readonly ids: readonly number[];
}

/**
 * Substitutes for every word of every text (texts repeated are computed once). A folder that is not
 * a masked LM (`…ForMaskedLM`) is refused with one line naming its config.json.
 */
export async function mlmSubstitutes(folder: string, texts: readonly string[], opts: SubstituteOptions = {}): Promise<WordSubstitutes[]> {
  const topK = opts.topK ?? DEFAULT_TOP_K;
  if (!Number.isInteger(topK) || topK < 1) throw new RangeError(`topK must be a whole number ≥ 1, got ${topK}`);
  const ckpt = loadCheckpoint(folder);
  let session: ort.InferenceSession | null = null;
  try {
    if (ckpt.config.task !== 'mlm') {
      throw new BertfuseError('E_UNSUPPORTED_ARCH', `${ckpt.config.architecture} is not a masked language model: word substitutes need a …ForMaskedLM folder (its MLM head predicts them)`, path.join(ckpt.dir, 'config.json'));
    }
    const tok = ckpt.tokenizer;
    const mask = maskOf(tok, path.join(ckpt.dir, 'tokenizer.json'));
    const spaceMarked = tok.tokens(tok.pieces('a b')).some((t) => SPACE_MARK.test(t));
    const k = Math.min(topK + TOP_K_SLACK, ckpt.config.vocabSize);
    session = await createSession(substituteGraph(ckpt, mask.id, k), opts.runtime ?? {}, folder);
    const withTypes = session.inputNames.includes('token_type_ids');

    const distinct = [...new Set(texts)];
    const found = new Map<string, WordSubstitutes>();
    for (let c = 0; c < distinct.length; c += TEXTS_PER_CHUNK) {
      const chunk = distinct.slice(c, c + TEXTS_PER_CHUNK);
      const words = chunk.map(wordsOf);
      const result: (string[] | null)[][] = words.map((ws) => ws.map(() => null));
      const rows: MaskedRow[] = [];
      chunk.forEach((text, t) => {
        const full = tok.encode({ text }).inputIds.length;
        // A text cut to the model's length: the lengths of cut sequences say nothing about a word's pieces.
        const pieces = full < tok.maxLength ? null : tok.pieces(text).length;
        words[t]!.forEach((word, i) => {
          if (!LETTERS.test(word)) return;
          const masked = words[t]!.map((x, j) => (j === i ? mask.token : x)).join(' ');
          const ids = tok.encode({ text: masked }).inputIds;
          // The mask made it into the model's length (once: a text may hold the mask token itself),
          // and the masked text is as long as the text: the word was one piece.
          if (ids.filter((id) => id === mask.id).length !== 1) return;
          if (pieces === null ? ids.length === full : tok.pieces(masked).length === pieces) rows.push({ text: t, word: i, ids });
        });
      });
      // Every masked copy of a text has its length: rows of one length run together, unpadded.
      rows.sort((a, b) => a.ids.length - b.ids.length);
      for (let r = 0; r < rows.length; ) {
        const len = rows[r]!.ids.length;
        let end = r;
        while (end < rows.length && end - r < ROWS_PER_RUN && rows[end]!.ids.length === len) end++;
        const batch = rows.slice(r, end);
        const ids = new BigInt64Array(batch.length * len);
        batch.forEach((row, b) => row.ids.forEach((id, j) => (ids[b * len + j] = BigInt(id))));
        const dims = [batch.length, len];
        const feeds: Record<string, ort.Tensor> = { input_ids: int64Tensor(ids, dims), attention_mask: int64Tensor(new BigInt64Array(ids.length).fill(1n), dims) };
        if (withTypes) feeds.token_type_ids = int64Tensor(new BigInt64Array(ids.length), dims);
        const res = (await session.run(feeds, ['substitute_ids'])).substitute_ids!;
        // [rows, k]: a family whose MLM head ignored EmitOptions.mlmRows would give [rows, length, k].
        if (res.dims.length !== 2) throw new Error(`${ckpt.config.architecture}: the MLM head did not read the masked rows (EmitOptions.mlmRows)`);
        const top = res.data as BigInt64Array;
        batch.forEach((row, b) => {
          const original = words[row.text]![row.word]!.toLowerCase();
          const picked: string[] = [];
          for (const token of tok.tokens(Array.from(top.subarray(b * k, (b + 1) * k), Number))) {
            const w = wordOfToken(token, spaceMarked, row.word === 0);
            if (w === null || w.toLowerCase() === original || picked.includes(w)) continue;
            picked.push(w);
            if (picked.length === topK) break;
          }
          result[row.text]![row.word] = picked.length > 0 ? picked : null;
        });
        r = end;
      }
      chunk.forEach((text, t) => found.set(text, result[t]!));
      opts.onProgress?.(Math.min(c + TEXTS_PER_CHUNK, distinct.length), distinct.length);
    }
    return texts.map((t) => found.get(t)!);
  } finally {
    await session?.release();
    ckpt.close();
  }
}
