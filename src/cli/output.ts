import { InvalidArgumentError } from 'commander';

/** Writes results: JSON for programs (`--json`), aligned text for people. The library never prints. */
export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

export function printLine(text = ''): void {
  process.stdout.write(text + '\n');
}

/** Parses a positive integer flag with a clear error. */
export function positiveInt(name: string): (v: string) => number {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive integer`);
    return n;
  };
}

/** Parses a non-negative integer flag (seeds, counts that may be 0) with a clear error. */
export function nonNegativeInt(name: string): (v: string) => number {
  return (v: string) => {
    const n = v.trim() === '' ? NaN : Number(v);
    if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError(`${name} must be a whole number ≥ 0`);
    return n;
  };
}

/** A table cell for a member that did not run on that row (a cascade's later member on a confident row). */
export const SKIPPED = '–';

/**
 * The line printed under a table that shows SKIPPED, so a newcomer reads `–` without the README;
 * null when no cell is skipped (a table of members that all ran needs no legend).
 */
export function skippedLegend(rows: readonly (readonly unknown[])[]): string | null {
  return rows.some((r) => r.includes(SKIPPED)) ? `${SKIPPED} = not run on that row: the cascade's first member was sure enough to answer alone (that is the cascade's saving)` : null;
}

/** A note for people beside the result (stderr, so `--json` output and pipes stay clean). */
export function printNote(text: string): void {
  process.stderr.write(`note: ${text}\n`);
}
