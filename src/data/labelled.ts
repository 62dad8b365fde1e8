import path from 'node:path';
import type { TextInput } from '../checkpoint/tokenizer.js';
import { BertfuseError } from '../errors.js';
import { parseCsv, parseTsv, type DelimitedRow } from './delimited.js';
import { decodeText } from './encoding.js';
import { MAX_INPUT_BYTES, readFileBounded } from '../util/read-bounded.js';

export type LabelledFormat = 'tsv' | 'csv' | 'jsonl' | 'lines';

export interface ReadLabelledOptions {
  /** Default: from the extension (.tsv .csv .jsonl .ndjson .json), else sniffed from the first line. */
  readonly format?: LabelledFormat;
  /** Column (or JSON field) holding the text; default the first of `text`, `sentence`, `content`, `sentence1`. */
  readonly textColumn?: string;
  /** Column holding the second text of a pair; default `text_pair` or `sentence2` when present. */
  readonly textPairColumn?: string;
  /** Column holding the label (a name, or an integer id into `labels`); default `label`. */
  readonly labelColumn?: string;
  /**
   * The label list the result indexes into. A value matches a name in it, else (if it is an
   * integer) that position. Without it, the distinct names found become the list.
   */
  readonly labels?: readonly string[];
  /** Renames applied to every label value before matching (`{ NEG: 'negative' }`, `{ '0': 'negative' }`). */
  readonly labelMap?: Readonly<Record<string, string>>;
  /** Text encoding (utf8 by default, checked strictly; `latin1`, `utf16le` on request). */
  readonly encoding?: string;
  /** Whether the first TSV/CSV row is a header; default: detected (it names a known column). */
  readonly header?: boolean;
  /** Column names for a file without a header row. */
  readonly columns?: readonly string[];
  /** One label for every row: for plain-text files holding one class each (`rt-polarity.neg`). */
  readonly label?: string;
}

export interface LabelledData {
  readonly source: string;
  readonly format: LabelledFormat;
  readonly inputs: readonly TextInput[];
  /**
   * The label list: `options.labels` when given, else the distinct (mapped) names as found in the
   * file, sorted (integers numerically, names by code point).
   */
  readonly labelNames: readonly string[];
  /** Per row, an index into `labelNames`. */
  readonly labels: Int32Array;
  /** Per row, the 1-based line of the file it came from. */
  readonly lines: Int32Array;
}

const TEXT_COLUMNS = ['text', 'sentence', 'content', 'sentence1'];
const PAIR_COLUMNS = ['text_pair', 'sentence2'];

/** Reads labelled text (TSV, CSV, JSONL, or plain lines with one fixed label). */
export function readLabelled(file: string, opts: ReadLabelledOptions = {}): LabelledData {
  const bytes = readFileBounded(file, MAX_INPUT_BYTES, 'cannot read data file');
  return parseLabelled(decodeText(bytes, file, opts.encoding), file, opts);
}

/** `readLabelled` on text already in memory; `file` only names the source in messages. */
export function parseLabelled(text: string, file: string, opts: ReadLabelledOptions = {}): LabelledData {
  const format = opts.format ?? detectFormat(text, file, opts);
  const raw = format === 'jsonl' ? jsonlRows(text, file, opts) : format === 'lines' ? plainRows(text, file, opts) : delimitedRows(format === 'csv' ? parseCsv(text, file) : parseTsv(text), format, file, opts);
  if (raw.length === 0) throw new BertfuseError('E_BAD_DATA', 'no data rows', file);
  const { labelNames, labels } = resolveLabels(raw, file, opts);
  return {
    source: file,
    format,
    inputs: raw.map((r) => (r.pair === undefined ? { text: r.text } : { text: r.text, textPair: r.pair })),
    labelNames,
    labels,
    lines: Int32Array.from(raw.map((r) => r.line)),
  };
}

interface RawRow {
  readonly text: string;
  readonly pair?: string;
  readonly label: string;
  readonly line: number;
}

