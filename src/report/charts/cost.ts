import type { ReportRow } from '../model.js';
import { costText, esc, num } from '../html.js';
import { frameRect, linear, niceExtent, svg, ticks, xAxis, yAxis, type Frame } from './scale.js';

const W = 760;
const H = 390;
const PLOT: Frame = { left: 64, top: 14, width: 500, height: 316 };
/** One label line: a 12px font's glyph box is about 14px tall; 2px more keep stacked lines apart. */
const LINE_H = 16;
/** Gap between a point's centre and its label's near edge (clear of the 8px marker). */
const GAP = 11;
/** A label moved off its point's height sits this much further out, so its leader line shows. */
const LEADER_DX = 16;
/** A label wraps its names (rows sharing one spot) to lines no wider than this. */
const MAX_LABEL_W = 230;

/**
 * The marker shapes, defined once per page (in the chart's <defs>) and drawn by reference both in
 * the chart and in its legend, so a legend glyph is the very shape it explains. Members are
 * circles, fusions diamonds, any other kind (weight merges, distilled students) squares; colour and
 * fill come from the classes on the <use> (member or method; filled when on the Pareto front).
 */
const MARKER_IDS: Readonly<Record<'member' | 'fusion' | 'other', string>> = { member: 'mark-member', fusion: 'mark-fusion', other: 'mark-other' };
export const MARKER_DEFS = `<defs><circle id="${MARKER_IDS.member}" r="6"/><path id="${MARKER_IDS.fusion}" d="M0 -7.8L7.8 0L0 7.8L-7.8 0Z"/><rect id="${MARKER_IDS.other}" x="-6" y="-6" width="12" height="12"/></defs>`;

/** The classes of a row's marker: its colour (member or method) and whether it is filled (Pareto). */
export function markerClass(kind: string, pareto: boolean): string {
  return `pt ${kind === 'member' ? 'member' : 'method'}${pareto ? ' pareto' : ''}`;
}

/** A row's marker at (cx, cy): a reference to its kind's shape. */
export function marker(kind: string, cx: number, cy: number, pareto: boolean): string {
  const id = kind === 'member' ? MARKER_IDS.member : kind === 'fusion' ? MARKER_IDS.fusion : MARKER_IDS.other;
  return `<use class="${markerClass(kind, pareto)}" href="#${id}" x="${num(cx)}" y="${num(cy)}"/>`;
}

interface Name {
  readonly name: string;
  readonly strong: boolean;
}

interface Label {
  readonly px: number;
  readonly py: number;
  /** Names of the rows at this spot, wrapped into lines; highlighted ones are drawn bold with a star. */
  readonly lines: readonly (readonly Name[])[];
  readonly width: number;
  /** Placement: the near edge's x, which side of the point, the first line's centre, whether it left its point's height. */
  x: number;
  side: 'right' | 'left';
  y: number;
  moved: boolean;
}

/** Labels sit just above their point's height when they can, clear of the front's horizontal segments. */
const LIFT = 9;

/**
 * A generous estimate of a 12px sans-serif string's width (DejaVu Sans, the widest common fallback,
 * is about 0.28em for i/l/space/punctuation, 0.6em for most lowercase, up to 1em for m/w and
 * capitals): wide enough that estimated boxes that do not overlap never overlap on screen either.
 */
