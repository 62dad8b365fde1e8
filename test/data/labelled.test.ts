import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { parseLabelled, readLabelled } from '../../src/data/labelled.js';
import { BertfuseError } from '../../src/errors.js';

const SST = ['negative', 'positive'];
const fails = (code: string, re: RegExp) => (e: unknown) => e instanceof BertfuseError && e.code === code && re.test(e.message);

function tmpFile(name: string, content: string | Uint8Array): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bertfuse-labelled-'));
  const file = path.join(dir, name);
  fs.writeFileSync(file, content);
  return file;
}

test('reads data/sst2_dev.tsv (header label/content, ids through the label list)', () => {
  const d = readLabelled('data/sst2_dev.tsv', { labels: SST });
  assert.equal(d.format, 'tsv');
  assert.equal(d.inputs.length, 872);
  assert.deepEqual(d.labelNames, SST);
  assert.equal(d.inputs[0]!.text, 'one long string of cliches .');
  assert.equal(d.labels[0], 0);
  assert.equal(d.lines[0], 2);
  // Independent count of the label column.
  const lines = fs.readFileSync('data/sst2_dev.tsv', 'utf8').trim().split('\n').slice(1);
  const positives = lines.filter((l) => l.startsWith('1\t')).length;
  assert.equal(d.labels.reduce((s, v) => s + v, 0), positives);
});

test('reads subj_test.tsv with its own names via a label map on ids', () => {
  const d = readLabelled('fixtures/subj-sibling/subj_test.tsv', { labelMap: { '0': 'subjective', '1': 'objective' } });
  assert.equal(d.inputs.length, 1000);
  assert.deepEqual(d.labelNames, ['objective', 'subjective']); // found names, sorted
  const d2 = readLabelled('fixtures/subj-sibling/subj_test.tsv', { labels: ['subjective', 'objective'] });
  for (let i = 0; i < 1000; i++) assert.equal(d.labelNames[d.labels[i]!], d2.labelNames[d2.labels[i]!]);
});

test('latin-1 rt-polarity is refused as UTF-8 and read with encoding latin1', () => {
  assert.throws(() => readLabelled('data/rt-polarity-sample.neg', { label: 'negative' }), fails('E_BAD_ENCODING', /rt-polarity-sample\.neg: not valid UTF-8 .*line 32.*--encoding latin1/));
  const d = readLabelled('data/rt-polarity-sample.neg', { label: 'negative', encoding: 'latin1', labels: SST });
  assert.equal(d.format, 'lines');
  assert.equal(d.inputs.length, 300);
  assert.ok(d.labels.every((l) => l === 0));
  assert.equal(d.inputs[31]!.text, 'the action clichés just pile up . ');
});

test('CSV with quotes, BOM, CRLF, names and a label map', () => {
  const file = tmpFile('d.csv', '\ufefftext,label\r\n"great, really",POS\r\n"a ""bad"" one",NEG\r\nok,positive\r\n');
  const d = readLabelled(file, { labels: SST, labelMap: { POS: 'positive', NEG: 'negative' } });
  assert.deepEqual(d.inputs.map((x) => x.text), ['great, really', 'a "bad" one', 'ok']);
  assert.deepEqual([...d.labels], [1, 0, 1]);
});

test('JSONL with pairs and numeric labels; named columns', () => {
  const file = tmpFile('d.jsonl', ['{"premise":"a","hypothesis":"b","y":1}', '', '{"premise":"c","hypothesis":"d","y":"negative"}'].join('\n'));
  const d = readLabelled(file, { labels: SST, textColumn: 'premise', textPairColumn: 'hypothesis', labelColumn: 'y' });
  assert.deepEqual(d.inputs, [
    { text: 'a', textPair: 'b' },
    { text: 'c', textPair: 'd' },
  ]);
  assert.deepEqual([...d.labels], [1, 0]);
  assert.deepEqual([...d.lines], [1, 3]);
});

test('TSV pair column detected by name; headerless two-column files', () => {
  const pairs = parseLabelled('sentence1\tsentence2\tlabel\nx\ty\tpositive\n', 'p.tsv', { labels: SST });
  assert.deepEqual(pairs.inputs, [{ text: 'x', textPair: 'y' }]);
  const headerless = parseLabelled('fine movie\t1\nawful\t0\n', 'h.tsv', { labels: SST });
  assert.deepEqual(headerless.inputs.map((x) => x.text), ['fine movie', 'awful']);
  assert.deepEqual([...headerless.labels], [1, 0]);
  const named = parseLabelled('1\tfine\n', 'h.tsv', { labels: SST, columns: ['label', 'text'] });
  assert.equal(named.inputs[0]!.text, 'fine');
});

