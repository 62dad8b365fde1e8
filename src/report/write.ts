import fs from 'node:fs';
import path from 'node:path';
import { BertfuseError } from '../errors.js';
import { replaceFileAtomic } from '../util/atomic.js';
import { loadReportInput } from './load.js';
import { renderReport, REPORT_GENERATOR, type RenderOptions } from './render.js';

/** A page an earlier `bertfuse report` wrote: its generator tag sits in the first few hundred bytes. */
function isOurReport(file: string): boolean {
  const fd = fs.openSync(file, 'r');
  try {
    const head = Buffer.alloc(2048);
    const n = fs.readSync(fd, head, 0, head.length, 0);
    return head.subarray(0, n).toString('utf8').includes(`<meta name="generator" content="${REPORT_GENERATOR}">`);
  } finally {
    fs.closeSync(fd);
  }
}

export interface ReportWritten {
  readonly out: string;
  readonly bytes: number;
  /** False when the input carried summary metrics only (no charts from per-row data). */
  readonly details: boolean;
  readonly rows: number;
  readonly disagreements: number | null;
}

/**
 * `bertfuse report`: reads an eval result or a combined folder, renders the HTML and writes it in
 * one rename, so `out` is either the whole new report or whatever was there before.
 */
export function writeReport(source: string, out: string, opts: RenderOptions = {}): ReportWritten {
  if (path.resolve(out) === path.resolve(source)) throw new BertfuseError('E_USAGE', '--out is the input itself; give another file name such as report.html', out);
  if (fs.existsSync(out) && fs.statSync(out).isDirectory()) throw new BertfuseError('E_USAGE', 'is a folder; --out needs a file name such as report.html', out);
  const model = loadReportInput(source);
  const html = renderReport(model, opts);
  replaceFileAtomic(out, html, isOurReport);
  return { out, bytes: Buffer.byteLength(html), details: model.disagreements !== null, rows: model.rows.length, disagreements: model.disagreements?.length ?? null };
}
