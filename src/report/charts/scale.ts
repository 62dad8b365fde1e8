import { esc, num } from '../html.js';

/** A linear map from data values to pixels. */
export interface Scale {
  (v: number): number;
  readonly domain: readonly [number, number];
  readonly range: readonly [number, number];
}

export function linear(domain: readonly [number, number], range: readonly [number, number]): Scale {
  const [d0, d1] = domain;
  const [r0, r1] = range;
  const span = d1 - d0 || 1;
  const f = (v: number): number => r0 + ((v - d0) / span) * (r1 - r0);
  return Object.assign(f, { domain, range });
}

/** Round tick values (steps of 1, 2 or 5 × 10^n) covering [lo, hi], about `count` of them. */
export function ticks(lo: number, hi: number, count: number): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  // Work in whole steps so 0.1 + 0.2 never shows up as 0.30000000000000004.
  for (let i = Math.ceil(lo / step - 1e-9); i * step <= hi + step * 1e-9; i++) out.push(Number((i * step).toPrecision(12)));
  return out;
}

/** Extends [lo, hi] outward to whole multiples of `step`. */
export function niceExtent(lo: number, hi: number, step: number): [number, number] {
  return [Math.floor(lo / step + 1e-9) * step, Math.ceil(hi / step - 1e-9) * step];
}

export interface Frame {
  readonly left: number;
  readonly top: number;
  readonly width: number;
  readonly height: number;
}

/** Horizontal grid lines, tick labels on the left and a rotated axis title. */
export function yAxis(frame: Frame, y: Scale, values: readonly number[], format: (v: number) => string, title: string): string {
  const x0 = frame.left;
  const parts = values.map((v) => {
    const py = num(y(v));
    return `<line class="grid" x1="${num(x0)}" x2="${num(x0 + frame.width)}" y1="${py}" y2="${py}"/><text class="tick" x="${num(x0 - 6)}" y="${py}" text-anchor="end" dominant-baseline="middle">${esc(format(v))}</text>`;
  });
  const cx = frame.left - 38;
  const cy = frame.top + frame.height / 2;
  parts.push(`<text class="axis-title" transform="translate(${num(cx)} ${num(cy)}) rotate(-90)" text-anchor="middle">${esc(title)}</text>`);
  return `<g class="axis y">${parts.join('')}</g>`;
}

/** Vertical grid lines, tick labels below and an axis title under them. */
export function xAxis(frame: Frame, x: Scale, values: readonly number[], format: (v: number) => string, title: string, titleOffset = 32): string {
  const y0 = frame.top + frame.height;
  const parts = values.map((v) => {
    const px = num(x(v));
    return `<line class="grid" x1="${px}" x2="${px}" y1="${num(frame.top)}" y2="${num(y0)}"/><text class="tick" x="${px}" y="${num(y0 + 14)}" text-anchor="middle">${esc(format(v))}</text>`;
  });
  parts.push(`<text class="axis-title" x="${num(frame.left + frame.width / 2)}" y="${num(y0 + titleOffset)}" text-anchor="middle">${esc(title)}</text>`);
  return `<g class="axis x">${parts.join('')}</g>`;
}

export function frameRect(frame: Frame): string {
  return `<rect class="frame" x="${num(frame.left)}" y="${num(frame.top)}" width="${num(frame.width)}" height="${num(frame.height)}"/>`;
}

/** An inline SVG element with an accessible name. */
export function svg(cls: string, width: number, height: number, label: string, body: string): string {
  return `<svg class="${cls}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${esc(label)}">${body}</svg>`;
}