function detectFormat(text: string, file: string, opts: ReadLabelledOptions): LabelledFormat {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.tsv' || ext === '.tab') return 'tsv';
  if (ext === '.csv') return 'csv';
  if (ext === '.jsonl' || ext === '.ndjson' || ext === '.json') return 'jsonl';
  if (opts.label !== undefined) return 'lines';
  const first = text.split('\n').find((l) => l.trim() !== '') ?? '';
  if (first.trimStart().startsWith('{')) return 'jsonl';
  if (first.includes('\t')) return 'tsv';
  throw new BertfuseError('E_BAD_DATA', 'cannot tell the format from the name or the first line; pass the format (tsv, csv, jsonl), or a label for a plain-text file of one class', file);
}

function plainRows(text: string, file: string, opts: ReadLabelledOptions): RawRow[] {
  if (opts.label === undefined) throw new BertfuseError('E_BAD_DATA', 'plain text carries no labels; pass the one label its rows have', file);
  const label = opts.label;
  const rows: RawRow[] = [];
  text.split('\n').forEach((l, i) => {
    const t = l.endsWith('\r') ? l.slice(0, -1) : l;
    if (t.trim() !== '') rows.push({ text: t, label, line: i + 1 });
  });
  return rows;
}

function delimitedRows(rows: DelimitedRow[], format: 'tsv' | 'csv', file: string, opts: ReadLabelledOptions): RawRow[] {
  if (rows.length === 0) throw new BertfuseError('E_BAD_DATA', 'empty file', file);
  const first = rows[0]!;
  const hasHeader = opts.header ?? (opts.columns === undefined && (looksLikeHeader(first.fields, opts) || looksLikeNames(first, rows[1], opts)));
  const names = opts.columns ? [...opts.columns] : hasHeader ? first.fields.map((f) => f.trim()) : headerlessNames(first, file, opts);
  const body = hasHeader ? rows.slice(1) : rows;
  const cols = pickColumns(names, file, opts, format);
  return body.map((r) => {
    if (r.fields.length !== names.length) {
      throw new BertfuseError('E_BAD_DATA', `line ${r.line}: expected ${names.length} ${format === 'tsv' ? 'tab-separated' : 'comma-separated'} fields (${names.join(', ')}), found ${r.fields.length}`, file);
    }
    const text = r.fields[cols.text]!;
    const label = r.fields[cols.label]!.trim();
    return cols.pair === undefined ? { text, label, line: r.line } : { text, pair: r.fields[cols.pair]!, label, line: r.line };
  });
}

function looksLikeHeader(fields: readonly string[], opts: ReadLabelledOptions): boolean {
  const known = new Set([opts.labelColumn ?? 'label', opts.textColumn, opts.textPairColumn, ...TEXT_COLUMNS, ...PAIR_COLUMNS].filter((c): c is string => c !== undefined).map((c) => c.toLowerCase()));
  return fields.some((f) => known.has(f.trim().toLowerCase()));
}

/** A label value: an integer, a name in the label list, or a name the label map renames. */
function isLabelValue(v: string, opts: ReadLabelledOptions): boolean {
  const t = v.trim();
  return /^-?\d+$/.test(t) || (opts.labels?.includes(t) ?? false) || (opts.labelMap !== undefined && Object.hasOwn(opts.labelMap, t));
}

/**
 * A header with names we do not know (`review,sentiment`): every field of the first row is one
 * word and none is a label value, while the next row has a label value or text with spaces where
 * the first row has a word.
 */
function looksLikeNames(first: DelimitedRow, second: DelimitedRow | undefined, opts: ReadLabelledOptions): boolean {
  if (!second || second.fields.length !== first.fields.length) return false;
  if (!first.fields.every((f) => /^[A-Za-z_][\w.-]{0,63}$/.test(f.trim()) && !isLabelValue(f, opts))) return false;
  return second.fields.some((f) => isLabelValue(f, opts) || /\s/.test(f.trim()));
}

/**
 * Without a header, a two- or three-column file is read as label + text (+ pair) when exactly one
 * column of the first row looks like a label (an integer, a known name or a mapped name).
 */
function headerlessNames(first: DelimitedRow, file: string, opts: ReadLabelledOptions): string[] {
  const n = first.fields.length;
  const candidates = first.fields.map((f, i) => (isLabelValue(f, opts) ? i : -1)).filter((i) => i >= 0);
  if ((n === 2 || n === 3) && candidates.length === 1) {
    const label = candidates[0]!;
    const rest = ['text', 'text_pair'];
    return first.fields.map((_, i) => (i === label ? (opts.labelColumn ?? 'label') : rest.shift()!));
  }
  throw new BertfuseError('E_BAD_DATA', `line ${first.line}: no header row, and the label column cannot be told apart (${n} fields); add a header row naming the columns and say which is which with --text-column and --label-column`, file);
}

