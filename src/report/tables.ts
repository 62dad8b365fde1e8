import type { Disagreement } from '../eval/result.js';
import { costText, esc, fixed, pct } from './html.js';
import type { ReportModel, ReportRow } from './model.js';

type Better = 'high' | 'low';

interface Column {
  readonly head: string;
  readonly title: string;
  readonly value: (r: ReportRow) => number | null;
  readonly text: (v: number | null) => string;
  readonly better: Better;
  /** The row's interval of this score, when it has one. */
  readonly interval?: (r: ReportRow) => { readonly low: number; readonly high: number } | null;
}

const COLUMNS: readonly Column[] = [
  { head: 'accuracy', title: 'share of rows whose top label is the gold label', value: (r) => r.accuracy, text: (v) => pct(v), better: 'high', interval: (r) => r.intervals?.accuracy ?? null },
  { head: 'macro-F1', title: 'unweighted mean of per-label F1', value: (r) => r.macroF1, text: (v) => pct(v), better: 'high', interval: (r) => r.intervals?.macroF1 ?? null },
  { head: 'log-loss', title: 'mean −ln p(gold); lower is better', value: (r) => r.logLoss, text: (v) => fixed(v), better: 'low', interval: (r) => r.intervals?.logLoss ?? null },
  { head: 'ECE', title: 'expected calibration error, 15 confidence bins; lower is better', value: (r) => r.ece, text: (v) => fixed(v), better: 'low', interval: (r) => r.intervals?.ece ?? null },
  { head: 'cost', title: 'relative inference cost (cheapest member = 1×)', value: (r) => r.cost, text: (v) => (v === null ? '–' : costText(v)), better: 'low' },
];

function best(rows: readonly ReportRow[], c: Column): number | null {
  const vs = rows.map(c.value).filter((v): v is number => v !== null);
  if (vs.length === 0) return null;
  return c.better === 'high' ? Math.max(...vs) : Math.min(...vs);
}

/** One line per member and method; the best value of each column in bold. */
export function metricsTable(m: ReportModel): string {
  const bests = COLUMNS.map((c) => best(m.rows, c));
  const head = ['method', 'kind', 'scoring', ...COLUMNS.map((c) => c.head), 'Pareto'];
  const titles = ['', '', 'how its probabilities were obtained', ...COLUMNS.map((c) => c.title), 'on the accuracy-versus-cost Pareto front'];
  const th = head.map((h, i) => `<th${i >= 3 ? ' class="num"' : ''}${titles[i] ? ` title="${esc(titles[i]!)}"` : ''}>${esc(h)}</th>`).join('');
  const body = m.rows.map((r) => {
    const badges = [
      m.selection?.winner === r.name ? '<span class="badge pick" title="picked by the selection rule">★ selected</span>' : '',
      m.exported === r.name ? '<span class="badge export" title="the method this combined model exports">exported</span>' : '',
    ].join('');
    const cells = COLUMNS.map((c, j) => {
      const v = c.value(r);
      const isBest = v !== null && bests[j] !== null && v === bests[j] && m.rows.length > 1;
      const iv = c.interval?.(r) ?? null;
      // The interval as ± its half-width, with both ends in the tooltip (they need not be symmetric).
      const ci = iv ? `<span class="ci" title="interval ${esc(c.text(iv.low))} – ${esc(c.text(iv.high))}">±${esc(c.text((iv.high - iv.low) / 2).replace('%', ''))}</span>` : '';
      return `<td class="num${isBest ? ' best' : ''}">${esc(c.text(v))}${ci}</td>`;
    });
    return `<tr class="${r.kind === 'member' ? 'member' : 'method'}"><td class="name">${esc(r.name)}${badges}</td><td>${esc(r.kind)}</td><td>${esc(r.scoring)}</td>${cells.join('')}<td class="num">${r.pareto ? '●' : ''}</td></tr>`;
  });
  return `<div class="scroll"><table class="metrics"><thead><tr>${th}</tr></thead><tbody>${body.join('')}</tbody></table></div>`;
}

