import { foldSplit, kFolds } from '../data/folds.js';
import { minimizeLbfgs, type Objective } from '../optim/lbfgs.js';
import { BertfuseError } from '../errors.js';
import { option, type ResolvedOptions } from './options.js';
import type { ParamSpec } from './types.js';

/**
 * Multinomial logistic regression (softmax regression) on row-major features X [n, d]: the
 * trainable part of `stack` and `concat`. Parameters are one vector θ = [W (k×d, row-major), b (k)],
 * the objective is
 *   L(θ) = (1/|R|)·Σ_{i∈R} −log softmax(W·x_i + b)_{y_i} + (λ/2)·‖W‖²
 * (the bias is not penalised), and its gradient, written out by hand, is
 *   ∂L/∂W = (1/|R|)·Σ_i (p_i − e_{y_i})·x_iᵀ + λ·W,   ∂L/∂b = (1/|R|)·Σ_i (p_i − e_{y_i}).
 * L is convex, so full-batch L-BFGS from any start finds the optimum.
 */
export interface Features {
  readonly x: Float64Array;
  readonly n: number;
  readonly d: number;
}

export function headObjective(f: Features, labels: ArrayLike<number>, k: number, l2: number, rows: Int32Array | null = null): Objective {
  const { x, d } = f;
  const count = rows ? rows.length : f.n;
  const z = new Float64Array(k);
  return (theta, grad) => {
    grad.fill(0);
    let loss = 0;
    for (let r = 0; r < count; r++) {
      const i = rows ? rows[r]! : r;
      const xi = i * d;
      let mx = -Infinity;
      for (let j = 0; j < k; j++) {
        let s = theta[k * d + j]!;
        const wj = j * d;
        for (let t = 0; t < d; t++) s += theta[wj + t]! * x[xi + t]!;
        z[j] = s;
        mx = Math.max(mx, s);
      }
      let sum = 0;
      for (let j = 0; j < k; j++) sum += Math.exp(z[j]! - mx);
      const lse = mx + Math.log(sum);
      const y = labels[i]!;
      loss += lse - z[y]!;
      for (let j = 0; j < k; j++) {
        const err = Math.exp(z[j]! - lse) - (j === y ? 1 : 0);
        const wj = j * d;
        for (let t = 0; t < d; t++) grad[wj + t] += err * x[xi + t]!;
        grad[k * d + j] += err;
      }
    }
    let penalty = 0;
    for (let p = 0; p < k * d + k; p++) {
      grad[p] /= count;
      if (p < k * d) {
        penalty += theta[p]! * theta[p]!;
        grad[p] += l2 * theta[p]!;
      }
    }
    return loss / count + 0.5 * l2 * penalty;
  };
}

export interface HeadFitOptions {
  readonly l2: number;
  readonly rows?: Int32Array | null;
  /** Warm start (θ); zeros by default. */
  readonly init?: Float64Array;
  readonly maxIterations?: number;
}

/** θ minimising the objective above. */
export function fitHead(f: Features, labels: ArrayLike<number>, k: number, opts: HeadFitOptions): Float64Array {
  const theta0 = opts.init ?? new Float64Array(k * f.d + k);
  const r = minimizeLbfgs(headObjective(f, labels, k, opts.l2, opts.rows ?? null), theta0, { maxIterations: opts.maxIterations ?? 300, gradientTolerance: 1e-6 });
  return r.x;
}

/** log softmax(W·x + b) for the given rows (all rows by default), row-major [rows, k]. */
export function headLogProbs(theta: Float64Array, f: Features, k: number, rows: Int32Array | null = null): Float64Array {
  const { x, d } = f;
  const count = rows ? rows.length : f.n;
  const out = new Float64Array(count * k);
  for (let r = 0; r < count; r++) {
    const i = rows ? rows[r]! : r;
    let mx = -Infinity;
    for (let j = 0; j < k; j++) {
      let s = theta[k * d + j]!;
      for (let t = 0; t < d; t++) s += theta[j * d + t]! * x[i * d + t]!;
      out[r * k + j] = s;
      mx = Math.max(mx, s);
    }
    let sum = 0;
    for (let j = 0; j < k; j++) sum += Math.exp(out[r * k + j]! - mx);
    const lse = mx + Math.log(sum);
    for (let j = 0; j < k; j++) out[r * k + j] -= lse;
  }
  return out;
}