interface Columns {
  readonly text: number;
  readonly pair: number | undefined;
  readonly label: number;
}

function pickColumns(names: readonly string[], file: string, opts: ReadLabelledOptions, format: string): Columns {
  const lower = names.map((n) => n.toLowerCase());
  const find = (name: string): number => lower.indexOf(name.toLowerCase());
  const listed = `the header names ${names.join(', ')}`;
  // The same words as the flags (and recipe keys text_column, label_column, text_pair_column).
  const flag = { text: '--text-column', label: '--label-column', 'text pair': '--text-pair-column' } as const;
  const hint = `; say which is which with --text-column <name> --label-column <name>`;
  const need = (name: string, what: keyof typeof flag, given: boolean): number => {
    const i = find(name);
    if (i < 0) throw new BertfuseError('E_BAD_DATA', `no ${what} column "${name}" (${listed})${given ? `; ${flag[what]} names one of these` : hint}`, file);
    return i;
  };
  const label = need(opts.labelColumn ?? 'label', 'label', opts.labelColumn !== undefined);
  let text: number;
  if (opts.textColumn !== undefined) text = need(opts.textColumn, 'text', true);
  else {
    text = TEXT_COLUMNS.map(find).find((i) => i >= 0) ?? -1;
    if (text < 0) throw new BertfuseError('E_BAD_DATA', `no text column (looked for ${TEXT_COLUMNS.join(', ')}; ${listed}); name it with --text-column`, file);
  }
  let pair: number | undefined;
  if (opts.textPairColumn !== undefined) pair = need(opts.textPairColumn, 'text pair', true);
  else pair = PAIR_COLUMNS.map(find).find((i) => i >= 0);
  if (text === label) throw new BertfuseError('E_BAD_DATA', `the ${format} text and label columns are the same ("${names[text]}")`, file);
  return { text, pair, label };
}

/**
 * The 1-based line each element of a top-level JSON array starts on, so rows of a pretty-printed
 * .json file are numbered by the line a user sees. `text` is known to be valid JSON.
 */
function arrayElementLines(text: string): number[] {
  const lines: number[] = [];
  let line = 1;
  let depth = 0;
  let inString = false;
  let expectValue = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '\n') {
      line++;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r' || c === '\uFEFF') continue;
    if (depth === 1 && expectValue && c !== ']') {
      lines.push(line);
      expectValue = false;
    }
    if (c === '"') inString = true;
    else if (c === '[' || c === '{') expectValue = ++depth === 1;
    else if (c === ']' || c === '}') depth--;
    else if (c === ',' && depth === 1) expectValue = true;
  }
  return lines;
}

