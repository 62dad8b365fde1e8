import { confusionMatrix } from './charts/confusion.js';
import { costChart, marker } from './charts/cost.js';
import { reliabilityDiagram } from './charts/reliability.js';
import { riskCoverageChart, riskCoverageFloor } from './charts/risk-coverage.js';
import { esc, fixed, pct } from './html.js';
import type { ReportModel, ReportRow } from './model.js';
import { CSS } from './style.js';
import { agreementTable, disagreementTable, membersTable, metricsTable } from './tables.js';

export interface RenderOptions {
  /** At most this many disagreement rows are listed (the page says how many were left out). */
  readonly maxRows?: number;
  readonly title?: string;
}

/** Marks a page as bertfuse's, so a later `report --out` may replace it (and nothing else). */
export const REPORT_GENERATOR = 'bertfuse report';

export const DEFAULT_MAX_ROWS = 500;

/**
 * No script, no fetch: the policy makes the browser refuse anything but the inline stylesheet, so
 * even a text that slipped past escaping could neither run nor phone home.
 */
const CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

function legendSwatch(body: string, w = 16, h = 14): string {
  return `<svg width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" aria-hidden="true">${body}</svg>`;
}

function section(id: string, title: string, body: string): string {
  return `<section id="${id}"><h2>${esc(title)}</h2>${body}</section>`;
}

function caption(r: ReportRow, extra: string): string {
  return `<figcaption><b>${esc(r.name)}</b> <span class="kind">${esc(r.kind)}</span><br><span class="muted">${extra}</span></figcaption>`;
}

function header(m: ReportModel, title: string): string {
  const facts: [string, string][] = [
    ['scored on', `${esc(m.scored.path)} (${m.scored.n} rows)`],
    ['protocol', esc(m.protocol)],
    ['labels', m.labels.map(esc).join(', ')],
    ['members', m.members.map((x) => esc(x.name)).join(', ')],
  ];
  if (m.exported !== null) facts.push(['exported method', esc(m.exported)]);
  return `<header><h1>${esc(title)}</h1><p class="sub">${esc(m.source)}</p><dl class="facts">${facts.map(([k, v]) => `<dt>${k}</dt><dd>${v}</dd>`).join('')}</dl></header>`;
}

function metricsSection(m: ReportModel): string {
  const sel = m.selection ? `<p class="selection"><b>Selected: ${esc(m.selection.winner)}</b> — ${esc(m.selection.reason)}. <span class="muted">Rule: ${esc(m.selection.rule)}.</span></p>` : '';
  const body = [
    sel,
    metricsTable(m),
    `<p class="muted">Bold: the best value of each column. Members are scored on their own outputs; methods never on rows they were fit on.${m.uncertainty ? ` ± is half the width of the ${esc(m.uncertainty)}; hover for both ends.` : ''}</p>`,
    `<div class="two-col"><div><h3>Members</h3>${membersTable(m)}</div><div><h3>Agreement</h3>${agreementTable(m)}</div></div>`,
  ];
  return section('metrics', 'Metrics', body.join(''));
}

function costSection(m: ReportModel, highlight: ReadonlySet<string>): string {
  if (!m.rows.some((r) => r.accuracy !== null)) return section('cost', 'Accuracy versus cost', '<p class="notice">No row has an accuracy to plot.</p>');
  // Each kind's two glyphs, filled (on the front) and hollow (dominated), drawn from the chart's own marker shapes.
  const kinds = [...new Set(['member', ...m.rows.map((r) => r.kind)])];
  const kindName = (kind: string): string => (kind === 'member' ? 'member' : kind === 'fusion' ? 'fusion method' : kind);
  const legend = [
    ...kinds.map((kind) => `<span class="key" data-kind="${esc(kind)}">${legendSwatch(marker(kind, 9, 9, true), 18, 18)}${legendSwatch(marker(kind, 9, 9, false), 18, 18)} ${esc(kindName(kind))}</span>`),
    '<span class="muted">filled: on the Pareto front · hollow: dominated</span>',
    `<span>${legendSwatch('<path class="front" d="M0 7H22"/>', 22)} Pareto front</span>`,
    ...(highlight.size > 0 ? ['<span>★ selected / exported</span>'] : []),
  ];
  const body = `<p class="muted">Every member and method tried. Filled points are on the Pareto front: nothing else is at least as accurate for no more cost.</p><div class="legend cost">${legend.join('')}</div>${costChart(m.rows, highlight)}`;
  return section('cost', 'Accuracy versus cost', `<div class="scroll">${body}</div>`);
}

