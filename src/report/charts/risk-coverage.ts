import type { CoveragePoint } from '../../eval/result.js';
import { esc, num } from '../html.js';
import { frameRect, linear, niceExtent, svg, ticks, xAxis, yAxis, type Frame } from './scale.js';

const W = 290;
const H = 230;
const PLOT: Frame = { left: 52, top: 10, width: 222, height: 170 };

/**
 * A risk–coverage curve (selective prediction): answering only the most confident rows, the
 * accuracy on those rows (y) at each share of rows answered (x). A dashed line marks the accuracy
 * when every row is answered; the curve's rise to the left is what abstaining buys. The y axis is
 * shared by every figure of one report (`yLow`), so curves compare at a glance.
 */
export function riskCoverageChart(name: string, points: readonly CoveragePoint[], yLow: number): string {
  const x = linear([0, 1], [PLOT.left, PLOT.left + PLOT.width]);
  const y = linear([yLow, 1], [PLOT.top + PLOT.height, PLOT.top]);
  const path = points.map((p, i) => `${i === 0 ? 'M' : 'L'}${num(x(p.coverage))} ${num(y(p.accuracy))}`).join('');
  const full = points[points.length - 1];
  const dots = points.map((p) => `<circle class="pt" cx="${num(x(p.coverage))}" cy="${num(y(p.accuracy))}" r="2.2"><title>${esc(`${(100 * p.coverage).toFixed(0)}% of rows answered: accuracy ${(100 * p.accuracy).toFixed(2)}%`)}</title></circle>`);
  const body = [
    yAxis(PLOT, y, ticks(yLow, 1, 5), (v) => `${Math.round(v * 100)}%`, 'accuracy on answered rows'),
    xAxis(PLOT, x, ticks(0, 1, 5), (v) => `${Math.round(v * 100)}%`, 'coverage (rows answered)'),
    frameRect(PLOT),
    full ? `<line class="full" x1="${num(x(0))}" x2="${num(x(1))}" y1="${num(y(full.accuracy))}" y2="${num(y(full.accuracy))}"/>` : '',
    `<path class="curve" d="${path}"/>`,
    `<g class="pts">${dots.join('')}</g>`,
  ].join('');
  return svg('chart risk-coverage', W, H, `risk-coverage curve of ${name}`, body);
}

/** The lowest accuracy any curve reaches, rounded down to a tenth (the shared y axis floor). */
export function riskCoverageFloor(curves: readonly (readonly CoveragePoint[])[]): number {
  const lows = curves.flatMap((c) => c.map((p) => p.accuracy));
  if (lows.length === 0) return 0;
  return Math.max(0, niceExtent(Math.min(...lows), 1, 0.1)[0]);
}
