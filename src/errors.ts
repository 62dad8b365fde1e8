/**
 * Every failure a user can cause (bad file, bad flag, bad recipe) is a BertfuseError: one line that
 * names the file and the problem. The CLI prints `message` alone; anything else is a bug and keeps
 * its stack trace.
 */
export type ErrorCode =
  | 'E_MISSING_FILE'
  | 'E_BAD_CONFIG'
  | 'E_UNSUPPORTED_ARCH'
  | 'E_BAD_SAFETENSORS'
  | 'E_BAD_DTYPE'
  | 'E_SHAPE_MISMATCH'
  | 'E_MISSING_TENSOR'
  | 'E_BAD_TOKENIZER'
  | 'E_BAD_INPUT'
  | 'E_BAD_DATA'
  | 'E_BAD_ENCODING'
  | 'E_LABEL_MISMATCH'
  | 'E_BAD_RECIPE'
  | 'E_BAD_ONNX'
  | 'E_BAD_PICKLE'
  | 'E_UNSAFE_PICKLE'
  | 'E_INCOMPATIBLE'
  | 'E_NONFINITE'
  | 'E_HUB'
  | 'E_USAGE'
  | 'E_NOT_OURS'
  | 'E_WRITE'
  | 'E_TOO_LARGE'
  | 'E_UNSAFE_PATH';

export class BertfuseError extends Error {
  readonly code: ErrorCode;
  readonly file: string | undefined;

  constructor(code: ErrorCode, message: string, file?: string) {
    super(cutLine(oneLine(file ? `${file}: ${message}` : message)));
    this.name = 'BertfuseError';
    this.code = code;
    this.file = file;
  }
}

/**
 * Messages often quote user input (JSON.parse quotes the bad text, readers quote field values):
 * escape line breaks and other control characters so the message stays one printable line.
 */
function oneLine(s: string): string {
  return s.replace(/[\u0000-\u0008\u000a-\u001f\u007f\u2028\u2029]/g, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\r') return '\\r';
    return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
}

/** Longest message printed: a quoted 10 MB line (or path) must not become a 10 MB error. */
export const MAX_MESSAGE_CHARS = 1000;

/**
 * Cut to MAX_MESSAGE_CHARS, keeping the start (the file) and the end (what is wrong and what to do),
 * and saying how much was left out.
 */
export function cutLine(s: string, max = MAX_MESSAGE_CHARS): string {
  const chars = [...s];
  if (chars.length <= max) return s;
  const tail = Math.floor(max / 3);
  const head = max - tail - 40;
  return `${chars.slice(0, head).join('')} …[${chars.length - head - tail} characters cut]… ${chars.slice(chars.length - tail).join('')}`;
}

export function isBertfuseError(e: unknown): e is BertfuseError {
  return e instanceof BertfuseError;
}
