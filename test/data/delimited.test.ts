import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCsv, parseTsv } from '../../src/data/delimited.js';
import { BertfuseError } from '../../src/errors.js';

const fields = (rows: { fields: string[] }[]): string[][] => rows.map((r) => r.fields);

test('CSV: quoted commas, doubled quotes, embedded line breaks, CRLF (RFC 4180)', () => {
  const text = 'label,text\r\n1,"a, b"\r\n0,"she said ""no"""\r\n1,"two\r\nlines"\r\n0,plain\r\n';
  const rows = parseCsv(text, 'x.csv');
  assert.deepEqual(fields(rows), [
    ['label', 'text'],
    ['1', 'a, b'],
    ['0', 'she said "no"'],
    ['1', 'two\r\nlines'],
    ['0', 'plain'],
  ]);
  // Line numbers are where each record starts; the multi-line field pushes the next one down.
  assert.deepEqual(rows.map((r) => r.line), [1, 2, 3, 4, 6]);
  // Old-Mac CR line ends count as lines inside quotes as they do between records.
  assert.deepEqual(parseCsv('label,text\r1,"two\rlines"\r0,x\r', 'cr.csv').map((r) => r.line), [1, 2, 4]);
});

test('CSV: empty fields, quoted empty fields, no final newline, blank lines skipped', () => {
  assert.deepEqual(fields(parseCsv('a,,c\n\n"",x\n""\nlast,"q"', 'x.csv')), [['a', '', 'c'], ['', 'x'], [''], ['last', 'q']]);
  assert.deepEqual(fields(parseCsv('a,b,\n', 'x.csv')), [['a', 'b', '']]);
});

test('CSV: a bare quote inside an unquoted field is kept', () => {
  assert.deepEqual(fields(parseCsv('1,it"s fine\n', 'x.csv')), [['1', 'it"s fine']]);
});

test('CSV: an unclosed quote and text after a closing quote are errors naming the line', () => {
  assert.throws(() => parseCsv('label,text\n1,"never closed\n0,x\n', 'bad.csv'), (e: unknown) => e instanceof BertfuseError && e.code === 'E_BAD_DATA' && /bad\.csv: line 2: quoted field is never closed/.test(e.message));
  assert.throws(() => parseCsv('label,text\n1,"a"b\n', 'bad.csv'), (e: unknown) => e instanceof BertfuseError && /line 2: unexpected "b" after a closing quote/.test(e.message));
});

test('TSV: tabs split, quotes are plain characters, CRLF and blank lines', () => {
  const rows = parseTsv('label\ttext\r\n0\tthe " movie\r\n\r\n1\tgood\n');
  assert.deepEqual(fields(rows), [['label', 'text'], ['0', 'the " movie'], ['1', 'good']]);
  assert.deepEqual(rows.map((r) => r.line), [1, 2, 4]);
});