function jsonlRows(text: string, file: string, opts: ReadLabelledOptions): RawRow[] {
  const trimmed = text.trimStart();
  // A JSON array of records is accepted too (.json files often are one).
  const records: { rec: unknown; line: number }[] = [];
  if (trimmed.startsWith('[')) {
    let arr: unknown;
    try {
      arr = JSON.parse(text);
    } catch (e) {
      throw new BertfuseError('E_BAD_DATA', `invalid JSON (${(e as Error).message})`, file);
    }
    if (!Array.isArray(arr)) throw new BertfuseError('E_BAD_DATA', 'expected a JSON array of records', file);
    const starts = arrayElementLines(text);
    arr.forEach((rec, i) => records.push({ rec, line: starts[i] ?? i + 1 }));
  } else {
    text.split('\n').forEach((l, i) => {
      if (l.trim() === '') return;
      try {
        records.push({ rec: JSON.parse(l), line: i + 1 });
      } catch (e) {
        throw new BertfuseError('E_BAD_DATA', `line ${i + 1}: invalid JSON (${(e as Error).message})`, file);
      }
    });
  }
  const labelKey = opts.labelColumn ?? 'label';
  return records.map(({ rec, line }) => {
    if (typeof rec !== 'object' || rec === null || Array.isArray(rec)) throw new BertfuseError('E_BAD_DATA', `line ${line}: expected a JSON object`, file);
    const r = rec as Record<string, unknown>;
    const textKey = opts.textColumn ?? TEXT_COLUMNS.find((c) => Object.hasOwn(r, c));
    if (textKey === undefined || !Object.hasOwn(r, textKey)) {
      throw new BertfuseError('E_BAD_DATA', `line ${line}: no text field (${opts.textColumn ? `"${opts.textColumn}"` : `looked for ${TEXT_COLUMNS.join(', ')}`}; fields: ${Object.keys(r).join(', ')})`, file);
    }
    const t = r[textKey];
    if (typeof t !== 'string') throw new BertfuseError('E_BAD_DATA', `line ${line}: field "${textKey}" must be a string`, file);
    if (!Object.hasOwn(r, labelKey)) throw new BertfuseError('E_BAD_DATA', `line ${line}: no label field "${labelKey}" (fields: ${Object.keys(r).join(', ')})`, file);
    const l = r[labelKey];
    if (typeof l !== 'string' && !(typeof l === 'number' && Number.isFinite(l))) throw new BertfuseError('E_BAD_DATA', `line ${line}: label must be a string or a number, found ${JSON.stringify(l)}`, file);
    const pairKey = opts.textPairColumn ?? PAIR_COLUMNS.find((c) => Object.hasOwn(r, c));
    let pair: string | undefined;
    if (pairKey !== undefined) {
      const p = r[pairKey];
      if (p === undefined && opts.textPairColumn !== undefined) throw new BertfuseError('E_BAD_DATA', `line ${line}: no pair field "${pairKey}"`, file);
      if (p !== undefined && p !== null && typeof p !== 'string') throw new BertfuseError('E_BAD_DATA', `line ${line}: field "${pairKey}" must be a string`, file);
      if (typeof p === 'string') pair = p;
    }
    return pair === undefined ? { text: t, label: String(l).trim(), line } : { text: t, pair, label: String(l).trim(), line };
  });
}

function resolveLabels(rows: readonly RawRow[], file: string, opts: ReadLabelledOptions): { labelNames: string[]; labels: Int32Array } {
  const mapped = rows.map((r) => (opts.labelMap && Object.hasOwn(opts.labelMap, r.label) ? opts.labelMap[r.label]! : r.label));
  const empty = rows.findIndex((r) => r.label === '');
  if (empty >= 0) throw new BertfuseError('E_BAD_DATA', `line ${rows[empty]!.line}: empty label`, file);
  if (!opts.labels) {
    const names = [...new Set(mapped)].sort(compareLabels);
    const index = new Map(names.map((n, i) => [n, i]));
    return { labelNames: names, labels: Int32Array.from(mapped, (m) => index.get(m)!) };
  }
  const list = opts.labels;
  const byName = new Map(list.map((n, i) => [n, i]));
  const labels = new Int32Array(rows.length);
  const unknown = new Map<string, { line: number; count: number }>();
  mapped.forEach((m, i) => {
    let idx = byName.get(m);
    if (idx === undefined && /^\d+$/.test(m) && Number(m) < list.length) idx = Number(m);
    if (idx === undefined) {
      const u = unknown.get(m);
      if (u) u.count++;
      else unknown.set(m, { line: rows[i]!.line, count: 1 });
      return;
    }
    labels[i] = idx;
  });
  if (unknown.size > 0) {
    const shown = [...unknown].map(([name, u]) => `${JSON.stringify(name)} (line ${u.line}${u.count > 1 ? `, ${u.count} rows` : ''})`);
    throw new BertfuseError(
      'E_LABEL_MISMATCH',
      `label${unknown.size > 1 ? 's' : ''} not in the label list [${list.join(', ')}] nor an id below ${list.length}: ${shown.join(', ')}; rename them with a label map (e.g. --label-map NEG=negative)`,
      file,
    );
  }
  return { labelNames: [...list], labels };
}

function compareLabels(a: string, b: string): number {
  const ia = /^-?\d+$/.test(a);
  const ib = /^-?\d+$/.test(b);
  if (ia && ib) return Number(a) - Number(b);
  if (ia !== ib) return ia ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}
