import fs from 'node:fs';
import type { TextInput } from '../checkpoint/tokenizer.js';
import { BertfuseError } from '../errors.js';
import { decodeText } from './encoding.js';
import { MAX_INPUT_BYTES, readFileBounded } from '../util/read-bounded.js';

/**
 * Unlabelled inputs for `predict`: JSONL records with `text` (and optional `text_pair`), or plain
 * text with one input per line; `-` reads standard input. The format is decided by the extension, else by the first line.
 */
export function readTextInputs(file: string, encoding?: string): TextInput[] {
  // `-` is standard input (`… | bertfuse predict model --input -`), bounded like a file.
  const bytes = file === '-' ? readStdin() : readFileBounded(file, MAX_INPUT_BYTES, 'cannot read input file');
  if (file === '-') file = 'stdin';
  const text = decodeText(bytes, file, encoding);
  const lines = text.split(/\r?\n/);
  const nonEmpty = lines.map((l, i) => [l, i + 1] as const).filter(([l]) => l.trim() !== '');
  // An empty input is almost always a wrong path or a failed upstream step: say so rather than print nothing.
  if (nonEmpty.length === 0) throw new BertfuseError('E_BAD_DATA', `no inputs: the file is ${bytes.length === 0 ? 'empty' : 'blank'}`, file);
  const jsonl = file.endsWith('.jsonl') || file.endsWith('.ndjson') || (nonEmpty[0]?.[0].trimStart().startsWith('{') ?? false);
  if (!jsonl) return nonEmpty.map(([l]) => ({ text: l }));
  return nonEmpty.map(([l, n]) => {
    let rec: unknown;
    try {
      rec = JSON.parse(l);
    } catch (e) {
      throw new BertfuseError('E_BAD_DATA', `line ${n}: invalid JSON (${(e as Error).message})`, file);
    }
    if (typeof rec !== 'object' || rec === null) throw new BertfuseError('E_BAD_DATA', `line ${n}: expected a JSON object`, file);
    const r = rec as Record<string, unknown>;
    const t = r['text'] ?? r['sentence'] ?? r['content'];
    if (typeof t !== 'string') throw new BertfuseError('E_BAD_DATA', `line ${n}: no string field "text"`, file);
    const p = r['text_pair'];
    if (p !== undefined && p !== null && typeof p !== 'string') throw new BertfuseError('E_BAD_DATA', `line ${n}: "text_pair" must be a string`, file);
    return { text: t, textPair: (p as string | null | undefined) ?? null };
  });
}

/** Standard input (a pipe, socket or file), refused beyond the same limit as an input file. */
function readStdin(): Buffer {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(0);
  } catch (e) {
    throw new BertfuseError('E_MISSING_FILE', `cannot read input (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, 'stdin');
  }
  if (bytes.length > MAX_INPUT_BYTES) throw new BertfuseError('E_TOO_LARGE', `is over ${MAX_INPUT_BYTES} bytes; bertfuse reads at most that from one input (split it)`, 'stdin');
  return bytes;
}
