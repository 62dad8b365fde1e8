/*
 * The first word pieces of a long text without word-piecing all of it.
 *
 * A model sees at most max_length tokens, yet tokenizing a 100,000-character text costs time in
 * proportion to all of it. No character count is a safe cut on its own: one token can cover any
 * number of characters (a word over WordPiece's 100-character limit is one [UNK]) and one character
 * can give several tokens (a Hangul syllable decomposes into jamo). What is safe is a cut between a
 * letter or digit and an ASCII space, tab or line break: every supported pre-tokenizer (BERT's
 * whitespace/punctuation split, byte-level BPE's regex, Metaspace) ends a word there, and no
 * supported normalizer joins characters across it, so the pieces of the text before the cut are
 * exactly the first pieces of the whole text. We tokenize a growing prefix, cut at such a
 * boundary, until it yields enough pieces (or the text ends), so the work stays within about twice
 * the prefix that is needed. test/checkpoint/leading-pieces.test.ts checks the ids equal the
 * whole-text ids on every family's tokenizer.
 */

/** Characters tokenized first, per piece wanted (English averages 4-5 characters per word piece). */
const CHARS_PER_PIECE_GUESS = 8;
/** Below this many characters the whole text is tokenized at once. */
const SMALL_TEXT = 2048;

/** Index of the first safe cut at or after `from` (the index of the whitespace character), or -1. */
export function safeCut(text: string, from: number): number {
  const re = /[\p{L}\p{N}][ \t\n\r]/gu;
  re.lastIndex = Math.max(0, from - 2); // a letter outside the BMP is two code units
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const cut = m.index + m[0].length - 1;
    if (cut >= from) return cut;
  }
  return -1;
}

/**
 * At least the first `need` pieces of `text` as `pieces(text)` would give them (all of them when the
 * text has fewer). Returns more than `need` when the prefix it tokenized had more: callers truncate.
 */
export function leadingPieces(text: string, need: number, pieces: (text: string) => number[]): number[] {
  if (need <= 0) return [];
  let size = Math.max(SMALL_TEXT, need * CHARS_PER_PIECE_GUESS);
  while (size < text.length) {
    const cut = safeCut(text, size);
    if (cut < 0) break;
    const ids = pieces(text.slice(0, cut));
    if (ids.length >= need) return ids;
    size = cut * 2;
  }
  return pieces(text);
}
