/**
 * Transfer-set augmentation for distillation (Tang et al. 2019, "Distilling Task-Specific Knowledge
 * from BERT into Simple Neural Networks", §3.3): each text yields variants in which every word is
 * dropped with probability 0.1 or replaced by a word drawn from the corpus with probability 0.1,
 * and with probability 0.25 only a random n-gram (1 to 5 words) of the result is kept. The teacher
 * labels the variants like any transfer text, so the student sees the teacher's function on many
 * more inputs near the data than the texts alone give it.
 *
 * Why this exists: a distilled student matches its teacher on the transfer texts far more closely
 * than on new rows (measured on the BERT pair: KL(teacher ‖ student) 0.010 on the transfer texts,
 * 0.026 on held-out rows), so the gap is generalisation, which more queries of the teacher close.
 * Tang et al.'s masking uses [MASK]; a student here may have a different tokenizer than the
 * teacher (or none with that token), so words are dropped instead. Their part-of-speech-guided
 * swap needs a tagger; a replacement word is drawn from the corpus's own words by frequency —
 * or, given a masked LM's substitutes (`mlm-substitutes.ts`), TinyBERT's replacement: a word the
 * masked LM expects in that place.
 *
 * Variants that equal a text (or an earlier variant) are dropped, and so is every variant that is,
 * contains or is inside an `avoid` text (say the rows a student will be scored on), compared on a
 * normalised form (lower case, letters and digits only), so "does n't" equals "doesn't". Same
 * texts, options and seed give the same variants in the same order.
 */
import type { TextInput } from '../checkpoint/tokenizer.js';
import { Rng } from '../util/rng.js';
import type { WordSubstitutes } from './mlm-substitutes.js';

export interface AugmentOptions {
  /** Variants drawn per text (0: none). */
  readonly variants: number;
  readonly seed: number;
  /** Texts no variant may be, contain or be inside (e.g. the scoring rows). */
  readonly avoid?: readonly string[];
  /**
   * Words a masked LM expects in each word's place, by text (`mlm-substitutes.ts`). When given, a
   * variant replaces each word that has substitutes with probability 0.4 by one of them, drawn
   * uniformly (TinyBERT's p_t and uniform draw from the top K), drops no word, and keeps Tang et
   * al.'s n-gram step; a text missing from the map is varied by n-grams only.
   */
  readonly substitutes?: ReadonlyMap<string, WordSubstitutes>;
}

export interface Augmented {
  /** The variants kept, in the order they were drawn (the texts themselves are not repeated). */
  readonly variants: TextInput[];
  readonly drawn: number;
  /** Equal (normalised) to a text, to an earlier variant, or empty. */
  readonly duplicates: number;
  /** Is, contains or is inside an `avoid` text. */
  readonly avoided: number;
}

/** Probability that a word is dropped; that it is replaced (Tang et al.'s p_mask and p_pos). */
const DROP = 0.1;
const REPLACE = 0.1;
/** Probability that only an n-gram of the variant is kept, and the longest such n-gram (p_ng, n). */
const NGRAM = 0.25;
const NGRAM_MAX = 5;
/** Probability that a word with masked-LM substitutes is replaced by one (TinyBERT's p_t). */
const SUBSTITUTE = 0.4;

/** The form texts are compared on: lower case, PTB brackets undone, letters and digits only. */
export function matchForm(text: string): string {
  const s = text.toLowerCase().replaceAll('-lrb-', '(').replaceAll('-rrb-', ')');
  return (s.match(/[\p{L}\p{N}]+/gu) ?? []).join('');
}

/** The texts of an input: the text, and the second text of a pair. */
export function sidesOf(t: TextInput): string[] {
  return t.textPair ? [t.text, t.textPair] : [t.text];
}

/** A text's words as variants and substitutes count them: split on whitespace. */
export function wordsOf(text: string): string[] {
  return text.split(/\s+/).filter(Boolean);
}

/** Where a variant's replacement words come from: the corpus by frequency, or a masked LM's substitutes. */
type Replacer = { readonly corpus: readonly string[] } | { readonly substitutes: ReadonlyMap<string, WordSubstitutes> };

