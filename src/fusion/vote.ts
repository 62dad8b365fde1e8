import { attr } from '../graph/onnx-builder.js';
import { exp, logSoftmax, rowArgmax } from './log-probs.js';
import { emitLogSoftmax, emitWeightedSum } from './onnx-ops.js';
import { option, resolveOptions } from './options.js';
import { checkFit, checkOutputs, ParamReader } from './params.js';
import { memberTemperatures } from './temperature.js';
import type { FusionMethod, ParamSpec } from './types.js';

/**
 * Hard (majority) vote. Each member votes for its argmax label. The winner has the most votes;
 * ties are broken by the members' summed probabilities (after their temperatures), then by the
 * lowest label index.
 *
 * Its probabilities, which the ONNX `logits` output holds the log of, are the vote shares with
 * the tie-break folded in and a floor so the log is finite:
 *   share_j = (votes_j + η·p̄_j) / (M + η),   p_j = (1 − ε)·share_j + ε / k,
 * with p̄ the members' mean probability, η = 1e-3 (< 1, so it only reorders labels with equal
 * votes) and ε = 1e-6. The argmax of p is therefore exactly the voted label under the tie rule.
 */
export type VoteParams = {
  readonly temperatures: number[];
};

export const TIE_WEIGHT = 1e-3;
export const SHARE_FLOOR = 1e-6;

const OPTIONS: readonly ParamSpec[] = [
  { name: 'calibrate', type: 'boolean', default: false, description: 'fit one temperature per member; only changes how ties are broken' },
];

export const vote: FusionMethod<VoteParams> = {
  name: 'vote',
  summary: 'hard majority vote; ties broken by summed probabilities, then the lowest label index',
  options: OPTIONS,
  fit(outputs, ctx, options) {
    const o = resolveOptions('vote', OPTIONS, options);
    checkFit('vote', outputs, ctx.labels);
    return { temperatures: memberTemperatures(outputs, ctx, option.boolean(o, 'calibrate')) };
  },
  apply(outputs, params) {
    const { k, n } = outputs;
    const M = outputs.members.length;
    const temperatures = new ParamReader('vote', params).numbers('temperatures', M, { positive: true });
    checkOutputs('vote', outputs);
    const share = new Float64Array(n * k);
    outputs.members.forEach((m, i) => {
      const picks = rowArgmax(m.logits, k);
      const probs = exp(logSoftmax(m.logits, k, temperatures[i]));
      for (let r = 0; r < n; r++) {
        share[r * k + picks[r]!] += 1;
        for (let j = 0; j < k; j++) share[r * k + j] += (TIE_WEIGHT / M) * probs[r * k + j]!;
      }
    });
    return share.map((s) => (1 - SHARE_FLOOR) * (s / (M + TIE_WEIGHT)) + SHARE_FLOOR / k);
  },
  emit(g, inputs, params) {
    const { k } = inputs;
    const M = inputs.logits.length;
    const temperatures = new ParamReader('vote', params).numbers('temperatures', M, { positive: true });
    const depth = g.constInt64([k], [], 'vote_depth');
    const offOn = g.constFloat([0, 1], [2], 'vote_off_on');
    const ballots = inputs.logits.map((z, m) => {
      const pick = g.op('ArgMax', [z], { axis: attr.int(1), keepdims: attr.int(0) }, { name: `vote_pick${m}` });
      return g.op('OneHot', [pick, depth, offOn], { axis: attr.int(-1) }, { name: `vote_ballot${m}` });
    });
    const votes = emitWeightedSum(g, ballots, new Array<number>(M).fill(1), 'vote_count');
    const probs = inputs.logits.map((z, m) => g.op('Exp', [emitLogSoftmax(g, z, temperatures[m], `vote_logp${m}`)], {}, { name: `vote_p${m}` }));
    const tie = emitWeightedSum(g, probs, new Array<number>(M).fill(TIE_WEIGHT / M), 'vote_tiebreak');
    const share = g.op('Mul', [g.op('Add', [votes, tie], {}, { name: 'vote_score' }), g.scalarFloat(1 / (M + TIE_WEIGHT), 'vote_norm')], {}, { name: 'vote_share' });
    const floored = g.op('Add', [g.op('Mul', [share, g.scalarFloat(1 - SHARE_FLOOR, 'vote_keep')], {}, { name: 'vote_shrunk' }), g.scalarFloat(SHARE_FLOOR / k, 'vote_floor')], {}, { name: 'vote_probs' });
    return g.op('Log', [floored], {}, { name: 'vote_logp' });
  },
};
