import { renderTable } from '../util/table.js';
import type { Interval } from './bootstrap.js';
import type { EvalResult, EvalRow, ExtraSet, VersusBestMember } from './result.js';

/** Text for people (the CLI prints it; the library only builds it). */

const pct = (x: number): string => `${(100 * x).toFixed(2)}%`;
/** Compact interval: the half-width of the percentile interval (the JSON keeps both ends). */
const pm = (i: Interval | undefined, scale: number, digits: number): string => (i ? ` ±${((scale * (i.high - i.low)) / 2).toFixed(digits)}` : '');
const pValue = (p: number): string => (p < 0.001 ? 'p<.001' : `p=${p.toFixed(3).replace(/^0/, '')}`);

/** "+1.4 pts p=.031 / −0.012 p=.004": accuracy (McNemar) and log-loss (bootstrap) against the best member. */
function versus(v: VersusBestMember | undefined): string {
  if (!v) return '';
  const acc = `${v.accuracy.difference >= 0 ? '+' : '−'}${Math.abs(100 * v.accuracy.difference).toFixed(1)} pts ${pValue(v.accuracy.p)}`;
  const ll = `${v.logLoss.difference >= 0 ? '+' : '−'}${Math.abs(v.logLoss.difference).toFixed(3)} ${pValue(v.logLoss.p)}`;
  return `${acc} / ${ll}`;
}

interface TableRow {
  readonly name: string;
  readonly kind: string;
  readonly accuracy: number;
  readonly macroF1: number;
  readonly logLoss: number;
  readonly ece: number;
  readonly cost: number;
  readonly intervals?: EvalRow['intervals'];
}

function scoreCells(x: TableRow): string[] {
  const i = x.intervals;
  return [pct(x.accuracy) + pm(i?.accuracy, 100, 2), x.macroF1.toFixed(4) + pm(i?.macroF1, 1, 4), x.logLoss.toFixed(4) + pm(i?.logLoss, 1, 4), x.ece.toFixed(4) + pm(i?.ece, 1, 4), `${x.cost.toFixed(2)}×`];
}

/** The side-by-side table: one row per member and per method, each score with its interval (±). */
export function evalTable(r: EvalResult): string {
  const withTests = r.rows.some((x) => x.vsBestMember);
  const header = ['model', 'kind', 'accuracy', 'macro-F1', 'log-loss', 'ECE', 'cost', 'pareto', ...(withTests ? ['vs best member (acc / log-loss)'] : []), 'scored'];
  const rows = r.rows.map((x) => {
    const escalated = x.stats && x.stats['fallback_fraction'] !== undefined ? ` (${pct(x.stats['fallback_fraction'])} escalated)` : '';
    const int8 = x.stats && x.stats['int8_accuracy_change'] !== undefined ? ` (int8: ${x.stats['int8_accuracy_change'] >= 0 ? '+' : '−'}${Math.abs(100 * x.stats['int8_accuracy_change']).toFixed(2)} pts vs float)` : '';
    const note = escalated + int8;
    const barrier = x.barrier !== undefined ? ` (barrier ${x.barrier >= 0 ? '+' : '−'}${Math.abs(x.barrier).toFixed(3)})` : '';
    return [x.name + (r.selection?.winner === x.name ? ' ←' : ''), x.kind, ...scoreCells(x), x.pareto ? '*' : '', ...(withTests ? [versus(x.vsBestMember)] : []), x.scoring + note + barrier];
  });
  return renderTable(header, rows, { right: [false, false, true, true, true, true, true, false, ...(withTests ? [false] : []), false] });
}

/** One block per further scoring set (same columns, no tests), then the robustness summary. */
export function extraSetTables(r: EvalResult): string[] {
  const blocks = r.extraSets.map((set: ExtraSet) => {
    const rows = set.rows.map((x) => [x.name, x.kind, ...scoreCells(x)]);
    return `scored on ${set.n} rows of ${set.path}\n` + renderTable(['model', 'kind', 'accuracy', 'macro-F1', 'log-loss', 'ECE', 'cost'], rows, { right: [false, false, true, true, true, true, true] });
  });
  if (r.robustness.length === 0) return blocks;
  const first = r.data.eval ?? r.data.fit;
  const paths = r.extraSets.map((s) => s.path);
  const rows = r.robustness.map((x) => [x.name, ...paths.map((p) => {
    const s = x.sets.find((e) => e.path === p);
    return s ? `${s.accuracyDrop >= 0 ? '−' : '+'}${Math.abs(100 * s.accuracyDrop).toFixed(2)} pts / ${s.logLossRise >= 0 ? '+' : '−'}${Math.abs(s.logLossRise).toFixed(4)}` : '–';
  })]);
  blocks.push(`robustness: accuracy and log-loss change from ${first.path}\n` + renderTable(['model', ...paths], rows, { right: [false, ...paths.map(() => true)] }));
  return blocks;
}

/** The lines under the table: what was scored, how, agreement, oracle, selection. */
export function evalSummary(r: EvalResult): string[] {
  const scored = r.data.eval ?? r.data.fit;
  const how = r.protocol.kind === 'out-of-fold' ? `fitted methods scored out-of-fold (${r.protocol.folds} folds, seed ${r.protocol.seed})` : `methods fit on ${r.data.fit.path} (${r.data.fit.n} rows), scored here`;
  const lines = [
    `scored on ${scored.n} rows of ${scored.path}; ${how}`,
    `members agree on ${pct(r.agreement.all)} of rows (${r.disagreements.length} disagreements); oracle accuracy (any member right) ${pct(r.oracleAccuracy)}`,
    `cost = inference FLOPs relative to the cheapest member on these rows; pareto * = best accuracy for its cost`,
  ];
  if (r.uncertainty) {
    lines.push(
      `± = half-width of the ${Math.round(100 * r.uncertainty.level)}% paired-bootstrap interval (${r.uncertainty.resamples} rounds, seed ${r.uncertainty.seed}); vs best member: accuracy difference with exact McNemar p, log-loss difference with bootstrap p (one-sided, lower is better)`,
    );
  }
  if (r.selection) lines.push(`selected ${r.selection.reason} [rule: ${r.selection.rule}]`);
  return lines;
}

/** How members were matched: label order and tokenizer group of each. */
export function membersSummary(r: EvalResult): string[] {
  return r.members.map((m) => {
    const same = m.ownLabels.every((l, i) => l === r.labels[i]);
    const order = same ? `labels ${m.ownLabels.join(', ')}` : `labels ${m.ownLabels.join(', ')} → aligned by name to ${r.labels.join(', ')}`;
    return `member ${m.name}: ${m.source}, tokenizer group ${m.group}, ${order}, ${m.meanTokens.toFixed(1)} tokens/row`;
  });
}

/** Every method with its declared options, for `--help` (the specs are data on each method). */
export function methodsHelp(methods: readonly { readonly name: string; readonly summary: string; readonly options: readonly { readonly name: string; readonly type: string; readonly default: unknown; readonly description: string; readonly choices?: readonly string[] }[] }[]): string {
  const lines = ['Fusion methods and their parameters (-p/--param name=value):'];
  for (const m of methods) {
    lines.push(`  ${m.name}: ${m.summary}`);
    for (const o of m.options) {
      const kind = o.choices ? o.choices.join('|') : o.type;
      lines.push(`      ${o.name}=<${kind}>  ${o.description} (default ${JSON.stringify(o.default)})`);
    }
  }
  return lines.join('\n');
}
