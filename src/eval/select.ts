import { BertfuseError } from '../errors.js';
import { pairedDifference, type BootstrapSamples, type Interval } from './bootstrap.js';
import type { EvalRow, Selection } from './result.js';

/** Without intervals (bootstrap off), log-losses closer than this are a tie, decided by cost. */
export const LOG_LOSS_TIE = 1e-4;
/** Default largest loss barrier (merged log-loss − members' mean log-loss, in nats) a merge may have to compete. */
export const DEFAULT_MAX_BARRIER = 0.05;
export const SELECTION_RULE =
  'the cheapest candidate, unless a costlier one has lower log-loss by more than --min-gain (default 0) across the whole paired-bootstrap interval of the difference; only candidates within --max-cost; merges whose loss barrier exceeds --max-barrier are left out';

export interface SelectOptions {
  /** The rounds behind the table's intervals; without them point estimates decide (ties within LOG_LOSS_TIE). */
  readonly bootstrap?: BootstrapSamples | null;
  /** A costlier candidate must lower log-loss by more than this (nats) at the interval's worst end. */
  readonly minGain?: number;
  /** Candidates costing more than this (relative to the cheapest member) are not considered. */
  readonly maxCost?: number;
  /** Merges whose loss barrier exceeds this are not considered (they fall back to fusion). */
  readonly maxBarrier?: number;
}

/**
 * Marks the accuracy-versus-cost Pareto front: a row is on it when no other row is at least as
 * accurate and at most as costly, and strictly better in one of the two.
 */
export function paretoFront(rows: readonly { readonly accuracy: number; readonly cost: number }[]): boolean[] {
  return rows.map((r, i) => !rows.some((o, j) => j !== i && o.accuracy >= r.accuracy && o.cost <= r.cost && (o.accuracy > r.accuracy || o.cost < r.cost)));
}

const fmtCost = (c: number): string => `${c.toFixed(2)}×`;
const signed = (x: number): string => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(4)}`;
const fmtInterval = (i: Interval): string => `[${signed(i.low)}, ${signed(i.high)}]`;

/** How much lower `costly`'s log-loss is than `pick`'s, at the worst end of the interval (or the point estimate). */
interface Gain {
  readonly point: number;
  /** Paired interval of log-loss(costly) − log-loss(pick): wholly below zero means a real gain. */
  readonly interval: Interval | null;
  /** The gain that must exceed the threshold: the interval's smallest gain, or the point gain. */
  readonly assured: number;
}

function gainOver(costly: EvalRow, pick: EvalRow, boot: BootstrapSamples | null | undefined): Gain {
  const point = pick.logLoss - costly.logLoss;
  if (!boot || !boot.samples.has(costly.name) || !boot.samples.has(pick.name)) return { point, interval: null, assured: point };
  const d = pairedDifference(boot, costly.name, pick.name, 'logLoss').interval;
  return { point, interval: d, assured: -d.high };
}

/**
 * Picks the row to export among the candidates (fusion rows, merges) under SELECTION_RULE. The
 * candidates are walked from cheapest to costliest (equal cost: lower log-loss first); a costlier
 * one takes over only when its gain over the current pick is beyond the interval (and --min-gain),
 * so noise never buys cost. Members alone are never exported, but the reason says so when one beats
 * every candidate. The reason is one line.
 */
export function selectBest(rows: readonly EvalRow[], opts: SelectOptions = {}): Selection {
  const boot = opts.bootstrap ?? null;
  const minGain = opts.minGain ?? 0;
  const maxBarrier = opts.maxBarrier ?? DEFAULT_MAX_BARRIER;
  const candidates = rows.filter((r) => r.kind !== 'member');
  if (candidates.length === 0) throw new Error('selectBest: no candidates');
  const notes: string[] = [];
  const barred = candidates.filter((r) => r.barrier !== undefined && r.barrier > maxBarrier);
  if (barred.length > 0) notes.push(`left out for a loss barrier above ${maxBarrier}: ${barred.map((r) => `${r.name} (${signed(r.barrier!)})`).join(', ')}`);
  const overBudget = opts.maxCost !== undefined ? candidates.filter((r) => r.cost > opts.maxCost!) : [];
  if (overBudget.length > 0) notes.push(`over --max-cost ${fmtCost(opts.maxCost!)}: ${overBudget.map((r) => r.name).join(', ')}`);
  const eligible = candidates.filter((r) => !barred.includes(r) && !overBudget.includes(r)).sort((a, b) => a.cost - b.cost || a.logLoss - b.logLoss);
  if (eligible.length === 0) {
    const cheapest = [...candidates].sort((a, b) => a.cost - b.cost)[0]!;
    throw new BertfuseError('E_USAGE', `no candidate is left to export (${notes.join('; ')}); the cheapest is ${cheapest.name} at ${fmtCost(cheapest.cost)}: raise --max-cost or --max-barrier`);
  }
  const threshold = boot ? minGain : Math.max(minGain, LOG_LOSS_TIE);
  let pick = eligible[0]!;
  let takeover: { from: EvalRow; gain: Gain } | null = null;
  for (const c of eligible.slice(1)) {
    if (c.cost === pick.cost) continue; // same cost: the sort already put the lower log-loss first
    const gain = gainOver(c, pick, boot);
    if (gain.assured > threshold) {
      takeover = { from: pick, gain };
      pick = c;
    }
  }
  // The costlier candidate that came closest to taking over, for the reason line.
  const rivals = eligible.filter((r) => r.cost > pick.cost).map((r) => ({ r, gain: gainOver(r, pick, boot) }));
  const closest = rivals.sort((a, b) => b.gain.assured - a.gain.assured)[0];
  const how = boot ? `${Math.round(boot.level * 100)}% interval` : `tie margin ${LOG_LOSS_TIE}`;
  const delta = (g: Gain): string => `Δlog-loss ${signed(-g.point)}${g.interval ? ` ${fmtInterval(g.interval)}` : ''}`;
  let reason = `${pick.name} (${fmtCost(pick.cost)}, log-loss ${pick.logLoss.toFixed(4)})`;
  if (takeover) reason += `: beats the cheaper ${takeover.from.name} beyond the ${how}${minGain > 0 ? ` and --min-gain ${minGain}` : ''} (${delta(takeover.gain)})`;
  else reason += eligible.length === 1 ? ': the only candidate left' : ': the cheapest candidate';
  if (closest) reason += `; no costlier candidate is better beyond the ${how} (closest: ${closest.r.name}, ${delta(closest.gain)})`;
  if (notes.length > 0) reason += `; ${notes.join('; ')}`;
  const bestMember = rows.filter((r) => r.kind === 'member').sort((a, b) => a.logLoss - b.logLoss)[0];
  if (bestMember && bestMember.logLoss < pick.logLoss) reason += `; note: member ${bestMember.name} alone scores lower log-loss (${bestMember.logLoss.toFixed(4)})`;
  return { rule: SELECTION_RULE, winner: pick.name, reason };
}
