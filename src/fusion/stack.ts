import type { Features } from './linear-head.js';
import { fitHeadWithCv, headLogProbs, l2GridFromOptions, l2Options, type CvScore } from './linear-head.js';
import { exp, logSoftmax } from './log-probs.js';
import { emitConcatFeatures, emitLinear, emitLogSoftmax } from './onnx-ops.js';
import { resolveOptions } from './options.js';
import { checkFit, checkOutputs, ParamReader, toRows } from './params.js';
import type { FusionMethod, MemberOutputs } from './types.js';

/**
 * Stacking: a multinomial logistic regression whose features are the members' label-aligned
 * log-probabilities, x = [log softmax(z_1), …, log softmax(z_M)] (M·k values), plus a bias.
 * The L2 strength is chosen by k-fold cross-validation on the fit data (folds from the seed),
 * then the model is refit on all of it. It can learn per-member, per-label trust and scale
 * (temperature), which mean and weighted cannot.
 */
export type StackParams = {
  readonly l2: number;
  /** [k][M·k]: row j scores label j. */
  readonly weights: number[][];
  readonly bias: number[];
  readonly cv: CvScore[];
};

const OPTIONS = l2Options({ min: 1e-4, max: 1, steps: 5 });

export function stackFeatures(outputs: MemberOutputs): Features {
  const { n, k } = outputs;
  const M = outputs.members.length;
  const d = M * k;
  const x = new Float64Array(n * d);
  outputs.members.forEach((m, mi) => {
    const lp = logSoftmax(m.logits, k);
    for (let i = 0; i < n; i++) for (let j = 0; j < k; j++) x[i * d + mi * k + j] = lp[i * k + j]!;
  });
  return { x, n, d };
}

export const stack: FusionMethod<StackParams> = {
  name: 'stack',
  summary: 'logistic regression on the members\' log-probabilities, L2 chosen by cross-validation',
  options: OPTIONS,
  fit(outputs, ctx, options) {
    const grid = l2GridFromOptions('stack', resolveOptions('stack', OPTIONS, options));
    checkFit('stack', outputs, ctx.labels);
    const f = stackFeatures(outputs);
    const { k } = outputs;
    const { theta, l2, cv } = fitHeadWithCv(f, ctx.labels, k, grid, ctx.folds, ctx.seed);
    return { l2, weights: toRows(theta, k, f.d), bias: Array.from(theta.subarray(k * f.d)), cv };
  },
  apply(outputs, params) {
    checkOutputs('stack', outputs);
    const { k } = outputs;
    const f = stackFeatures(outputs);
    return exp(headLogProbs(readTheta(params, k, f.d), f, k));
  },
  emit(g, inputs, params) {
    const { k } = inputs;
    const d = inputs.logits.length * k;
    const theta = readTheta(params, k, d);
    const logps = inputs.logits.map((z, m) => emitLogSoftmax(g, z, 1, `stack_logp${m}`));
    const x = emitConcatFeatures(g, logps, 'stack_features');
    return emitLogSoftmax(g, emitLinear(g, x, theta.subarray(0, k * d), theta.subarray(k * d), k, d, 'stack_linear'), 1, 'stack_fused');
  },
};

/** θ = [W row-major, b] from the JSON params, checked against the member count. */
function readTheta(params: StackParams, k: number, d: number): Float64Array {
  const r = new ParamReader('stack', params);
  const theta = new Float64Array(k * d + k);
  theta.set(r.matrix('weights', k, d));
  theta.set(r.numbers('bias', k), k * d);
  return theta;
}