/** `steps` values from `min` to `max`, evenly spaced in log scale. */
export function logGrid(min: number, max: number, steps: number): number[] {
  if (steps <= 1 || min === max) return [min];
  return Array.from({ length: steps }, (_, i) => Math.exp(Math.log(min) + ((Math.log(max) - Math.log(min)) * i) / (steps - 1)));
}

export interface CvScore {
  readonly l2: number;
  /** Mean held-out log-loss over all rows. */
  readonly logLoss: number;
}

/**
 * Chooses λ from `grid` by k-fold cross-validation: per fold, fit on the other folds for every λ
 * (largest first, each fit warm-started from the previous one), score the held-out rows; the λ
 * with the lowest mean held-out log-loss wins, ties going to the larger λ.
 */
export function chooseL2(f: Features, labels: ArrayLike<number>, k: number, grid: readonly number[], folds: Int32Array, nFolds: number): { l2: number; scores: CvScore[] } {
  const order = [...grid].sort((a, b) => b - a);
  if (order.length === 1) return { l2: order[0]!, scores: [] };
  const total = new Float64Array(order.length);
  let scored = 0;
  for (let fold = 0; fold < nFolds; fold++) {
    const { train, test } = foldSplit(folds, fold);
    if (train.length === 0 || test.length === 0) continue;
    scored += test.length;
    let theta: Float64Array | undefined;
    order.forEach((l2, g) => {
      theta = fitHead(f, labels, k, { l2, rows: train, ...(theta ? { init: theta } : {}) });
      const lp = headLogProbs(theta, f, k, test);
      for (let r = 0; r < test.length; r++) total[g] -= lp[r * k + labels[test[r]!]!]!;
    });
  }
  const scores = order.map((l2, g) => ({ l2, logLoss: total[g]! / scored }));
  let best = 0;
  scores.forEach((s, g) => {
    if (s.logLoss < scores[best]!.logLoss - 1e-12) best = g;
  });
  return { l2: scores[best]!.l2, scores: [...scores].sort((a, b) => a.l2 - b.l2) };
}

export interface HeadFit {
  readonly theta: Float64Array;
  readonly l2: number;
  readonly cv: CvScore[];
}

/**
 * λ by cross-validation (stratified folds from the seed), then a refit on all rows. With fewer
 * than two rows per fold there is nothing to validate on: the grid's middle value is used and
 * `cv` is empty.
 */
export function fitHeadWithCv(f: Features, labels: Int32Array, k: number, grid: readonly number[], nFolds: number, seed: number): HeadFit {
  let l2: number;
  let cv: CvScore[] = [];
  if (grid.length > 1 && f.n >= 2 * nFolds) {
    ({ l2, scores: cv } = chooseL2(f, labels, k, grid, kFolds(labels, nFolds, seed), nFolds));
  } else {
    l2 = [...grid].sort((a, b) => a - b)[Math.floor((grid.length - 1) / 2)]!;
  }
  return { theta: fitHead(f, labels, k, { l2 }), l2, cv };
}

/** The λ grid from resolved `l2_*` options; a log grid needs 0 < l2_min ≤ l2_max. */
export function l2GridFromOptions(method: string, o: ResolvedOptions): number[] {
  const min = option.number(o, 'l2_min');
  const max = option.number(o, 'l2_max');
  const steps = option.number(o, 'l2_steps');
  if (steps > 1 && !(min > 0 && min <= max)) {
    throw new BertfuseError('E_BAD_RECIPE', `fusion method "${method}": a grid of ${steps} L2 strengths needs 0 < l2_min ≤ l2_max (got ${min} and ${max})`);
  }
  return logGrid(min, max, steps);
}

/** Options shared by the two methods that train a linear head. */
export function l2Options(defaults: { min: number; max: number; steps: number }): ParamSpec[] {
  return [
    { name: 'l2_min', type: 'number', default: defaults.min, min: 0, description: 'smallest L2 strength tried by cross-validation' },
    { name: 'l2_max', type: 'number', default: defaults.max, min: 0, description: 'largest L2 strength tried' },
    { name: 'l2_steps', type: 'number', default: defaults.steps, min: 1, max: 20, integer: true, description: 'number of L2 strengths tried, log-spaced (1: just l2_min, no cross-validation)' },
  ];
}
