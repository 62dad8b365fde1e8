import type { TextInput } from '../checkpoint/tokenizer.js';

/*
 * The body of POST /v1/predict, checked by hand so every failure names the field or the limit:
 *   { "texts": ["...", ...] }  or  { "pairs": [["a", "b"], ...] }  (or Hugging Face's { "inputs": ... })
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
 * [{"text", "text_pair"}, ...], "parameters"?: {...}}`, as our `texts` / `pairs`. Its parameters
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
    return {
      pairs: list.map((x, i) => {
        const keys = Object.keys(x).filter((k) => k !== 'text' && k !== 'text_pair');
        if (keys.length > 0 || x['text'] === undefined || x['text_pair'] === undefined) throw bad(`inputs[${i}] must be {"text": ..., "text_pair": ...}`);
        return [x['text'], x['text_pair']];
      }),
    };
  }
  return { texts: list };
}

export function parsePredictBody(body: unknown, limits: ServeLimits): TextInput[] {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw bad('body must be a JSON object with "texts" or "pairs"');
  const b = Object.hasOwn(body, 'inputs') ? fromHuggingFace(body as Record<string, unknown>) : (body as Record<string, unknown>);
  const unknown = Object.keys(b).filter((k) => k !== 'texts' && k !== 'pairs');
  if (unknown.length > 0) throw bad(`unknown field(s) ${unknown.map((k) => JSON.stringify(k)).join(', ')}; expected "texts" or "pairs"`);
  if ((b['texts'] === undefined) === (b['pairs'] === undefined)) throw bad('give exactly one of "texts" or "pairs"');
  const field = b['texts'] !== undefined ? 'texts' : 'pairs';
  const list = b[field];
  if (!Array.isArray(list)) throw bad(`"${field}" must be an array`);
  checkCount(list.length, field, limits);
  if (field === 'texts') return list.map((t, i) => ({ text: checkText(t, `texts[${i}]`, limits) }));
  return list.map((p, i) => {
    if (!Array.isArray(p) || p.length !== 2) throw bad(`pairs[${i}] must be an array of two strings`);
    return { text: checkText(p[0], `pairs[${i}][0]`, limits), textPair: checkText(p[1], `pairs[${i}][1]`, limits) };
  });
}
