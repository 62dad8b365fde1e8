import { BertfuseError } from '../errors.js';
import { own, recordOf } from '../util/names.js';

/** Renames of label names before alignment: `{ NEG: 'negative' }` means a member's "NEG" is "negative". */
export type LabelMap = Readonly<Record<string, string>>;

/** Parses `NEG=negative,POS=positive` (the `--label-map` flag). */
export function parseLabelMap(spec: string | readonly string[] | undefined): LabelMap {
  if (spec === undefined) return {};
  const parts = (typeof spec === 'string' ? [spec] : spec).flatMap((s) => s.split(',')).map((s) => s.trim()).filter((s) => s !== '');
  const map = new Map<string, string>();
  for (const p of parts) {
    const eq = p.indexOf('=');
    const from = p.slice(0, eq).trim();
    const to = p.slice(eq + 1).trim();
    if (eq <= 0 || from === '' || to === '') throw new BertfuseError('E_USAGE', `--label-map entry "${p}" is not FROM=TO (example: NEG=negative,POS=positive)`);
    if (map.has(from) && map.get(from) !== to) throw new BertfuseError('E_USAGE', `--label-map maps "${from}" twice ("${map.get(from)}" and "${to}")`);
    map.set(from, to);
  }
  return recordOf(map);
}

/** A member's label names after the label map, in the member's own index order. */
export function mapLabels(labels: readonly string[], map: LabelMap, source: string): string[] {
  const out = labels.map((l) => own(map, l) ?? l);
  const dup = out.find((l, i) => out.indexOf(l) !== i);
  if (dup !== undefined) throw new BertfuseError('E_LABEL_MISMATCH', `after --label-map two labels are both called "${dup}" (${labels.join(', ')} → ${out.join(', ')})`, source);
  return out;
}

/**
 * A guess at which extra name means which missing one, for the error message only (matching itself
 * stays exact: `POSITIVE` is not `positive` unless the user says so with --label-map). Names equal
 * up to case pair first, then names where one is a prefix of the other up to case (`neg` /
 * `negative`); with one name left on each side, those two; with no clue at all, the first of each (to show the syntax).
 */
export function suggestLabelMap(extra: readonly string[], missing: readonly string[]): [string, string][] {
  const pairs: [string, string][] = [];
  const left = [...missing];
  const rest: string[] = [];
  const take = (from: string, match: (to: string) => boolean): boolean => {
    const i = left.findIndex(match);
    if (i < 0) return false;
    pairs.push([from, left[i]!]);
    left.splice(i, 1);
    return true;
  };
  for (const e of extra) if (!take(e, (m) => m.toLowerCase() === e.toLowerCase())) rest.push(e);
  const unmatched: string[] = [];
  for (const e of rest) {
    const l = e.toLowerCase();
    if (!take(e, (m) => m.toLowerCase().startsWith(l) || l.startsWith(m.toLowerCase()))) unmatched.push(e);
  }
  if (unmatched.length === 1 && left.length === 1) pairs.push([unmatched[0]!, left[0]!]);
  // Nothing to go by: show the syntax with the first names.
  if (pairs.length === 0 && extra.length > 0 && missing.length > 0) pairs.push([extra[0]!, missing[0]!]);
  return pairs;
}

/**
 * For each label of the common list, the member's own class index: column j of the aligned logits
 * is `logits[alignment[j]]`. Names must match exactly (after the label map); anything missing or
 * extra is an error that names it, because fusing by index would silently mix classes.
 */
export function alignLabels(memberLabels: readonly string[], target: readonly string[], source: string): number[] {
  const missing = target.filter((l) => !memberLabels.includes(l));
  const extra = memberLabels.filter((l) => !target.includes(l));
  if (missing.length > 0 || extra.length > 0) {
    const parts: string[] = [];
    if (missing.length > 0) parts.push(`missing ${missing.map((l) => `"${l}"`).join(', ')}`);
    if (extra.length > 0) parts.push(`extra ${extra.map((l) => `"${l}"`).join(', ')}`);
    const pairs = suggestLabelMap(extra, missing);
    const hint = pairs.length > 0 ? ` (map names with --label-map ${pairs.map(([from, to]) => `${from}=${to}`).join(',')})` : '';
    throw new BertfuseError('E_LABEL_MISMATCH', `labels [${memberLabels.join(', ')}] do not match [${target.join(', ')}]: ${parts.join('; ')}${hint}`, source);
  }
  return target.map((l) => memberLabels.indexOf(l));
}
