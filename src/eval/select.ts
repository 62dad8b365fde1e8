import type { EvalRow, Selection } from './result.js';

/** Log-losses closer than this are a tie, decided by cost. */
export const LOG_LOSS_TIE = 1e-4;
export const SELECTION_RULE = `lowest out-of-sample log-loss; ties (within ${LOG_LOSS_TIE}) go to the cheaper`;

/**
 * Marks the accuracy-versus-cost Pareto front: a row is on it when no other row is at least as
 * accurate and at most as costly, and strictly better in one of the two.
 */
export function paretoFront(rows: readonly { readonly accuracy: number; readonly cost: number }[]): boolean[] {
  return rows.map((r, i) => !rows.some((o, j) => j !== i && o.accuracy >= r.accuracy && o.cost <= r.cost && (o.accuracy > r.accuracy || o.cost < r.cost)));
}

const fmtCost = (c: number): string => `${c.toFixed(2)}×`;

/**
 * Picks the row to export among the candidates (fusion rows, later merges) under SELECTION_RULE;
 * equal cost too keeps the earlier candidate (registry order). Members alone are never exported,
 * but the reason says so when one beats every candidate.
 */
export function selectBest(rows: readonly EvalRow[]): Selection {
  const candidates = rows.filter((r) => r.kind !== 'member');
  if (candidates.length === 0) throw new Error('selectBest: no candidates');
  const best = candidates.reduce((b, r) => (r.logLoss < b.logLoss ? r : b));
  const tied = candidates.filter((r) => r.logLoss - best.logLoss <= LOG_LOSS_TIE);
  const winner = tied.reduce((w, r) => (r.cost < w.cost ? r : w));
  const others = candidates.filter((r) => r !== winner).sort((a, b) => a.logLoss - b.logLoss);
  let reason: string;
  if (winner !== best) {
    reason = `log-loss ${winner.logLoss.toFixed(4)} ties with ${best.name} (${best.logLoss.toFixed(4)}, within ${LOG_LOSS_TIE}) and costs less (${fmtCost(winner.cost)} vs ${fmtCost(best.cost)})`;
  } else if (tied.length > 1) {
    const rivals = tied.filter((r) => r !== winner);
    reason = `log-loss ${winner.logLoss.toFixed(4)}, tied within ${LOG_LOSS_TIE} with ${rivals.map((r) => r.name).join(', ')}, which ${rivals.length > 1 ? 'cost' : 'costs'} no less (${fmtCost(winner.cost)})`;
  } else {
    const next = others[0];
    reason = next ? `lowest log-loss ${winner.logLoss.toFixed(4)} (next: ${next.name} ${next.logLoss.toFixed(4)})` : `the only candidate (log-loss ${winner.logLoss.toFixed(4)})`;
  }
  const bestMember = rows.filter((r) => r.kind === 'member').sort((a, b) => a.logLoss - b.logLoss)[0];
  if (bestMember && bestMember.logLoss < winner.logLoss) reason += `; note: member ${bestMember.name} alone scores lower log-loss (${bestMember.logLoss.toFixed(4)})`;
  return { rule: SELECTION_RULE, winner: winner.name, reason };
}
