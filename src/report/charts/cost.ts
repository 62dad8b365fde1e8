import type { ReportRow } from '../model.js';
import { costText, esc, num } from '../html.js';
import { frameRect, linear, niceExtent, svg, ticks, xAxis, yAxis, type Frame } from './scale.js';

const W = 760;
const H = 390;
const PLOT: Frame = { left: 64, top: 14, width: 500, height: 316 };
const CHAR_W = 6.6;
const LINE_H = 14;

/** A marker: members are circles, fusions diamonds, any other kind (e.g. merges) squares. */
export function marker(kind: string, cx: number, cy: number, cls: string, r = 6): string {
  if (kind === 'member') return `<circle class="${cls}" cx="${num(cx)}" cy="${num(cy)}" r="${r}"/>`;
  if (kind === 'fusion') {
    const d = r * 1.3;
    return `<path class="${cls}" d="M${num(cx)} ${num(cy - d)}L${num(cx + d)} ${num(cy)}L${num(cx)} ${num(cy + d)}L${num(cx - d)} ${num(cy)}Z"/>`;
  }
  return `<rect class="${cls}" x="${num(cx - r)}" y="${num(cy - r)}" width="${2 * r}" height="${2 * r}"/>`;
}

interface Label {
  readonly px: number;
  readonly py: number;
  /** Names of the rows at this spot; highlighted ones are drawn bold with a star. */
  readonly names: readonly { readonly name: string; readonly strong: boolean }[];
  y: number;
}

/** Labels sit just above their point's height, clear of the front's horizontal segments. */
const LIFT = 9;

const labelText = (l: Label): string => l.names.map((n) => (n.strong ? '★ ' : '') + n.name).join(', ');

interface Box {
  readonly x0: number;
  readonly x1: number;
  readonly y0: number;
  readonly y1: number;
}

const overlaps = (a: Box, b: Box): boolean => a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1;

/**
 * Puts each label right of its point, moving it up or down by whole lines (nearest free slot
 * first) until it overlaps neither another label nor another point's marker.
 */
function placeLabels(labels: Label[], points: readonly { x: number; y: number }[]): void {
  const taken: Box[] = points.map((p) => ({ x0: p.x - 8, x1: p.x + 8, y0: p.y - 8, y1: p.y + 8 }));
  for (const l of [...labels].sort((a, b) => a.py - b.py || a.px - b.px)) {
    const x0 = l.px + 10;
    const x1 = x0 + labelText(l).length * CHAR_W;
    const own = (b: Box): boolean => Math.abs(b.x0 + 8 - l.px) < 0.5 && Math.abs(b.y0 + 8 - l.py) < 0.5;
    const box = (y: number): Box => ({ x0, x1, y0: y - LINE_H / 2, y1: y + LINE_H / 2 });
    const base = l.py - LIFT;
    let y = base;
    for (let step = 1; step < 40 && taken.some((b) => !own(b) && overlaps(b, box(y))); step++) {
      y = base + (step % 2 === 1 ? -1 : 1) * Math.ceil(step / 2) * LINE_H;
    }
    l.y = y;
    taken.push(box(y));
  }
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
  const points = shown.map((r) => {
    const cls = `pt ${r.kind === 'member' ? 'member' : 'method'}${r.pareto ? ' pareto' : ''}`;
    const tip = `${r.name} (${r.kind}): accuracy ${(100 * r.accuracy).toFixed(2)}%, cost ${costText(r.cost)}${r.pareto ? ', on the Pareto front' : ''}`;
    return `<g>${marker(r.kind, x(r.cost), y(r.accuracy), cls)}<title>${esc(tip)}</title></g>`;
  });
  // Rows that land on the same spot (equal accuracy and cost) share one label.
  const spots = new Map<string, Label>();
  for (const r of shown) {
    const px = x(r.cost);
    const py = y(r.accuracy);
    const key = `${Math.round(px)},${Math.round(py)}`;
    const name = { name: r.name, strong: highlight.has(r.name) };
    const at = spots.get(key);
    if (at) spots.set(key, { ...at, names: [...at.names, name] });
    else spots.set(key, { px, py, names: [name], y: py });
  }
  const labels = [...spots.values()];
  placeLabels(labels, labels.map((l) => ({ x: l.px, y: l.py })));
  const labelSvg = labels.map((l) => {
    const leader = Math.abs(l.y - (l.py - LIFT)) > 1 ? `<line class="leader" x1="${num(l.px + 4)}" y1="${num(l.py - 4)}" x2="${num(l.px + 9)}" y2="${num(l.y)}"/>` : '';
    const spans = l.names.map((n, i) => `${i > 0 ? ', ' : ''}${n.strong ? `<tspan class="strong">★ ${esc(n.name)}</tspan>` : esc(n.name)}`);
    return `${leader}<text class="pt-label" x="${num(l.px + 10)}" y="${num(l.y)}" dominant-baseline="middle">${spans.join('')}</text>`;
  });
  const body = [
    yAxis(PLOT, y, ticks(y0, y1, 6), (v) => `${(100 * v).toFixed(yDigits)}%`, 'accuracy'),
    xAxis(PLOT, x, ticks(0, x1, 6), (v) => `${Number(v.toPrecision(6))}×`, 'relative inference cost (cheapest member = 1×)'),
    frameRect(PLOT),
    frontPath,
    `<g class="points">${points.join('')}</g>`,
    `<g class="labels">${labelSvg.join('')}</g>`,
  ].join('');
  return svg('chart cost', W, H, 'accuracy versus cost of every method tried', body);
}
