import type { TextInput } from '../checkpoint/tokenizer.js';
import { decodeText } from '../data/encoding.js';
import { readTextInputs } from '../data/texts.js';
import { BertfuseError } from '../errors.js';
import { MAX_INPUT_BYTES, readFileBounded } from '../util/read-bounded.js';

/**
 * Unlabelled texts for RegMean statistics and activation alignment: plain text (one per line),
 * JSONL with "text", or a TSV whose header names a text column (labels, if any, are ignored).
 * Files are concatenated in order and cut to `max` texts.
 */
export function readUnlabelledTexts(files: readonly string[], max: number, encoding?: string): TextInput[] {
  const out: TextInput[] = [];
  for (const file of files) {
    if (out.length >= max) break;
    // A loop, not push(...texts): spreading a corpus of 100k+ lines overflows the stack.
    for (const t of file.endsWith('.tsv') ? readTsvTexts(file, encoding) : readTextInputs(file, encoding)) {
      if (out.length >= max) break;
      out.push(t);
    }
  }
  if (out.length === 0) throw new BertfuseError('E_BAD_DATA', 'no texts found', files.join(', '));
  return out.slice(0, max);
}

const TEXT_COLUMNS = ['text', 'sentence', 'content', 'review'];

function readTsvTexts(file: string, encoding: string | undefined): TextInput[] {
  const bytes = readFileBounded(file, MAX_INPUT_BYTES, 'cannot read texts file');
  const lines = decodeText(bytes, file, encoding).split(/\r?\n/).filter((l) => l.trim() !== '');
  const header = (lines[0] ?? '').split('\t').map((h) => h.trim().toLowerCase());
  const col = header.findIndex((h) => TEXT_COLUMNS.includes(h));
  if (col < 0) throw new BertfuseError('E_BAD_DATA', `TSV header [${header.join(', ')}] has no text column (one of ${TEXT_COLUMNS.join(', ')})`, file);
  return lines.slice(1).map((l) => ({ text: l.split('\t')[col] ?? '' }));
}