export function membersTable(m: ReportModel): string {
  const rows = m.members.map(
    (x) => `<tr><td class="name">${esc(x.name)}</td><td class="path">${esc(x.source)}</td><td class="num">${x.cost === null ? '–' : esc(costText(x.cost))}</td><td class="num">${x.meanTokens === null ? '–' : x.meanTokens.toFixed(1)}</td></tr>`,
  );
  return `<table class="members"><thead><tr><th>member</th><th>source</th><th class="num">cost</th><th class="num" title="mean tokens per row with its own tokenizer">mean tokens</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

/** How often members agree, and how often at least one of them is right. */
export function agreementTable(m: ReportModel): string {
  const rows = [
    `<tr><td>all members predict the same label</td><td class="num">${pct(m.agreement.all)}</td></tr>`,
    ...(m.agreement.pairs ?? []).map((p) => `<tr><td>${esc(p.a)} and ${esc(p.b)} agree</td><td class="num">${pct(p.rate)}</td></tr>`),
    `<tr><td title="rows where at least one member is right: an upper bound for any way of choosing between members">oracle accuracy (some member is right)</td><td class="num">${pct(m.oracleAccuracy)}</td></tr>`,
  ];
  return `<table class="agreement"><tbody>${rows.join('')}</tbody></table>`;
}

function argmax(p: readonly number[]): number {
  let b = 0;
  for (let j = 1; j < p.length; j++) if (p[j]! > p[b]!) b = j;
  return b;
}

function probCell(p: readonly number[] | undefined, labels: readonly string[], gold: string): string {
  if (!p) return '<td class="prob">–</td>';
  const top = argmax(p);
  const right = labels[top] === gold;
  const dist = labels.map((l, j) => `${l} ${p[j]!.toFixed(3)}`).join(' · ');
  const detail = labels.length > 2 ? `<span class="dist">${esc(dist)}</span>` : '';
  return `<td class="prob ${right ? 'right' : 'wrong'}" title="${esc(dist)}"><span class="lab">${esc(labels[top]!)}</span> <span class="p">${p[top]!.toFixed(3)}</span>${detail}</td>`;
}

/**
 * The first column: the row's line in the scored file, so a user can open the file at it. Results
 * written before lines were kept carry only the 0-based row index; then the column says so.
 */
function rowColumn(list: readonly Disagreement[], scoredPath: string): { head: string; cell: (d: Disagreement) => string } {
  if (list.every((d) => d.line !== undefined)) {
    return { head: `<th class="num" title="${esc(`line of ${scoredPath} the row starts on (1-based, header and blank lines counted)`)}">line</th>`, cell: (d) => String(d.line) };
  }
  return { head: '<th class="num" title="0-based row index in the scored data, header excluded (this result predates line numbers)">row</th>', cell: (d) => String(d.index) };
}

/**
 * The rows where members' top labels differ: line, text, gold, then every member's and every fused
 * method's top label with its probability (green when right, red when wrong). The table scrolls
 * inside a box no taller than the window, so its header stays in view (sticky) and the horizontal
 * scrollbar is on screen, not under hundreds of rows.
 */
export function disagreementTable(m: ReportModel, list: readonly Disagreement[], maxRows: number): string {
  const methods = m.rows.filter((r) => r.kind !== 'member').map((r) => r.name);
  const members = m.members.map((x) => x.name);
  const shown = list.slice(0, maxRows);
  const row = rowColumn(shown, m.scored.path);
  const head = [
    `${row.head}<th>text</th><th>gold</th>`,
    ...members.map((n) => `<th class="member-col">${esc(n)}</th>`),
    ...methods.map((n) => `<th class="method-col">${esc(n)}</th>`),
  ].join('');
  const body = shown.map((d) => {
    const text = esc(d.text) + (d.textPair !== null ? `<span class="pair"> ‖ ${esc(d.textPair)}</span>` : '');
    return `<tr><td class="num line">${row.cell(d)}</td><td class="text">${text}</td><td class="gold">${esc(d.gold)}</td>${members.map((n) => probCell(d.members[n], m.labels, d.gold)).join('')}${methods.map((n) => probCell(d.fused[n], m.labels, d.gold)).join('')}</tr>`;
  });
  return `<div class="scroll sticky-head" id="disagreements-scroll"><table class="disagreements"><thead><tr>${head}</tr></thead><tbody>${body.join('')}</tbody></table></div>`;
}
