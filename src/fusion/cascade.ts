import { BertfuseError } from '../errors.js';
import { attr } from '../graph/onnx-builder.js';
import { logMixture, logSoftmax, rowArgmax } from './log-probs.js';
import { emitLogMixture, emitLogSoftmax } from './onnx-ops.js';
import { option, resolveOptions } from './options.js';
import { checkFit, checkOutputs, ParamReader } from './params.js';
import { memberTemperatures } from './temperature.js';
import type { FusionMethod, MemberOutputs, ParamSpec } from './types.js';

/**
 * Cascade: the first member answers alone when its max probability is at least τ; below τ the
 * answer is the fallback, either the mean of all members' probabilities (`fallback: mean`,
 * default) or the second member alone (`fallback: second`).
 *
 * τ is fit on the data by scanning every cut between the first member's sorted confidences (plus
 * "never" and "always") and keeping the one with the lowest log-loss (`objective: log_loss`) or
 * the highest accuracy (`objective: accuracy`), among cuts that send at most `max_fallback` of the
 * rows to the fallback; ties go to the cut with fewer fallbacks. τ sits midway in a gap of at
 * least 1e-5 between confidences, so float32 (ONNX) and float64 (in-process) agree on every fit row.
 *
 * In ONNX, `gate` marks the rows below τ: the composer runs the other members on those rows only
 * (gathered into a smaller batch, scattered back), so the exported graph really costs the first
 * member plus the escalated fraction of the rest — what `stats` reports as the cost. A `Where`
 * then picks per row between the first member and the fallback.
 */
export type CascadeParams = {
  readonly temperatures: number[];
  readonly threshold: number;
  readonly fallback: Fallback;
};

type Fallback = 'mean' | 'second';
const FALLBACKS: readonly Fallback[] = ['mean', 'second'];
type Objective = 'log_loss' | 'accuracy';
const OBJECTIVES: readonly Objective[] = ['log_loss', 'accuracy'];

/** τ above any probability: every row falls back. */
const ALWAYS = 2;
const MIN_GAP = 1e-5;

const OPTIONS: readonly ParamSpec[] = [
  { name: 'fallback', type: 'string', default: 'mean', choices: FALLBACKS, description: 'answer below the threshold: mean of all members, or the second member alone' },
  { name: 'objective', type: 'string', default: 'log_loss', choices: OBJECTIVES, description: 'what the threshold optimises on the fit data' },
  { name: 'max_fallback', type: 'number', default: 1, min: 0, max: 1, description: 'largest fraction of rows allowed to need the fallback (a cost budget)' },
  { name: 'calibrate', type: 'boolean', default: false, description: 'fit one temperature per member before thresholding and pooling' },
];

interface Branches {
  /** First member's log-probabilities, and its max probability per row. */
  readonly first: Float64Array;
  readonly confidence: Float64Array;
  readonly fallback: Float64Array;
}

function branches(outputs: MemberOutputs, temperatures: readonly number[], fallback: Fallback): Branches {
  const { k } = outputs;
  const logps = outputs.members.map((m, i) => logSoftmax(m.logits, k, temperatures[i]));
  const first = logps[0]!;
  const confidence = new Float64Array(outputs.n);
  for (let i = 0; i < outputs.n; i++) {
    let mx = -Infinity;
    for (let j = 0; j < k; j++) mx = Math.max(mx, first[i * k + j]!);
    confidence[i] = Math.exp(mx);
  }
  const M = logps.length;
  return { first, confidence, fallback: fallback === 'mean' ? logMixture(logps, new Array<number>(M).fill(1 / M)) : logps[1]! };
}

