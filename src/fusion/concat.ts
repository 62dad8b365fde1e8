import { BertfuseError } from '../errors.js';
import type { GraphBuilder } from '../graph/onnx-builder.js';
import { fitHeadWithCv, headLogProbs, l2GridFromOptions, l2Options, type CvScore, type Features } from './linear-head.js';
import { exp } from './log-probs.js';
import { emitConcatFeatures, emitLinear, emitLogSoftmax } from './onnx-ops.js';
import { option, resolveOptions } from './options.js';
import { checkFit, checkOutputs, ParamReader, toRows } from './params.js';
import type { EmitInputs, FusionMethod, MemberOutputs, ParamSpec } from './types.js';

/**
 * Concatenated embeddings: the members' pooled outputs (or final [CLS] hidden states) side by
 * side, standardised with the fit data's per-feature mean and standard deviation, then a softmax
 * regression layer trained by backpropagation (hand-written gradient, full-batch L-BFGS) with
 * weight decay chosen by k-fold cross-validation. The standardisation is part of the exported
 * graph (Sub, Mul) so the artifact needs no preprocessing.
 */
export type ConcatParams = {
  readonly embedding: Embedding;
  /** Per-feature mean and 1/std of the concatenated embeddings on the fit data. */
  readonly mean: number[];
  readonly scale: number[];
  readonly l2: number;
  /** [k][D]. */
  readonly weights: number[][];
  readonly bias: number[];
  readonly cv: CvScore[];
};

type Embedding = 'pooled' | 'cls';
const EMBEDDINGS: readonly Embedding[] = ['pooled', 'cls'];

const OPTIONS: readonly ParamSpec[] = [
  { name: 'embedding', type: 'string', default: 'pooled', choices: EMBEDDINGS, description: 'which member embedding to concatenate: the pooler output or the final [CLS] hidden state' },
  ...l2Options({ min: 1e-2, max: 10, steps: 4 }),
];

/** A feature whose spread is below this is left unscaled (it carries no information anyway). */
const MIN_STD = 1e-6;

function embeddings(outputs: MemberOutputs, kind: Embedding): { blocks: Float32Array[]; widths: number[] } {
  const blocks = outputs.members.map((m) => {
    const e = kind === 'pooled' ? m.pooled : m.cls;
    if (!e) throw new BertfuseError('E_BAD_RECIPE', `fusion method "concat": member ${m.name} has no ${kind === 'pooled' ? 'pooler output (use embedding: cls)' : '[CLS] embedding'}`);
    if (e.length !== outputs.n * m.hiddenSize) throw new Error(`member ${m.name}: ${e.length} ${kind} values for ${outputs.n} rows × ${m.hiddenSize}`);
    return e;
  });
  return { blocks, widths: outputs.members.map((m) => m.hiddenSize) };
}

function concatRows(blocks: readonly Float32Array[], widths: readonly number[], n: number): Features {
  const d = widths.reduce((a, b) => a + b, 0);
  const x = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    let at = i * d;
    blocks.forEach((b, m) => {
      const w = widths[m]!;
      for (let t = 0; t < w; t++) x[at + t] = b[i * w + t]!;
      at += w;
    });
  }
  return { x, n, d };
}

function standardise(f: Features, mean: readonly number[], scale: readonly number[]): Features {
  const x = new Float64Array(f.x.length);
  for (let i = 0; i < f.n; i++) for (let t = 0; t < f.d; t++) x[i * f.d + t] = (f.x[i * f.d + t]! - mean[t]!) * scale[t]!;
  return { x, n: f.n, d: f.d };
}

export const concat: FusionMethod<ConcatParams> = {
  name: 'concat',
  summary: 'members\' embeddings concatenated and standardised, a linear layer trained with weight decay chosen by cross-validation',
  options: OPTIONS,
  fit(outputs, ctx, options) {
    const o = resolveOptions('concat', OPTIONS, options);
    const embedding = option.choice(o, 'embedding', EMBEDDINGS);
    const grid = l2GridFromOptions('concat', o);
    checkFit('concat', outputs, ctx.labels);
    const { blocks, widths } = embeddings(outputs, embedding);
    const raw = concatRows(blocks, widths, outputs.n);
    const mean: number[] = [];
    const scale: number[] = [];
    for (let t = 0; t < raw.d; t++) {
      let s = 0;
      for (let i = 0; i < raw.n; i++) s += raw.x[i * raw.d + t]!;
      const mu = s / raw.n;
      let v = 0;
      for (let i = 0; i < raw.n; i++) v += (raw.x[i * raw.d + t]! - mu) ** 2;
      const std = Math.sqrt(v / raw.n);
      mean.push(mu);
      scale.push(std > MIN_STD ? 1 / std : 1);
    }
    const f = standardise(raw, mean, scale);
    const { k } = outputs;
    const { theta, l2, cv } = fitHeadWithCv(f, ctx.labels, k, grid, ctx.folds, ctx.seed);
    return { embedding, mean, scale, l2, weights: toRows(theta, k, f.d), bias: Array.from(theta.subarray(k * f.d)), cv };
  },
  apply(outputs, params) {
    checkOutputs('concat', outputs);
    const embedding = new ParamReader('concat', params).choice('embedding', EMBEDDINGS);
    const { blocks, widths } = embeddings(outputs, embedding);
    const raw = concatRows(blocks, widths, outputs.n);
    const p = readParams(params, outputs.k, raw.d);
    return exp(headLogProbs(p.theta, standardise(raw, p.mean, p.scale), outputs.k));
  },
  emit(g: GraphBuilder, inputs: EmitInputs, params) {
    const embedding = new ParamReader('concat', params).choice('embedding', EMBEDDINGS);
    const values = (embedding === 'pooled' ? inputs.pooled : inputs.cls).map((v, m) => {
      if (!v) throw new BertfuseError('E_BAD_RECIPE', `fusion method "concat": member ${m} has no ${embedding} output in the graph`);
      return v;
    });
    const { k } = inputs;
    const d = Array.isArray(params.mean) ? params.mean.length : 0;
    const p = readParams(params, k, d);
    const x = emitConcatFeatures(g, values, 'concat_features');
    const centred = g.op('Sub', [x, g.constFloat(p.mean, [d], 'concat_mean')], {}, { name: 'concat_centred' });
    const scaled = g.op('Mul', [centred, g.constFloat(p.scale, [d], 'concat_scale')], {}, { name: 'concat_standardised' });
    return emitLogSoftmax(g, emitLinear(g, scaled, p.theta.subarray(0, k * d), p.theta.subarray(k * d), k, d, 'concat_linear'), 1, 'concat_fused');
  },
  embeddings: (params) => params.embedding,
};

function readParams(params: ConcatParams, k: number, d: number): { mean: number[]; scale: number[]; theta: Float64Array } {
  const r = new ParamReader('concat', params);
  const theta = new Float64Array(k * d + k);
  theta.set(r.matrix('weights', k, d));
  theta.set(r.numbers('bias', k), k * d);
  return { mean: r.numbers('mean', d), scale: r.numbers('scale', d), theta };
}
