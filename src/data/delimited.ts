import { BertfuseError } from '../errors.js';

/** One record of a delimited file, with the 1-based line it starts on. */
export interface DelimitedRow {
  readonly fields: string[];
  readonly line: number;
}

/**
 * CSV as RFC 4180 describes it: comma-separated fields; a field that starts with `"` is quoted
 * and may hold commas, line breaks and doubled `""` quotes; records end with CRLF or LF. Two
 * tolerances, both common in the wild: a `"` inside an unquoted field is kept literally, and
 * blank lines are skipped (a line holding only `""` is a record with one empty field).
 */
export function parseCsv(text: string, file: string): DelimitedRow[] {
  const rows: DelimitedRow[] = [];
  let fields: string[] = [];
  let field = '';
  let quoted = false; // the current field was quoted (so an empty one is still a field)
  let line = 1;
  let recordLine = 1;
  let i = 0;
  const endField = (): void => {
    fields.push(field);
    field = '';
  };
  const endRecord = (): void => {
    const blank = fields.length === 0 && field === '' && !quoted;
    endField();
    if (!blank) rows.push({ fields, line: recordLine });
    fields = [];
    quoted = false;
  };
  while (i < text.length) {
    const c = text[i]!;
    if (c === '"' && field === '' && !quoted) {
      const start = line;
      quoted = true;
      i++;
      for (;;) {
        if (i >= text.length) throw new BertfuseError('E_BAD_DATA', `line ${start}: quoted field is never closed`, file);
        const q = text[i]!;
        if (q === '"' && text[i + 1] === '"') {
          field += '"';
          i += 2;
        } else if (q === '"') {
          i++;
          break;
        } else {
          // A line break inside quotes still moves the line: LF, CRLF (counted once) or a lone CR, as outside.
          if (q === '\n' || (q === '\r' && text[i + 1] !== '\n')) line++;
          field += q;
          i++;
        }
      }
      const next = text[i];
      if (next !== undefined && next !== ',' && next !== '\n' && next !== '\r') {
        throw new BertfuseError('E_BAD_DATA', `line ${line}: unexpected ${JSON.stringify(next)} after a closing quote (a quote inside a quoted field must be doubled: "")`, file);
      }
    } else if (c === ',') {
      endField();
      quoted = false;
      i++;
    } else if (c === '\n' || c === '\r') {
      endRecord();
      i += c === '\r' && text[i + 1] === '\n' ? 2 : 1;
      line++;
      recordLine = line;
    } else {
      field += c;
      i++;
    }
  }
  if (field !== '' || quoted || fields.length > 0) endRecord();
  return rows;
}

/**
 * Tab-separated values as most datasets ship them (SST-2, SUBJ): one record per line, fields split
 * on tabs, no quoting (a `"` is just a character). CRLF is accepted; blank lines are skipped.
 */
export function parseTsv(text: string): DelimitedRow[] {
  const rows: DelimitedRow[] = [];
  text.split('\n').forEach((raw, i) => {
    const l = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (l.trim() !== '') rows.push({ fields: l.split('\t'), line: i + 1 });
  });
  return rows;
}