export const cascade: FusionMethod<CascadeParams> = {
  name: 'cascade',
  summary: 'first member alone when confident enough, else the fallback; threshold fit on the data',
  options: OPTIONS,
  fit(outputs, ctx, options) {
    const o = resolveOptions('cascade', OPTIONS, options);
    checkFit('cascade', outputs, ctx.labels, 2);
    const fallback = option.choice(o, 'fallback', FALLBACKS);
    const objective = option.choice(o, 'objective', OBJECTIVES);
    const budget = option.number(o, 'max_fallback');
    const temperatures = memberTemperatures(outputs, ctx, option.boolean(o, 'calibrate'));
    const b = branches(outputs, temperatures, fallback);
    const { n, k } = outputs;
    const labels = ctx.labels;
    const predFirst = rowArgmax(b.first, k);
    const predFallback = rowArgmax(b.fallback, k);
    const cost = (lp: Float64Array, pred: Int32Array, i: number): number => (objective === 'log_loss' ? -lp[i * k + labels[i]!]! : pred[i] === labels[i] ? 0 : 1);
    // Rows by rising confidence: a cut after position c sends rows 0..c−1 to the fallback.
    const order = Array.from({ length: n }, (_, i) => i).sort((a, c) => b.confidence[a]! - b.confidence[c]! || a - c);
    let total = 0;
    for (let i = 0; i < n; i++) total += cost(b.first, predFirst, i);
    let best = { loss: total, threshold: 0, fallbacks: 0 };
    for (let c = 1; c <= n; c++) {
      const i = order[c - 1]!;
      total += cost(b.fallback, predFallback, i) - cost(b.first, predFirst, i);
      if (c / n > budget + 1e-12) break;
      let threshold: number;
      if (c === n) threshold = ALWAYS;
      else {
        const lo = b.confidence[i]!;
        const hi = b.confidence[order[c]!]!;
        if (hi - lo < MIN_GAP) continue;
        threshold = (lo + hi) / 2;
      }
      if (total < best.loss - 1e-9 * Math.max(1, Math.abs(best.loss))) best = { loss: total, threshold, fallbacks: c };
    }
    return { temperatures, threshold: best.threshold, fallback };
  },
  apply(outputs, params) {
    checkOutputs('cascade', outputs, 2);
    const p = readParams(params, outputs.members.length);
    const b = branches(outputs, p.temperatures, p.fallback);
    const { n, k } = outputs;
    const tau = Math.fround(p.threshold);
    const out = new Float64Array(n * k);
    for (let i = 0; i < n; i++) {
      const src = b.confidence[i]! < tau ? b.fallback : b.first;
      for (let j = 0; j < k; j++) out[i * k + j] = Math.exp(src[i * k + j]!);
    }
    return out;
  },
  emit(g, inputs, params) {
    const M = inputs.logits.length;
    if (M < 2) throw new BertfuseError('E_BAD_RECIPE', `fusion method "cascade" needs at least 2 members, got ${M}`);
    const p = readParams(params, M);
    const logps = inputs.logits.map((z, m) => emitLogSoftmax(g, z, p.temperatures[m], `cascade_logp${m}`));
    const first = logps[0]!;
    const unsure = emitUnsure(g, first, p.threshold, 'cascade');
    const fallback = p.fallback === 'mean' ? emitLogMixture(g, logps, new Array<number>(M).fill(1 / M), 'cascade_mean') : logps[1]!;
    return g.op('Where', [unsure, fallback, first], {}, { name: 'cascade_fused' });
  },
  gate(g, firstLogits, params) {
    const p = readParams(params, params.temperatures.length);
    const logp = emitLogSoftmax(g, firstLogits, p.temperatures[0], 'cascade_gate_logp');
    // [batch, 1] → [batch]: one flag per row.
    return g.op('Squeeze', [emitUnsure(g, logp, p.threshold, 'cascade_gate'), g.constInt64([1], [1], 'cascade_gate_axis')], {}, { name: 'cascade_gate_rows' });
  },
  stats(outputs, params) {
    checkOutputs('cascade', outputs, 2);
    const p = readParams(params, outputs.members.length);
    const b = branches(outputs, p.temperatures, p.fallback);
    const tau = Math.fround(p.threshold);
    let fell = 0;
    for (const c of b.confidence) if (c < tau) fell++;
    const fraction = outputs.n === 0 ? 0 : fell / outputs.n;
    const rest = p.fallback === 'mean' ? outputs.members.slice(1) : [outputs.members[1]!];
    return { fallback_fraction: fraction, threshold: p.threshold, cost: outputs.members[0]!.cost + fraction * rest.reduce((s, m) => s + m.cost, 0) };
  },
};

/** Rows whose first-member confidence (max probability) is below τ, as bool [batch, 1]. */
function emitUnsure(g: Parameters<FusionMethod['emit']>[0], logp: string, threshold: number, hint: string): string {
  const maxLogp = g.op('ReduceMax', [logp], { axes: attr.ints([1]), keepdims: attr.int(1) }, { name: `${hint}_max_logp` });
  const confidence = g.op('Exp', [maxLogp], {}, { name: `${hint}_confidence` });
  return g.op('Less', [confidence, g.scalarFloat(threshold, `${hint}_threshold`)], {}, { name: `${hint}_unsure` });
}

function readParams(params: CascadeParams, M: number): CascadeParams {
  const r = new ParamReader('cascade', params);
  return { temperatures: r.numbers('temperatures', M, { positive: true }), threshold: r.number('threshold'), fallback: r.choice('fallback', FALLBACKS) };
}
