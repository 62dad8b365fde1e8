/**
 * A transfer set with some lines left out, for scripts/distill-quality.ts: the runs tuned on the
 * slice twin (data/sst2_slice_tune.tsv) train on data/distill_transfer.txt less the lines
 * data/distill_transfer_twin_excluded.txt names (1-based, ascending; written by
 * scripts/build-distill-data.py: every transfer text that is, contains or is inside a twin row, or
 * is inside a twin row's MR sentence). The transfer file itself is not rewritten, since every earlier
 * run was measured with it; the list keeps the repository small (52 kB against a 2.5 MB copy).
 */
import fs from 'node:fs';
import { BertfuseError } from '../src/errors.js';

/** The texts of a transfer file, one per line as `distill --texts` reads it (the final newline ends the last). */
export function transferLines(texts: string): string[] {
  return fs.readFileSync(texts, 'utf8').replace(/\n$/, '').split('\n');
}

/** The lines of `texts` (one text per line, as `distill --texts` reads it) without those `excludedLines` lists. */
export function transferWithout(texts: string, excludedLines: string): { readonly kept: string[]; readonly removed: number } {
  const lines = transferLines(texts);
  const drop = new Set<number>();
  let last = 0;
  for (const [i, raw] of fs.readFileSync(excludedLines, 'utf8').split('\n').entries()) {
    if (raw === '') continue;
    const n = Number(raw);
    // Ascending and in range: a list written for another version of the transfer file fails here, not silently.
    if (!Number.isInteger(n) || n <= last || n > lines.length) {
      throw new BertfuseError('E_BAD_DATA', `line ${i + 1}: "${raw}" is not a line number of ${texts} (1 to ${lines.length}) above the one before`, excludedLines);
    }
    drop.add(n);
    last = n;
  }
  return { kept: lines.filter((_, i) => !drop.has(i + 1)), removed: drop.size };
}

/** Writes `body` to `out` only when it differs, so a cached run's input keeps its date. */
export function writeIfChanged(out: string, body: string): void {
  if (!fs.existsSync(out) || fs.readFileSync(out, 'utf8') !== body) fs.writeFileSync(out, body);
}
