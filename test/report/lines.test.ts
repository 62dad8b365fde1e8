/**
 * The disagreements table's first column is the line of the data file a row starts on. Real members
 * (two bundled fixtures) are run on SST-2 rows written here as CSV (header, quoted fields holding
 * line breaks, CRLF, a blank line), TSV (header, blank lines) and JSONL (blank lines); the writer
 * records each row's starting line itself, and the eval result and the rendered page must agree.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { evaluate, evalInputFrom } from '../../src/eval/evaluate.js';
import { chooseMethods } from '../../src/eval/methods.js';
import { prepare } from '../../src/eval/prepare.js';
import { FUSION_METHODS } from '../../src/fusion/registry.js';
import { bundledData, bundledFixture } from '../../src/paths.js';
import { renderReport } from '../../src/report/render.js';
import { fromEvalResult } from '../../src/report/load.js';
import type { EvalResult } from '../../src/eval/result.js';
import { MEMBERS } from './real-eval.js';

const ROWS = 150;

interface Written {
  readonly file: string;
  /** Line the row starts on → the text written there. */
  readonly starts: ReadonlyMap<number, string>;
}

/** SST-2 rows: [label, text]. */
function sst2(n: number): [string, string][] {
  return fs
    .readFileSync(bundledData('sst2_dev.tsv'), 'utf8')
    .split('\n')
    .slice(1, n + 1)
    .map((l) => l.split('\t') as [string, string]);
}

/** A file built line by line, counting lines as it goes (independently of the reader). */
class Builder {
  private readonly parts: string[] = [];
  private line = 1;
  readonly starts = new Map<number, string>();
  /** Appends raw text ending in a newline; returns the line it started on. */
  add(raw: string, text?: string): void {
    if (text !== undefined) this.starts.set(this.line, text);
    this.parts.push(raw);
    this.line += (raw.match(/\n/g) ?? []).length;
  }
  write(file: string): Written {
    fs.writeFileSync(file, this.parts.join(''));
    return { file, starts: this.starts };
  }
}

function csvFile(dir: string): Written {
  const b = new Builder();
  b.add('label,sentence\r\n');
  sst2(ROWS).forEach(([label, text], i) => {
    // Every third text is split over two lines inside quotes; every fifth carries a comma and a quote.
    const t = i % 3 === 0 ? text.replace(' ', '\n') : i % 5 === 0 ? `${text}, "really"` : text;
    b.add(`${label},"${t.replaceAll('"', '""')}"${i % 2 === 0 ? '\r\n' : '\n'}`, t);
    if (i === 10) b.add('\n');
  });
  return b.write(path.join(dir, 'rows.csv'));
}

function tsvFile(dir: string): Written {
  const b = new Builder();
  b.add('label\tsentence\n');
  sst2(ROWS).forEach(([label, text], i) => {
    if (i % 40 === 7) b.add('\n');
    b.add(`${label}\t${text}\n`, text);
  });
  return b.write(path.join(dir, 'rows.tsv'));
}

function jsonlFile(dir: string): Written {
  const b = new Builder();
  sst2(ROWS).forEach(([label, text], i) => {
    if (i % 25 === 3) b.add('\n  \n');
    b.add(`${JSON.stringify({ text, label: Number(label) })}\n`, text);
  });
  return b.write(path.join(dir, 'rows.jsonl'));
}

async function evalOn(file: string): Promise<EvalResult> {
  const prepared = await prepare({ members: MEMBERS.map((m) => ({ path: bundledFixture(m) })), data: { path: file }, labels: ['negative', 'positive'] });
  try {
    const methods = chooseMethods(FUSION_METHODS.filter((m) => m.name === 'mean'), 'all', {});
    return evaluate(evalInputFrom(prepared), methods, { folds: 2, seed: 0, resamples: 0 }).result;
  } finally {
    prepared.close();
  }
}

/** The first cell of each disagreements row, as rendered. */
function renderedRowCells(result: EvalResult, file: string): { head: string; cells: string[] } {
  const html = renderReport(fromEvalResult(JSON.parse(JSON.stringify(result)), file, file, null));
  const table = html.slice(html.indexOf('<table class="disagreements">'));
  const head = /<thead><tr><th[^>]*>([^<]*)<\/th>/.exec(table)![1]!;
  const cells = [...table.matchAll(/<tr><td class="num line">([^<]*)<\/td>/g)].map((m) => m[1]!);
  return { head, cells };
}

describe('disagreement rows carry the line of the data file', () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bertfuse-report-lines-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  for (const [name, make] of [
    ['CSV with a header, quoted line breaks, CRLF and a blank line', csvFile],
    ['TSV with a header and blank lines', tsvFile],
    ['JSONL with blank lines', jsonlFile],
  ] as const) {
    test(name, async () => {
      const w = make(dir);
      const result = await evalOn(w.file);
      assert.ok(result.disagreements.length >= 5, `members disagree on some rows (${result.disagreements.length})`);
      const rowStarts = [...w.starts.keys()];
      assert.equal(rowStarts.length, ROWS);
      for (const d of result.disagreements) {
        assert.equal(d.line, rowStarts[d.index], `row ${d.index}: line`);
        assert.equal(w.starts.get(d.line!), d.text, `line ${d.line} holds the row's text`);
      }
      // Some disagreement must sit where lines and row indexes part ways (else the test proves little).
      assert.ok(result.disagreements.some((d) => d.line! - d.index > 2), 'lines differ from indexes');
      const { head, cells } = renderedRowCells(result, w.file);
      assert.equal(head, 'line');
      assert.deepEqual(cells, result.disagreements.map((d) => String(d.line)));
    });
  }

  test('an older result without lines shows the 0-based row index under "row"', async () => {
    const result = await evalOn(tsvFile(dir).file);
    const old = { ...result, disagreements: result.disagreements.map(({ line: _line, ...d }) => d) };
    const { head, cells } = renderedRowCells(old, 'old.json');
    assert.equal(head, 'row');
    assert.deepEqual(cells, result.disagreements.map((d) => String(d.index)));
  });
});
