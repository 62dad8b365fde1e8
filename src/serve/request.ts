import type { TextInput } from '../checkpoint/tokenizer.js';

/*
 * The body of POST /v1/predict, checked by hand so every failure names the field or the limit:
 *   { "texts": ["...", ...] }, with "text_pair": ["...", ...] for sentence pairs (one second text per
 *   text), or Hugging Face's { "inputs": ... }. `text_pair` is the pair's one spelling, as in Hugging
 *   Face's inputs, /v2's input tensor and `predict --input` JSONL; the old { "pairs": [[a, b], ...] }
 *   is still read (the server notes it once).
 */

export interface ServeLimits {
  /** Texts (or pairs) per request. */
  readonly maxTexts: number;
  /** Characters per text (each side of a pair counts on its own). */
  readonly maxChars: number;
  /** Bytes per request body. */
  readonly bodyLimit: number;
}

export type LimitName = keyof ServeLimits;

/** A request the server refuses: HTTP status, a stable code, a message, and which limit when one was exceeded. */
export class RequestError extends Error {
  constructor(
    readonly status: 400 | 404 | 408 | 413 | 415 | 422 | 431 | 499 | 500 | 503,
    readonly code: string,
    message: string,
    readonly limit?: { readonly name: LimitName; readonly max: number; readonly got?: number },
  ) {
    super(message);
  }
  toJSON(): { error: { code: string; message: string; limit?: string; max?: number; got?: number } } {
    return { error: { code: this.code, message: this.message, ...(this.limit ? { limit: this.limit.name, max: this.limit.max, ...(this.limit.got !== undefined ? { got: this.limit.got } : {}) } : {}) } };
  }
}

export function bad(message: string): RequestError {
  return new RequestError(400, 'bad_request', message);
}

/** Too many texts in one request: 413 naming the maxTexts limit. */
export function checkCount(n: number, what: string, limits: ServeLimits): void {
  if (n > limits.maxTexts) throw new RequestError(413, 'limit_exceeded', `${n} ${what} in one request; the limit is ${limits.maxTexts} (maxTexts)`, { name: 'maxTexts', max: limits.maxTexts, got: n });
}

/** A text: a string within maxChars (422 naming the limit otherwise). */
export function checkText(s: unknown, where: string, limits: ServeLimits): string {
  if (typeof s !== 'string') throw bad(`${where} must be a string`);
  if (s.length > limits.maxChars) {
    throw new RequestError(422, 'limit_exceeded', `${where} has ${s.length} characters; the limit is ${limits.maxChars} (maxChars)`, { name: 'maxChars', max: limits.maxChars, got: s.length });
  }
  return s;
}

/**
 * Hugging Face's Inference API shape, `{"inputs": "text" | ["a", ...] | {"text", "text_pair"} |
 * [{"text", "text_pair"}, ...], "parameters"?: {...}}`, as our `texts` / `text_pair`. Its parameters
 * (top_k, function_to_apply) only shape HF's answer; ours always lists every label's probability.
 */
function fromHuggingFace(b: Record<string, unknown>): Record<string, unknown> {
  const extra = Object.keys(b).filter((k) => k !== 'inputs' && k !== 'parameters');
  if (extra.length > 0) throw bad(`unknown field(s) ${extra.map((k) => JSON.stringify(k)).join(', ')} next to "inputs"`);
  const p = b['parameters'];
  if (p !== undefined && (typeof p !== 'object' || p === null || Array.isArray(p))) throw bad('"parameters" must be an object');
  const inputs = b['inputs'];
  const list = Array.isArray(inputs) ? inputs : [inputs];
  const isPair = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
  if (list.length > 0 && list.every(isPair)) {
    list.forEach((x, i) => {
      const keys = Object.keys(x).filter((k) => k !== 'text' && k !== 'text_pair');
      if (keys.length > 0 || x['text'] === undefined || x['text_pair'] === undefined) throw bad(`inputs[${i}] must be {"text": ..., "text_pair": ...}`);
    });
    return { texts: list.map((x) => x['text']), text_pair: list.map((x) => x['text_pair']) };
  }
  return { texts: list };
}

/** The old `{"pairs": [[a, b], ...]}` as `texts` + `text_pair`. */
function fromPairs(pairs: unknown): Record<string, unknown> {
  if (!Array.isArray(pairs)) throw bad('"pairs" must be an array');
  pairs.forEach((p, i) => {
    if (!Array.isArray(p) || p.length !== 2) throw bad(`pairs[${i}] must be an array of two strings`);
  });
  return { texts: pairs.map((p: unknown[]) => p[0]), text_pair: pairs.map((p: unknown[]) => p[1]) };
}

/** `onDeprecated` hears of each old spelling the body used (today: "pairs"). */
export function parsePredictBody(body: unknown, limits: ServeLimits, onDeprecated?: (old: string, now: string) => void): TextInput[] {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw bad('body must be a JSON object with "texts" (and "text_pair" for pairs)');
  const raw = body as Record<string, unknown>;
  const unknown = Object.keys(raw).filter((k) => k !== 'texts' && k !== 'text_pair' && k !== 'pairs' && k !== 'inputs' && k !== 'parameters');
  if (unknown.length > 0) throw bad(`unknown field(s) ${unknown.map((k) => JSON.stringify(k)).join(', ')}; expected "texts" (and "text_pair"), or "inputs"`);
  let b = raw;
  if (Object.hasOwn(raw, 'inputs')) b = fromHuggingFace(raw);
  else if (Object.hasOwn(raw, 'pairs')) {
    if (Object.keys(raw).length > 1) throw bad('give "texts" (and "text_pair") or the old "pairs", not both');
    onDeprecated?.('"pairs": [[a, b], ...]', '"texts": [a, ...], "text_pair": [b, ...]');
    b = fromPairs(raw['pairs']);
  } else if (Object.hasOwn(raw, 'parameters')) throw bad('"parameters" goes with Hugging Face\'s "inputs"');
  const texts = b['texts'];
  if (texts === undefined) throw bad(b['text_pair'] !== undefined ? '"text_pair" needs "texts" (one first text per second text)' : 'give "texts" (and "text_pair" for sentence pairs)');
  if (!Array.isArray(texts)) throw bad('"texts" must be an array');
  checkCount(texts.length, 'texts', limits);
  const second = b['text_pair'];
  if (second === undefined) return texts.map((t, i) => ({ text: checkText(t, `texts[${i}]`, limits) }));
  if (!Array.isArray(second)) throw bad('"text_pair" must be an array');
  if (second.length !== texts.length) throw bad(`"text_pair" has ${second.length} elements and "texts" ${texts.length}: one second text per text`);
  return texts.map((t, i) => ({ text: checkText(t, `texts[${i}]`, limits), textPair: checkText(second[i], `text_pair[${i}]`, limits) }));
}