function reliabilitySection(m: ReportModel): string {
  const figs = m.rows.flatMap((r) => (r.reliability ? [`<figure>${caption(r, `ECE ${fixed(r.ece)} · accuracy ${pct(r.accuracy)}`)}${reliabilityDiagram(r.name, r.reliability, m.labels.length)}</figure>`] : []));
  const legend = [
    `<span>${legendSwatch('<rect x="2" y="2" width="12" height="12" class="bar"/>')} accuracy of the bin's rows</span>`,
    `<span>${legendSwatch('<line x1="1" x2="15" y1="7" y2="7" class="conf"/>')} mean confidence of the bin</span>`,
    `<span>${legendSwatch('<rect x="2" y="2" width="12" height="12" class="gap"/>')} overconfidence (confidence above accuracy)</span>`,
    `<span>${legendSwatch('<path class="diag" d="M0 13L22 1"/>', 22)} perfect calibration</span>`,
    `<span>${legendSwatch('<rect x="2" y="5" width="12" height="9" class="count"/>')} rows per bin</span>`,
  ];
  const body = `<p class="muted">Rows grouped by the probability of their top label (15 equal bins). A calibrated model's bars reach the diagonal; bars below it are overconfident.</p><div class="legend reliability">${legend.join('')}</div><div class="grid-figs">${figs.join('')}</div>`;
  return section('reliability', 'Reliability diagrams', body);
}

function riskCoverageSection(m: ReportModel): string {
  const rows = m.rows.filter((r) => r.riskCoverage && r.riskCoverage.length > 0);
  if (rows.length === 0) return section('risk-coverage', 'Selective prediction', '<p class="notice">This input has no risk–coverage data (it comes from an older bertfuse).</p>');
  const floor = riskCoverageFloor(rows.map((r) => r.riskCoverage!));
  const at = (r: ReportRow, c: number): string => {
    const p = r.riskCoverage!.find((x) => x.coverage >= c - 1e-9);
    return p ? pct(p.accuracy) : '–';
  };
  const figs = rows.map((r) => `<figure>${caption(r, `answering the 50% most confident rows: ${at(r, 0.5)} · 80%: ${at(r, 0.8)} · all: ${pct(r.accuracy)}`)}${riskCoverageChart(r.name, r.riskCoverage!, floor)}</figure>`);
  const legend = [
    `<span>${legendSwatch('<path class="curve" d="M0 11L22 3"/>', 22)} accuracy on the answered rows</span>`,
    `<span>${legendSwatch('<line class="full" x1="0" x2="22" y1="7" y2="7"/>', 22)} accuracy answering every row</span>`,
  ];
  const body = `<p class="muted">If a model may abstain (a cascade's threshold, a human-review queue), it answers its most confident rows first. Each curve gives the accuracy on the rows answered at each coverage; the steeper it rises to the left, the more abstaining helps.</p><div class="legend risk">${legend.join('')}</div><div class="grid-figs">${figs.join('')}</div>`;
  return section('risk-coverage', 'Selective prediction (risk–coverage)', body);
}

function extraSetsSection(m: ReportModel): string {
  const first = m.scored.path;
  const blocks = m.extraSets.map((set) => {
    const body = set.rows.map((r) => {
      const main = m.rows.find((x) => x.name === r.name);
      const drop = main && main.accuracy !== null ? main.accuracy - r.accuracy : null;
      const ci = r.intervals ? `<span class="ci">±${((100 * (r.intervals.accuracy.high - r.intervals.accuracy.low)) / 2).toFixed(2)}</span>` : '';
      return `<tr><td class="name">${esc(r.name)}</td><td>${esc(r.kind)}</td><td class="num">${esc(pct(r.accuracy))}${ci}</td><td class="num">${esc(fixed(r.logLoss))}</td><td class="num">${drop === null ? '–' : `${drop >= 0 ? '−' : '+'}${Math.abs(100 * drop).toFixed(2)} pts`}</td></tr>`;
    });
    return `<h3>${esc(set.path)} <span class="muted">(${set.n} rows)</span></h3><table class="metrics"><thead><tr><th>method</th><th>kind</th><th class="num">accuracy</th><th class="num">log-loss</th><th class="num" title="accuracy on ${esc(first)} minus accuracy here">change from ${esc(first)}</th></tr></thead><tbody>${body.join('')}</tbody></table>`;
  });
  return section('extra-sets', 'Further test sets (robustness)', `<p class="muted">The same members and fitted methods scored on each further set; the last column is the change from the first scored set.</p>${blocks.join('')}`);
}

