import { esc, num } from '../html.js';
import { svg } from './scale.js';

const CHAR_W = 6.6;
const MAX_LABEL = 14;

function short(label: string): string {
  return label.length > MAX_LABEL ? label.slice(0, MAX_LABEL - 1) + '…' : label;
}

/**
 * A confusion matrix, rows = gold label, columns = predicted. Shading is the share of the gold
 * row (so a rare label's errors show as clearly as a common one's); the diagonal is blue, errors red.
 */
export function confusionMatrix(name: string, labels: readonly string[], m: readonly (readonly number[])[]): string {
  const k = labels.length;
  const cell = Math.max(14, Math.min(64, Math.floor(240 / k)));
  const labelW = Math.min(MAX_LABEL, Math.max(...labels.map((l) => l.length))) * CHAR_W;
  const rotate = labelW > cell - 4;
  const left = 30 + labelW + 8;
  const top = 26;
  const bottomLabels = rotate ? labelW * 0.75 + 14 : 18;
  const width = left + k * cell + 12;
  const height = top + k * cell + bottomLabels + 6;
  const parts: string[] = [];
  parts.push(`<text class="axis-title" x="${num(left + (k * cell) / 2)}" y="14" text-anchor="middle">predicted</text>`);
  parts.push(`<text class="axis-title" transform="translate(12 ${num(top + (k * cell) / 2)}) rotate(-90)" text-anchor="middle">gold</text>`);
  m.forEach((row, g) => {
    const total = row.reduce((a, b) => a + b, 0);
    const cy = top + g * cell;
    parts.push(`<text class="tick" x="${num(left - 6)}" y="${num(cy + cell / 2)}" text-anchor="end" dominant-baseline="middle">${esc(short(labels[g]!))}<title>${esc(labels[g]!)}</title></text>`);
    row.forEach((c, p) => {
      const share = total > 0 ? c / total : 0;
      const alpha = c === 0 ? 0.03 : 0.1 + 0.85 * share;
      const cx = left + p * cell;
      const kind = g === p ? 'hit' : 'miss';
      const tip = `gold ${labels[g]!}, predicted ${labels[p]!}: ${c} rows (${(100 * share).toFixed(1)}% of gold ${labels[g]!})`;
      parts.push(`<rect class="cell ${kind}" x="${num(cx)}" y="${num(cy)}" width="${cell - 1}" height="${cell - 1}" fill-opacity="${alpha.toFixed(3)}"><title>${esc(tip)}</title></rect>`);
      const ink = alpha > 0.55 ? 'light' : 'dark';
      if (cell >= 40) {
        parts.push(`<text class="cell-count ${ink}" x="${num(cx + cell / 2)}" y="${num(cy + cell / 2 - 6)}" text-anchor="middle" dominant-baseline="middle">${c}</text>`);
        parts.push(`<text class="cell-share ${ink}" x="${num(cx + cell / 2)}" y="${num(cy + cell / 2 + 9)}" text-anchor="middle" dominant-baseline="middle">${(100 * share).toFixed(0)}%</text>`);
      } else if (cell >= 22) {
        parts.push(`<text class="cell-count ${ink}" x="${num(cx + cell / 2)}" y="${num(cy + cell / 2)}" text-anchor="middle" dominant-baseline="middle">${c}</text>`);
      }
    });
  });
  labels.forEach((l, p) => {
    const cx = left + p * cell + cell / 2;
    const cy = top + k * cell + 12;
    const t = `${esc(short(l))}<title>${esc(l)}</title>`;
    parts.push(
      rotate
        ? `<text class="tick" transform="translate(${num(cx)} ${num(cy - 4)}) rotate(-40)" text-anchor="end" dominant-baseline="hanging">${t}</text>`
        : `<text class="tick" x="${num(cx)}" y="${num(cy)}" text-anchor="middle" dominant-baseline="hanging">${t}</text>`,
    );
  });
  return svg('chart confusion', Math.ceil(width), Math.ceil(height), `confusion matrix of ${name}`, parts.join(''));
}
