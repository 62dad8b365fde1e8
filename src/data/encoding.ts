import { BertfuseError } from '../errors.js';

export type TextEncoding = 'utf8' | 'latin1' | 'utf16le';

/**
 * Decode a text file. UTF-8 is checked strictly (a latin-1 file would otherwise turn into
 * replacement characters silently); other encodings only when asked for. A UTF-8 BOM is dropped.
 */
export function decodeText(bytes: Uint8Array, file: string, encoding?: string, opts: { readonly encodingFlag?: boolean } = {}): string {
  const enc = normaliseEncoding(encoding, file);
  if (enc === 'utf8') {
    try {
      const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
      return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
    } catch {
      const at = firstInvalidUtf8(bytes);
      const line = countLines(bytes, at);
      throw new BertfuseError(
        'E_BAD_ENCODING',
        `not valid UTF-8 (first bad byte 0x${bytes[at]?.toString(16).padStart(2, '0')} at line ${line})${opts.encodingFlag === false ? '' : '; if the file is latin-1, pass --encoding latin1'}`,
        file,
      );
    }
  }
  return new TextDecoder(enc === 'latin1' ? 'latin1' : 'utf-16le').decode(bytes);
}

function normaliseEncoding(encoding: string | undefined, file: string): TextEncoding {
  if (encoding === undefined) return 'utf8';
  const e = encoding.toLowerCase().replace(/[-_]/g, '');
  if (e === 'utf8') return 'utf8';
  if (e === 'latin1' || e === 'iso88591' || e === 'cp1252' || e === 'windows1252') return 'latin1';
  if (e === 'utf16le' || e === 'utf16') return 'utf16le';
  throw new BertfuseError('E_USAGE', `unknown encoding "${encoding}" (known: utf8, latin1, utf16le)`, file);
}

function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i]!;
    const n = c < 0x80 ? 0 : c >= 0xc2 && c < 0xe0 ? 1 : c >= 0xe0 && c < 0xf0 ? 2 : c >= 0xf0 && c < 0xf5 ? 3 : -1;
    if (n < 0) return i;
    for (let k = 1; k <= n; k++) if (i + k >= b.length || (b[i + k]! & 0xc0) !== 0x80) return i;
    i += n + 1;
  }
  return 0;
}

function countLines(b: Uint8Array, upTo: number): number {
  let n = 1;
  for (let i = 0; i < upTo; i++) if (b[i] === 0x0a) n++;
  return n;
}
