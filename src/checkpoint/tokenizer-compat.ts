/**
 * tokenizers.js (@huggingface/tokenizers 0.2) runs a tokenizer.json with JavaScript's idea of
 * whitespace, where Hugging Face's Rust library uses Unicode White_Space (Rust `char::is_whitespace`,
 * Oniguruma's `\s`): U+0085 (NEL) is whitespace in HF and not in JS, U+FEFF (BOM) the other way
 * round. We rewrite the two components where that changes ids into equivalents that tokenizers.js
 * runs with HF's meaning (fixtures/family/README.md lists the cases; test/checkpoint/tokenizer-parity
 * checks each one):
 *
 * - ByteLevel pre-tokenizer with its built-in GPT-2 regex (JS `\s`) → a Split with the same regex
 *   written with `\p{White_Space}`, then ByteLevel without its regex.
 * - Strip normalizer (JS `trim()`) → Replace normalizers removing leading/trailing `\p{White_Space}`.
 *
 * Everything else is passed through unchanged. The input object is not modified.
 */

type Json = Record<string, unknown>;

/** GPT-2's pre-tokenizer regex with `\s`/`\S` as Unicode White_Space, as Oniguruma reads it. */
export const GPT2_PATTERN_UNICODE =
  "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\p{White_Space}\\p{L}\\p{N}]+|\\p{White_Space}+(?!\\P{White_Space})|\\p{White_Space}+";

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function rewritePreTokenizer(p: unknown): unknown {
  if (!isObject(p)) return p;
  if (p['type'] === 'Sequence' && Array.isArray(p['pretokenizers'])) return { ...p, pretokenizers: p['pretokenizers'].map(rewritePreTokenizer) };
  if (p['type'] === 'ByteLevel' && p['use_regex'] !== false) {
    return {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: GPT2_PATTERN_UNICODE }, behavior: 'Isolated', invert: false },
        { ...p, use_regex: false },
      ],
    };
  }
  return p;
}

function rewriteNormalizer(n: unknown): unknown {
  if (!isObject(n)) return n;
  if (n['type'] === 'Sequence' && Array.isArray(n['normalizers'])) return { ...n, normalizers: n['normalizers'].flatMap(stripAsReplace) };
  const r = stripAsReplace(n);
  return r.length === 1 ? r[0] : { type: 'Sequence', normalizers: r };
}

function stripAsReplace(n: unknown): unknown[] {
  if (!isObject(n) || n['type'] !== 'Strip') return [isObject(n) && n['type'] === 'Sequence' ? rewriteNormalizer(n) : n];
  const out: unknown[] = [];
  if (n['strip_left'] !== false) out.push({ type: 'Replace', pattern: { Regex: '^\\p{White_Space}+' }, content: '' });
  if (n['strip_right'] !== false) out.push({ type: 'Replace', pattern: { Regex: '\\p{White_Space}+$' }, content: '' });
  return out;
}

/** A copy of `tokenizerJson` that tokenizers.js tokenizes as Hugging Face does. */
export function hfCompatible(tokenizerJson: Readonly<Json>): Json {
  return { ...tokenizerJson, normalizer: rewriteNormalizer(tokenizerJson['normalizer']), pre_tokenizer: rewritePreTokenizer(tokenizerJson['pre_tokenizer']) };
}
