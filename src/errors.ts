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
  | 'E_USAGE';

export class BertfuseError extends Error {
  readonly code: ErrorCode;
  readonly file: string | undefined;

  constructor(code: ErrorCode, message: string, file?: string) {
    super(file ? `${file}: ${message}` : message);
    this.name = 'BertfuseError';
    this.code = code;
    this.file = file;
  }
}

export function isBertfuseError(e: unknown): e is BertfuseError {
  return e instanceof BertfuseError;
}