test('errors name the file, the line and the problem', () => {
  assert.throws(() => parseLabelled('label\ttext\n0\ta\n1\tb\textra\n', 'r.tsv', { labels: SST }), fails('E_BAD_DATA', /^r\.tsv: line 3: expected 2 tab-separated fields \(label, text\), found 3/));
  assert.throws(() => parseLabelled('', 'e.tsv'), fails('E_BAD_DATA', /e\.tsv: empty file/));
  assert.throws(() => parseLabelled('label\ttext\n', 'h.tsv'), fails('E_BAD_DATA', /h\.tsv: no data rows/));
  assert.throws(() => parseLabelled('label\tbody\n0\tx\n', 'c.tsv'), fails('E_BAD_DATA', /no text column \(looked for text, sentence, content, sentence1; the header names label, body\); name it with --text-column/));
  assert.throws(() => parseLabelled('text\tgold\nx\t0\n', 'c.tsv'), fails('E_BAD_DATA', /no label column "label" \(the header names text, gold\); say which is which with --text-column <name> --label-column <name>/));
  assert.throws(
    () => parseLabelled('label\ttext\nneutral\ta\n0\tb\nneutral\tc\n7\td\n', 'u.tsv', { labels: SST }),
    fails('E_LABEL_MISMATCH', /u\.tsv: labels not in the label list \[negative, positive\] nor an id below 2: "neutral" \(line 2, 2 rows\), "7" \(line 5\)/),
  );
  assert.throws(() => parseLabelled('{"text":"a"}\n', 'j.jsonl'), fails('E_BAD_DATA', /line 1: no label field "label"/));
  assert.throws(() => parseLabelled('{"text":"a","label":0}\n{bad\n', 'j.jsonl'), fails('E_BAD_DATA', /line 2: invalid JSON/));
  assert.throws(() => parseLabelled('{"text":3,"label":0}\n', 'j.jsonl'), fails('E_BAD_DATA', /line 1: field "text" must be a string/));
  assert.throws(() => parseLabelled('label\ttext\n\ta\n', 'l.tsv'), fails('E_BAD_DATA', /line 2: empty label/));
  assert.throws(() => parseLabelled('a b c\n', 'x.txt'), fails('E_BAD_DATA', /cannot tell the format/));
  assert.throws(() => parseLabelled('a\tb\n', 'x.tsv'), fails('E_BAD_DATA', /no header row/));
  assert.throws(() => readLabelled('/nonexistent/x.tsv'), fails('E_MISSING_FILE', /cannot read/));
});

test('a header of names we do not know (review,sentiment) is a header, and the message names the flags', () => {
  const csv = 'review,sentiment\n"a gorgeous , witty movie .",positive\none long string of cliches .,negative\n';
  assert.throws(() => parseLabelled(csv, 'r.csv', { labels: SST }), fails('E_BAD_DATA', /^r\.csv: no label column "label" \(the header names review, sentiment\); say which is which with --text-column <name> --label-column <name>$/));
  const read = parseLabelled(csv, 'r.csv', { labels: SST, textColumn: 'review', labelColumn: 'sentiment' });
  assert.deepEqual(read.inputs.map((x) => x.text), ['a gorgeous , witty movie .', 'one long string of cliches .']);
  assert.deepEqual([...read.labels], [1, 0]);
  assert.deepEqual([...read.lines], [2, 3], 'rows keep their file line numbers');
  // Without a label list, text with spaces under a one-word first row still marks the header.
  assert.equal(parseLabelled('body,tag\nfine film,x\n', 'n.csv', { textColumn: 'body', labelColumn: 'tag' }).inputs[0]!.text, 'fine film');
  // A headerless file whose first row is data is still read as data.
  assert.deepEqual([...parseLabelled('1\tfine movie\n0\tawful\n', 'h.tsv', { labels: SST }).labels], [1, 0]);
});

test('labels without a list: found names sorted, integers numerically', () => {
  const d = parseLabelled('label\ttext\n10\ta\n2\tb\n10\tc\n', 'n.tsv');
  assert.deepEqual(d.labelNames, ['2', '10']);
  assert.deepEqual([...d.labels], [1, 0, 1]);
});

test('a JSON array numbers its records by the line each starts on (pretty-printed, strings with brackets and escapes)', () => {
  const recs = [
    { text: 'a [tricky], {text}', label: 'positive' },
    { text: 'quote \" and backslash \\ and \n escaped newline', label: 'negative' },
    { text: 'plain', label: 'positive', extra: [1, [2, { x: ']' }]] },
  ];
  // Written by hand: header line, records at known lines (2-space pretty print, a blank line).
  const parts = ['[', JSON.stringify(recs[0], null, 2) + ',', '', JSON.stringify(recs[1]) + ',', JSON.stringify(recs[2], null, 2), ']'];
  const starts = [2, 7, 8];
  assert.equal(parts.join('\n').split('\n')[starts[1]! - 1], JSON.stringify(recs[1]) + ',');
  const d = parseLabelled(parts.join('\n'), 'rows.json', { labels: SST });
  assert.deepEqual(d.inputs.map((x) => x.text), recs.map((r) => r.text));
  assert.deepEqual([...d.lines], starts);
  const oneLine = parseLabelled(JSON.stringify(recs), 'rows.json', { labels: SST });
  assert.deepEqual([...oneLine.lines], [1, 1, 1], 'a one-line array: every record is on line 1');
});