function textWidth(s: string, bold: boolean): number {
  let em = 0;
  for (const c of s) em += /[ il.,:;'|!]/.test(c) ? 0.34 : /[jtfr()\-]/.test(c) ? 0.45 : /[a-z0-9_]/.test(c) && !/[mw]/.test(c) ? 0.66 : 1.0;
  return em * 12 * (bold ? 1.12 : 1) + 2;
}

const nameText = (n: Name): string => (n.strong ? '★ ' : '') + n.name;
const lineWidth = (line: readonly Name[], last: boolean): number => line.reduce((w, n, i) => w + textWidth(nameText(n) + (i < line.length - 1 || !last ? ',' : '') + (i > 0 ? ' ' : ''), n.strong), 0);

/** Greedy wrap of the names at one spot: "a, b, c" on as few lines as fit MAX_LABEL_W. */
function wrap(names: readonly Name[]): Name[][] {
  const lines: Name[][] = [[]];
  for (const n of names) {
    const cur = lines[lines.length - 1]!;
    if (cur.length > 0 && lineWidth([...cur, n], false) > MAX_LABEL_W) lines.push([n]);
    else cur.push(n);
  }
  return lines;
}

interface Box {
  readonly x0: number;
  readonly x1: number;
  readonly y0: number;
  readonly y1: number;
}

const overlaps = (a: Box, b: Box): boolean => a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1;

/**
 * Deterministic label placement. Each label (top to bottom) takes the first free slot among: right
 * of its point, left of it, then the same one line higher, one lower, two higher, … — free meaning
 * inside the plot's rows and the picture's width, and overlapping no marker and no label placed
 * before it. A label away from its point gets a leader line. Points at one spot share a label.
 */
function placeLabels(labels: Label[], points: readonly { x: number; y: number }[]): void {
  const taken: Box[] = points.map((p) => ({ x0: p.x - 9, x1: p.x + 9, y0: p.y - 9, y1: p.y + 9 }));
  const top = 2;
  const bottom = PLOT.top + PLOT.height;
  const maxSteps = 2 * Math.ceil(H / LINE_H);
  for (const l of [...labels].sort((a, b) => a.py - b.py || a.px - b.px)) {
    const height = l.lines.length * LINE_H;
    const base = l.py - LIFT - (l.lines.length - 1) * (LINE_H / 2);
    const nearX = (side: 'right' | 'left', moved: boolean): number => l.px + (side === 'right' ? 1 : -1) * (GAP + (moved ? LEADER_DX : 0));
    const box = (side: 'right' | 'left', y: number, moved: boolean): Box => {
      const x0 = side === 'right' ? nearX(side, moved) : nearX(side, moved) - l.width;
      return { x0, x1: x0 + l.width, y0: y - LINE_H / 2, y1: y - LINE_H / 2 + height };
    };
    const fits = (b: Box): boolean => b.y0 >= top && b.y1 <= bottom && b.x0 >= PLOT.left + 2 && b.x1 <= W - 2 && !taken.some((t) => overlaps(t, b));
    let chosen: { side: 'right' | 'left'; y: number; moved: boolean } | null = null;
    for (let step = 0; step <= maxSteps && chosen === null; step++) {
      const y = base + (step % 2 === 1 ? -1 : 1) * Math.ceil(step / 2) * LINE_H;
      for (const side of ['right', 'left'] as const) {
        if (fits(box(side, y, step > 0))) {
          chosen = { side, y, moved: step > 0 };
          break;
        }
      }
    }
    // Nowhere free (a crowded chart far beyond what a run produces): the default spot, overlapping.
    const at = chosen ?? { side: 'right' as const, y: base, moved: false };
    l.side = at.side;
    l.y = at.y;
    l.moved = at.moved;
    l.x = nearX(at.side, at.moved);
    taken.push(box(at.side, at.y, at.moved));
  }
}

function labelSvg(l: Label): string {
  const dir = l.side === 'right' ? 1 : -1;
  // The leader runs from the marker's edge to the label line nearest the point.
  const ly = Math.min(Math.max(l.py, l.y), l.y + (l.lines.length - 1) * LINE_H);
  const leader = l.moved ? `<line class="leader" x1="${num(l.px + dir * 8)}" y1="${num(l.py)}" x2="${num(l.x - dir * 3)}" y2="${num(ly)}"/>` : '';
  const anchor = l.side === 'right' ? 'start' : 'end';
  const tspans = l.lines.map((line, i) => {
    const parts = line.map((n, j) => `${j > 0 ? ', ' : ''}${n.strong ? `<tspan class="strong">★ ${esc(n.name)}</tspan>` : esc(n.name)}`);
    return `<tspan x="${num(l.x)}" y="${num(l.y + i * LINE_H)}">${parts.join('')}${i < l.lines.length - 1 ? ',' : ''}</tspan>`;
  });
  return `${leader}<text class="pt-label" x="${num(l.x)}" y="${num(l.y)}" text-anchor="${anchor}" dominant-baseline="middle">${tspans.join('')}</text>`;
}

/**
 * Accuracy against relative inference cost for every row with an accuracy: members and methods,
 * the Pareto front (no other row is at least as accurate for no more cost) drawn as a step line
 * and its points filled.
 */
export function costChart(rows: readonly ReportRow[], highlight: ReadonlySet<string>): string {
  const shown = rows.filter((r): r is ReportRow & { accuracy: number } => r.accuracy !== null);
  const accs = shown.map((r) => r.accuracy);
  const span = Math.max(...accs) - Math.min(...accs);
  const pad = Math.max(0.005, span * 0.12);
  const yTicksRaw = ticks(Math.max(0, Math.min(...accs) - pad), Math.min(1, Math.max(...accs) + pad), 6);
  const yStep = yTicksRaw.length > 1 ? yTicksRaw[1]! - yTicksRaw[0]! : 0.01;
  const [y0, y1] = niceExtent(Math.max(0, Math.min(...accs) - pad), Math.min(1, Math.max(...accs) + pad), yStep);
  const y = linear([y0, y1], [PLOT.top + PLOT.height, PLOT.top]);
  const maxCost = Math.max(...shown.map((r) => r.cost), 1);
  const xTicksRaw = ticks(0, maxCost * 1.08, 6);
  const xStep = xTicksRaw.length > 1 ? xTicksRaw[1]! - xTicksRaw[0]! : 1;
  const [, x1] = niceExtent(0, maxCost * 1.08, xStep);
  const x = linear([0, x1], [PLOT.left, PLOT.left + PLOT.width]);
  const yDigits = yStep >= 0.01 - 1e-12 ? 0 : 1;

  const front = shown.filter((r) => r.pareto).sort((a, b) => a.cost - b.cost || a.accuracy - b.accuracy);
  let frontPath = '';
  if (front.length > 0) {
    const pts: string[] = [`M${num(x(front[0]!.cost))} ${num(y(front[0]!.accuracy))}`];
    for (let i = 1; i < front.length; i++) pts.push(`H${num(x(front[i]!.cost))}V${num(y(front[i]!.accuracy))}`);
    pts.push(`H${num(PLOT.left + PLOT.width)}`);
    frontPath = `<path class="front" d="${pts.join('')}"><title>Pareto front: the best accuracy reachable at each cost</title></path>`;
  }
  // Filled (Pareto) markers are drawn last, so a dominated point never hides one.
  const points = [...shown].sort((a, b) => Number(a.pareto) - Number(b.pareto)).map((r) => {
    const tip = `${r.name} (${r.kind}): accuracy ${(100 * r.accuracy).toFixed(2)}%, cost ${costText(r.cost)}${r.pareto ? ', on the Pareto front' : ''}`;
    return `<g>${marker(r.kind, x(r.cost), y(r.accuracy), r.pareto)}<title>${esc(tip)}</title></g>`;
  });
  // Rows that land on the same spot (equal accuracy and cost, to the pixel) share one label.
  const spots = new Map<string, { px: number; py: number; names: Name[] }>();
  for (const r of shown) {
    const px = x(r.cost);
    const py = y(r.accuracy);
    const key = `${Math.round(px)},${Math.round(py)}`;
    const name = { name: r.name, strong: highlight.has(r.name) };
    const at = spots.get(key);
    if (at) at.names.push(name);
    else spots.set(key, { px, py, names: [name] });
  }
  const labels: Label[] = [...spots.values()].map((s) => {
    const lines = wrap(s.names);
    return { px: s.px, py: s.py, lines, width: Math.max(...lines.map((line, i) => lineWidth(line, i === lines.length - 1))), x: s.px, side: 'right', y: s.py, moved: false };
  });
  placeLabels(labels, shown.map((r) => ({ x: x(r.cost), y: y(r.accuracy) })));
  const body = [
    MARKER_DEFS,
    yAxis(PLOT, y, ticks(y0, y1, 6), (v) => `${(100 * v).toFixed(yDigits)}%`, 'accuracy'),
    xAxis(PLOT, x, ticks(0, x1, 6), (v) => `${Number(v.toPrecision(6))}×`, 'relative inference cost (cheapest member = 1×)'),
    frameRect(PLOT),
    frontPath,
    `<g class="points">${points.join('')}</g>`,
    `<g class="labels">${labels.map(labelSvg).join('')}</g>`,
  ].join('');
  return svg('chart cost', W, H, 'accuracy versus cost of every method tried', body);
}