function confusionSection(m: ReportModel): string {
  const figs = m.rows.flatMap((r) => (r.confusion ? [`<figure>${caption(r, `accuracy ${pct(r.accuracy)} · macro-F1 ${pct(r.macroF1)}`)}${confusionMatrix(r.name, m.labels, r.confusion)}</figure>`] : []));
  return section('confusion', 'Confusion matrices', `<p class="muted">Rows: gold label; columns: predicted. Counts, with the share of the gold row; blue = right, red = wrong, darker = larger share.</p><div class="grid-figs">${figs.join('')}</div>`);
}

function disagreementSection(m: ReportModel, maxRows: number): string {
  const list = m.disagreements ?? [];
  const members = m.members.length;
  const shown = Math.min(maxRows, list.length);
  const intro = `<p class="muted">${list.length} of ${m.scored.n} rows (${pct(m.scored.n > 0 ? list.length / m.scored.n : 0, 1)}) where the ${members} members' top labels differ${shown < list.length ? `; the first ${shown} are listed` : ''}. Each cell: top label and its probability; green when it is the gold label.${m.labels.length > 2 ? ' The full distribution is under it.' : ''}</p>`;
  const body = list.length === 0 ? '<p>The members agree on every row.</p>' : intro + disagreementTable(m, list, maxRows);
  return section('disagreements', 'Where members disagree', body);
}

/**
 * The whole report as one HTML document: inline CSS, inline SVG drawn here, no script, no external
 * resource. Same input, same bytes (no timestamps).
 */
export function renderReport(m: ReportModel, opts: RenderOptions = {}): string {
  const maxRows = opts.maxRows ?? DEFAULT_MAX_ROWS;
  const title = opts.title ?? 'bertfuse report';
  const details = m.disagreements !== null;
  const highlight = new Set([m.selection?.winner, m.exported].filter((x): x is string => typeof x === 'string'));
  const nav = [
    ['metrics', 'Metrics'],
    ['cost', 'Accuracy vs cost'],
    ...(m.extraSets.length > 0 ? [['extra-sets', 'Further test sets']] : []),
    ...(details ? [['reliability', 'Reliability'], ['risk-coverage', 'Risk–coverage'], ['confusion', 'Confusion matrices'], ['disagreements', 'Disagreements']] : []),
  ];
  const notice = details
    ? ''
    : `<p class="notice" id="no-details"><b>Per-row details are absent.</b> This combined model folder keeps only summary metrics, so the table and the accuracy-versus-cost chart are shown, but reliability diagrams, confusion matrices and the rows where members disagree cannot be drawn. Run <code>bertfuse eval --json</code> on the same members and data, and report that file.</p>`;
  const sections = [
    metricsSection(m),
    costSection(m, highlight),
    ...(m.extraSets.length > 0 ? [extraSetsSection(m)] : []),
    ...(details ? [reliabilitySection(m), riskCoverageSection(m), confusionSection(m), disagreementSection(m, maxRows)] : []),
  ];
  return [
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${CSP}">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<meta name="generator" content="${REPORT_GENERATOR}">`,
    `<title>${esc(title)} — ${esc(m.source)}</title>`,
    `<style>${CSS}</style></head>`,
    '<body><main>',
    header(m, title),
    `<nav>${nav.map(([id, t]) => `<a href="#${id}">${esc(t!)}</a>`).join('')}</nav>`,
    notice,
    ...sections,
    `<footer>Results from bertfuse${m.toolVersion ? ` ${esc(m.toolVersion)}` : ''}. One self-contained file: no scripts, nothing loaded from the network.</footer>`,
    '</main></body></html>',
    '',
  ].join('\n');
}
