import { BertfuseError } from '../errors.js';
import type { GraphBuilder } from '../graph/onnx-builder.js';
import { fitMixtureWeights } from './mixture-weights.js';
import { logMixture, logSoftmax, weightedSum } from './log-probs.js';
import { emitLogMixture, emitLogSoftmax, emitWeightedSum } from './onnx-ops.js';
import { checkFit, checkOutputs, ParamReader } from './params.js';
import { fitTemperature, memberTemperatures } from './temperature.js';
import type { EmitInputs, FitContext, MemberOutputs, ParamSpec } from './types.js';

/**
 * Pooling of member distributions, shared by `mean`, `weighted` and `geometric_mean`:
 *   arithmetic:  p = Σ_m w_m · softmax(z_m / T_m)
 *   geometric:   p ∝ exp(Σ_m w_m · log softmax(z_m / T_m))
 * then optionally one more temperature on the pooled log-probabilities: softmax(log p / T_post).
 * Per-member temperatures T_m are 1 unless `calibrate` fits them.
 */
export type PoolKind = 'arithmetic' | 'geometric';

export type PoolParams = {
  readonly weights: number[];
  readonly temperatures: number[];
  readonly postTemperature: number;
};

export const CALIBRATION_OPTIONS: readonly ParamSpec[] = [
  { name: 'calibrate', type: 'boolean', default: false, description: 'fit one temperature per member (NLL on the fit data) before pooling' },
  { name: 'post_temperature', type: 'boolean', default: false, description: 'fit one more temperature on the pooled log-probabilities' },
];

export function fitPool(kind: PoolKind, method: string, outputs: MemberOutputs, ctx: FitContext, o: { calibrate: boolean; postTemperature: boolean; fitWeights: boolean; fixedWeights?: readonly number[] | null }): PoolParams {
  checkFit(method, outputs, ctx.labels);
  const M = outputs.members.length;
  const temperatures = memberTemperatures(outputs, ctx, o.calibrate);
  const logps = outputs.members.map((m, i) => logSoftmax(m.logits, outputs.k, temperatures[i]));
  const weights = o.fixedWeights ? normaliseWeights(method, o.fixedWeights, M) : o.fitWeights ? fitMixtureWeights(logps, ctx.labels, outputs.k) : new Array<number>(M).fill(1 / M);
  const pooled = pool(kind, logps, weights);
  const postTemperature = o.postTemperature ? fitTemperature(pooled, ctx.labels, outputs.k) : 1;
  return { weights, temperatures, postTemperature };
}

/** Fused log-probabilities. */
export function applyPool(kind: PoolKind, method: string, outputs: MemberOutputs, params: PoolParams): Float64Array {
  const p = readPool(method, params, outputs.members.length);
  checkOutputs(method, outputs);
  const logps = outputs.members.map((m, i) => logSoftmax(m.logits, outputs.k, p.temperatures[i]));
  const pooled = pool(kind, logps, p.weights);
  return p.postTemperature === 1 && kind === 'arithmetic' ? pooled : logSoftmax(pooled, outputs.k, p.postTemperature);
}

export function emitPool(kind: PoolKind, method: string, g: GraphBuilder, inputs: EmitInputs, params: PoolParams): string {
  const p = readPool(method, params, inputs.logits.length);
  const logps = inputs.logits.map((z, m) => emitLogSoftmax(g, z, p.temperatures[m], `${method}_logp${m}`));
  const pooled = kind === 'arithmetic' ? emitLogMixture(g, logps, p.weights, `${method}_mixture`) : emitWeightedSum(g, logps, p.weights, `${method}_logsum`);
  return p.postTemperature === 1 && kind === 'arithmetic' ? pooled : emitLogSoftmax(g, pooled, p.postTemperature, `${method}_fused`);
}

/**
 * User-fixed weights (`weights=0.6,0.4`, as scikit-learn's VotingClassifier(weights=…)): one per
 * member, finite, non-negative, not all zero; scaled to sum to 1.
 */
export function parseFixedWeights(method: string, spec: string): number[] | null {
  if (spec.trim() === '') return null;
  const parts = spec.split(',').map((w) => w.trim());
  const ws = parts.map((w) => (/^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(w) ? Number(w) : NaN));
  const bad = parts.find((_, i) => !Number.isFinite(ws[i]!) || ws[i]! < 0);
  if (bad !== undefined) throw new BertfuseError('E_BAD_RECIPE', `fusion method "${method}": weights must be finite numbers ≥ 0, got "${bad}" in "${spec}"`);
  return ws;
}

function normaliseWeights(method: string, ws: readonly number[], M: number): number[] {
  if (ws.length !== M) throw new BertfuseError('E_BAD_RECIPE', `fusion method "${method}": weights needs one number per member (${M}), got ${ws.length}`);
  const sum = ws.reduce((a, b) => a + b, 0);
  if (!(sum > 0)) throw new BertfuseError('E_BAD_RECIPE', `fusion method "${method}": weights are all zero; give at least one member a positive weight`);
  return ws.map((w) => w / sum);
}

function pool(kind: PoolKind, logps: readonly Float64Array[], weights: readonly number[]): Float64Array {
  // The geometric pool is left unnormalised; callers renormalise it with a log-softmax.
  return kind === 'arithmetic' ? logMixture(logps, weights) : weightedSum(logps, weights);
}

function readPool(method: string, params: PoolParams, M: number): PoolParams {
  const r = new ParamReader(method, params);
  const weights = r.numbers('weights', M, { nonNegative: true });
  if (Math.abs(weights.reduce((a, b) => a + b, 0) - 1) > 1e-6) r.fail('weights', 'non-negative and sum to 1');
  return {
    weights,
    temperatures: r.numbers('temperatures', M, { positive: true }),
    postTemperature: r.number('postTemperature', { positive: true }),
  };
}
