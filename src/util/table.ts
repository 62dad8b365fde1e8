/** Aligned plain-text tables for people (the library builds them, the CLI prints them); numbers right-aligned, text left-aligned. */
export type Cell = string | number | null | undefined;

export interface TableOptions {
  /** Digits after the point for non-integer numbers (default 4). */
  readonly digits?: number;
  /** Right-align these columns (default: the columns whose cells are all numbers). */
  readonly right?: readonly boolean[];
}

function fmt(c: Cell, digits: number): string {
  if (c === null || c === undefined) return '-';
  if (typeof c === 'number') return Number.isInteger(c) ? String(c) : c.toFixed(digits);
  return c;
}

export function renderTable(header: readonly string[], rows: readonly (readonly Cell[])[], opts: TableOptions = {}): string {
  const digits = opts.digits ?? 4;
  const text = rows.map((r) => r.map((c) => fmt(c, digits)));
  const numeric = opts.right ?? header.map((_, j) => rows.length > 0 && rows.every((r) => typeof r[j] === 'number' || r[j] === null || r[j] === undefined));
  const widths = header.map((h, j) => Math.max(h.length, ...text.map((r) => (r[j] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells.map((c, j) => (numeric[j] ? c.padStart(widths[j]!) : c.padEnd(widths[j]!))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...text.map(line)].join('\n');
}
