/**
 * The only way data reaches the page: every string from an eval result (texts, labels, member and
 * method names, paths) goes through `esc` before it is placed in text or in an attribute value.
 */
const ENTITIES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}

/** A number for an SVG coordinate: short, never NaN or exponent notation. */
export function num(x: number): string {
  if (!Number.isFinite(x)) throw new Error(`report: non-finite coordinate ${x}`);
  return String(Math.round(x * 100) / 100);
}

export function pct(x: number | null, digits = 2): string {
  return x === null ? '–' : `${(x * 100).toFixed(digits)}%`;
}

export function fixed(x: number | null, digits = 4): string {
  return x === null ? '–' : x.toFixed(digits);
}

export function costText(c: number): string {
  return `${c.toFixed(2)}×`;
}
