import type { ReliabilityBin } from '../../eval/result.js';
import { esc, num } from '../html.js';
import { frameRect, linear, svg, ticks, xAxis, yAxis, type Frame } from './scale.js';

const W = 290;
const H = 262;
const PLOT: Frame = { left: 52, top: 10, width: 222, height: 160 };
const STRIP_GAP = 6;
const STRIP_H = 24;

/**
 * The lowest confidence worth drawing: the top label of k classes always has probability ≥ 1/k,
 * so with two labels the left half of a 0–1 axis would stay empty. Rounded down to a tenth.
 */
export function confidenceFloor(k: number): number {
  return Math.floor((10 / k) + 1e-9) / 10;
}

/**
 * A reliability diagram (Guo et al. 2017): per confidence bin, the accuracy of its rows as a bar,
 * its mean confidence as a tick (the gap shaded when confidence exceeds accuracy), the diagonal for
 * perfect calibration, and under it
 * how many rows fall in each bin. Empty bins draw nothing.
 */
export function reliabilityDiagram(name: string, bins: readonly ReliabilityBin[], k: number): string {
  const lo = confidenceFloor(k);
  const x = linear([lo, 1], [PLOT.left, PLOT.left + PLOT.width]);
  const y = linear([0, 1], [PLOT.top + PLOT.height, PLOT.top]);
  const strip: Frame = { left: PLOT.left, top: PLOT.top + PLOT.height + STRIP_GAP, width: PLOT.width, height: STRIP_H };
  const maxCount = Math.max(1, ...bins.map((b) => b.count));
  const total = bins.reduce((a, b) => a + b.count, 0);
  const bars: string[] = [];
  const gaps: string[] = [];
  const counts: string[] = [];
  const marks: string[] = [];
  for (const b of bins) {
    if (b.count === 0 || b.accuracy === null || b.confidence === null) continue;
    const x0 = x(Math.max(lo, b.lower));
    const x1 = x(Math.min(1, b.upper));
    const w = Math.max(1, x1 - x0 - 1);
    const tip = `[${b.lower.toFixed(2)}, ${b.upper.toFixed(2)}): ${b.count} rows (${((100 * b.count) / Math.max(1, total)).toFixed(1)}%), mean confidence ${b.confidence.toFixed(3)}, accuracy ${b.accuracy.toFixed(3)}`;
    const ya = y(b.accuracy);
    const yc = y(b.confidence);
    bars.push(`<rect class="bar" x="${num(x0 + 0.5)}" y="${num(ya)}" width="${num(w)}" height="${num(y(0) - ya)}"><title>${esc(tip)}</title></rect>`);
    // Overconfidence shows as a shaded gap above the bar; the confidence tick reads both ways.
    if (yc < ya - 0.5) gaps.push(`<rect class="gap" x="${num(x0 + 0.5)}" y="${num(yc)}" width="${num(w)}" height="${num(ya - yc)}"/>`);
    marks.push(`<line class="conf" x1="${num(x0 + 0.5)}" x2="${num(x0 + 0.5 + w)}" y1="${num(yc)}" y2="${num(yc)}"/>`);
    const h = Math.max(1, (b.count / maxCount) * (STRIP_H - 2));
    counts.push(`<rect class="count" x="${num(x0 + 0.5)}" y="${num(strip.top + STRIP_H - h)}" width="${num(w)}" height="${num(h)}"><title>${esc(tip)}</title></rect>`);
  }
  // The axis starts at the floor, so the floor gets a tick even when it is off the step.
  const xTicks = [...new Set([lo, ...ticks(lo, 1, 1 - lo <= 0.6 ? 7 : 5)])];
  const body = [
    yAxis(PLOT, y, ticks(0, 1, 5), (v) => v.toFixed(1), 'accuracy'),
    xAxis({ ...PLOT, height: PLOT.height + STRIP_GAP + STRIP_H }, x, xTicks, (v) => v.toFixed(1), 'confidence (top label)', 34),
    frameRect(PLOT),
    frameRect(strip),
    `<text class="strip-label" x="${num(PLOT.left - 6)}" y="${num(strip.top + STRIP_H / 2)}" text-anchor="end" dominant-baseline="middle">rows</text>`,
    `<g class="bars">${bars.join('')}</g>`,
    `<g class="gaps">${gaps.join('')}</g>`,
    `<g class="marks">${marks.join('')}</g>`,
    `<line class="diag" x1="${num(x(lo))}" y1="${num(y(lo))}" x2="${num(x(1))}" y2="${num(y(1))}"/>`,
    `<g class="counts">${counts.join('')}</g>`,
  ].join('');
  return svg('chart reliability', W, H, `reliability diagram of ${name}`, body);
}
