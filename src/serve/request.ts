import type { TextInput } from '../checkpoint/tokenizer.js';

/*
 * The body of POST /v1/predict, checked by hand so every failure names the field or the limit:
 *   { "texts": ["...", ...] }  or  { "pairs": [["a", "b"], ...] }
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

function bad(message: string): RequestError {
  return new RequestError(400, 'bad_request', message);
}

export function parsePredictBody(body: unknown, limits: ServeLimits): TextInput[] {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw bad('body must be a JSON object with "texts" or "pairs"');
  const b = body as Record<string, unknown>;
  const unknown = Object.keys(b).filter((k) => k !== 'texts' && k !== 'pairs');
  if (unknown.length > 0) throw bad(`unknown field(s) ${unknown.map((k) => JSON.stringify(k)).join(', ')}; expected "texts" or "pairs"`);
  if ((b['texts'] === undefined) === (b['pairs'] === undefined)) throw bad('give exactly one of "texts" or "pairs"');
  const field = b['texts'] !== undefined ? 'texts' : 'pairs';
  const list = b[field];
  if (!Array.isArray(list)) throw bad(`"${field}" must be an array`);
  if (list.length > limits.maxTexts) {
    throw new RequestError(413, 'limit_exceeded', `${list.length} ${field} in one request; the limit is ${limits.maxTexts} (maxTexts)`, { name: 'maxTexts', max: limits.maxTexts, got: list.length });
  }
  const checkText = (s: unknown, where: string): string => {
    if (typeof s !== 'string') throw bad(`${where} must be a string`);
    if (s.length > limits.maxChars) {
      throw new RequestError(422, 'limit_exceeded', `${where} has ${s.length} characters; the limit is ${limits.maxChars} (maxChars)`, { name: 'maxChars', max: limits.maxChars, got: s.length });
    }
    return s;
  };
  if (field === 'texts') return list.map((t, i) => ({ text: checkText(t, `texts[${i}]`) }));
  return list.map((p, i) => {
    if (!Array.isArray(p) || p.length !== 2) throw bad(`pairs[${i}] must be an array of two strings`);
    return { text: checkText(p[0], `pairs[${i}][0]`), textPair: checkText(p[1], `pairs[${i}][1]`) };
  });
}
