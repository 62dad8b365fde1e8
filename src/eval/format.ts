import { renderTable } from '../util/table.js';
import type { EvalResult } from './result.js';

/** Text for people (the CLI prints it; the library only builds it). */

const pct = (x: number): string => `${(100 * x).toFixed(2)}%`;

/** The side-by-side table: one row per member and per method. */
export function evalTable(r: EvalResult): string {
  const header = ['model', 'kind', 'accuracy', 'macro-F1', 'log-loss', 'ECE', 'cost', 'pareto', 'scored'];
  const rows = r.rows.map((x) => {
    const note = x.stats && x.stats['fallback_fraction'] !== undefined ? ` (${pct(x.stats['fallback_fraction'])} escalated)` : '';
    return [
      x.name + (r.selection?.winner === x.name ? ' ←' : ''),
      x.kind,
      pct(x.accuracy),
      x.macroF1.toFixed(4),
      x.logLoss.toFixed(4),
      x.ece.toFixed(4),
      `${x.cost.toFixed(2)}×`,
      x.pareto ? '*' : '',
      x.scoring + note,
    ];
  });
  return renderTable(header, rows, { right: [false, false, true, true, true, true, true, false, false] });
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
  if (r.selection) lines.push(`selected ${r.selection.winner}: ${r.selection.reason} [rule: ${r.selection.rule}]`);
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
  const lines = ['Fusion methods and their options (--option name=value):'];
  for (const m of methods) {
    lines.push(`  ${m.name}: ${m.summary}`);
    for (const o of m.options) {
      const kind = o.choices ? o.choices.join('|') : o.type;
      lines.push(`      ${o.name}=<${kind}>  ${o.description} (default ${JSON.stringify(o.default)})`);
    }
  }
  return lines.join('\n');
}