/** One variant of a text: words dropped or replaced (or substituted), then perhaps an n-gram of what is left. */
function variantOf(text: string, rng: Rng, from: Replacer, ngrams: boolean): string {
  const out: string[] = [];
  if ('corpus' in from) {
    for (const w of wordsOf(text)) {
      const u = rng.next();
      if (u < DROP) continue;
      out.push(u < DROP + REPLACE ? from.corpus[rng.int(from.corpus.length)]! : w);
    }
  } else {
    const subs = from.substitutes.get(text);
    for (const [i, w] of wordsOf(text).entries()) {
      const candidates = subs?.[i];
      out.push(candidates && rng.next() < SUBSTITUTE ? candidates[rng.int(candidates.length)]! : w);
    }
  }
  if (ngrams && out.length > 1 && rng.next() < NGRAM) {
    const n = 1 + rng.int(Math.min(NGRAM_MAX, out.length));
    const start = rng.int(out.length - n + 1);
    return out.slice(start, start + n).join(' ');
  }
  return out.join(' ');
}

/**
 * Which of many normalised strings contain a needle, or sit inside one: the strings joined by a
 * separator that no normalised form holds, searched with indexOf (native, fast on megabytes).
 */
class Haystack {
  private readonly joined: string;
  private readonly starts: number[] = [];

  constructor(items: readonly string[]) {
    let at = 0;
    for (const s of items) {
      this.starts.push(at);
      at += s.length + 1;
    }
    this.joined = items.join('\n');
  }

  /** Whether the needle is inside one of the strings. */
  holds(needle: string): boolean {
    return needle !== '' && this.joined.includes(needle);
  }

  /** Indices of the strings that contain the needle. */
  containing(needle: string, into: Set<number>): void {
    if (needle === '') return;
    for (let i = this.joined.indexOf(needle); i >= 0; i = this.joined.indexOf(needle, i + 1)) {
      let lo = 0;
      let hi = this.starts.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (this.starts[mid]! <= i) lo = mid;
        else hi = mid - 1;
      }
      into.add(lo);
    }
  }
}

/**
 * Draws `variants` variants of every text (a pair's two sides each get their own; n-grams are cut
 * from single texts only, since half a premise no longer matches its hypothesis).
 */
export function augmentTexts(texts: readonly TextInput[], opts: AugmentOptions): Augmented {
  if (!Number.isInteger(opts.variants) || opts.variants < 0) throw new RangeError(`variants must be a whole number ≥ 0, got ${opts.variants}`);
  const rng = new Rng(opts.seed);
  const from: Replacer = opts.substitutes ? { substitutes: opts.substitutes } : { corpus: texts.flatMap((t) => sidesOf(t).flatMap(wordsOf)) };
  // Each side's normalised form, computed once: the duplicate key and the avoid search both read it.
  const formsOf = (t: TextInput): string[] => sidesOf(t).map(matchForm);
  const seen = new Set(texts.map((t) => formsOf(t).join('\u0000')));
  const drawn: { x: TextInput; forms: string[] }[] = [];
  let duplicates = 0;
  if (!('corpus' in from) || from.corpus.length > 0) {
    for (const t of texts) {
      for (let v = 0; v < opts.variants; v++) {
        const text = variantOf(t.text, rng, from, !t.textPair);
        const x: TextInput = t.textPair ? { text, textPair: variantOf(t.textPair, rng, from, false) } : { text };
        const forms = formsOf(x);
        const k = forms.join('\u0000');
        if (forms[0] === '' || seen.has(k)) duplicates++;
        else {
          seen.add(k);
          drawn.push({ x, forms });
        }
      }
    }
  }
  const avoid = (opts.avoid ?? []).map(matchForm).filter((s) => s !== '');
  if (avoid.length === 0) return { variants: drawn.map((d) => d.x), drawn: drawn.length + duplicates, duplicates, avoided: 0 };
  // A variant is avoided when one of its sides is, contains or is inside an avoided text.
  const sides = drawn.flatMap((d, i) => d.forms.map((form) => ({ i, form })));
  const bad = new Set<number>();
  const contained = new Set<number>();
  const sideHay = new Haystack(sides.map((s) => s.form));
  for (const a of avoid) sideHay.containing(a, contained);
  for (const s of contained) bad.add(sides[s]!.i);
  const avoidHay = new Haystack(avoid);
  for (const s of sides) if (!bad.has(s.i) && avoidHay.holds(s.form)) bad.add(s.i);
  return { variants: drawn.filter((_, i) => !bad.has(i)).map((d) => d.x), drawn: drawn.length + duplicates, duplicates, avoided: bad.size };
}
