import { seedFor } from '../util/rng.js';
import { DENSITY, INT8_MASK, LAMBDA, WEIGHT, normalizeSpec, rescaleSpec } from './param-specs.js';
import { addElectedMerge, addWeightedSum, rescaleMode, sparseTau, type Sparsification } from './task-vectors.js';
import { BertfuseError } from '../errors.js';
import { boolParam, numParam, type MergeMethod, type MergeParamSpec, type ResolvedParams } from './types.js';

/**
 * mergekit's "generalized task arithmetic": every task-vector method is a sparsification of each
 * τ_i = θ_i − θ_base, optionally a TIES sign consensus, then θ = θ_base + λ·(Σ w_i τ_i)[/ Σ w_i].
 * Each named method (ties.ts, della.ts, …) is one call to this with mergekit's defaults.
 */
export interface GtaDefinition {
  readonly name: string;
  readonly summary: string;
  readonly sparsification: Sparsification | null;
  /** TIES's sign election and disjoint merge. */
  readonly consensus: boolean;
  readonly normalize: boolean;
  readonly rescale: boolean;
  /** Method-specific per-model parameters (breadcrumbs' gamma, DELLA's epsilon). */
  readonly extra?: readonly MergeParamSpec[];
}

/** mergekit refuses keep probabilities outside (0, 1): density ± epsilon must stay inside when 0 < density < 1. */
function checkDellaRange(method: string, tensor: string, modelParams: readonly ResolvedParams[]): void {
  modelParams.forEach((p, m) => {
    const d = numParam(p, 'density');
    const e = numParam(p, 'epsilon');
    if (d > 0 && d < 1 && (d + e >= 1 || d - e <= 0)) {
      throw new BertfuseError('E_BAD_RECIPE', `${method}: models[${m}] has density ${d} ± epsilon ${e} outside (0, 1) at tensor "${tensor}"; choose epsilon < min(density, 1 − density)`);
    }
  });
}

export function gtaMethod(d: GtaDefinition): MergeMethod {
  const usesDensity = d.sparsification !== null;
  return {
    name: d.name,
    summary: d.summary,
    base: 'required',
    minModels: 1,
    maxModels: Infinity,
    params: [
      WEIGHT,
      ...(usesDensity ? [DENSITY] : []),
      ...(d.extra ?? []),
      LAMBDA,
      normalizeSpec(d.normalize, d.consensus ? 'the agreeing entries (disjoint mean)' : 'the sum of task vectors'),
      rescaleSpec(d.rescale),
      INT8_MASK,
    ],
    stats: null,
    merge({ name, shape, tensors, base, params, modelParams, seed }) {
      if (!base) throw new Error(`${d.name} needs a base tensor`);
      if (d.sparsification === 'della') checkDellaRange(d.name, name, modelParams);
      const rescale = rescaleMode(params['rescale'] ?? false);
      const rowLength = shape.length >= 2 ? shape[shape.length - 1]! : base.length;
      const taus = tensors.map((t, m) => {
        const p = modelParams[m]!;
        return sparseTau(d.sparsification, t, base, {
          density: usesDensity ? numParam(p, 'density') : 1,
          rescale,
          seed: seedFor(seed, `member${m}`),
          gamma: typeof p['gamma'] === 'number' ? p['gamma'] : 0,
          epsilon: typeof p['epsilon'] === 'number' ? p['epsilon'] : 0,
          rowLength,
        });
      });
      const weights = modelParams.map((p) => numParam(p, 'weight'));
      const combine = d.consensus ? addElectedMerge : addWeightedSum;
      return { data: combine(base, taus, weights, numParam(params, 'lambda'), boolParam(params, 'normalize')) };
    },
  };
}
