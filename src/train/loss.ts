import { attr, type GraphBuilder } from '../graph/onnx-builder.js';

export interface LossInputs {
  /** Logits [batch, labels]. */
  readonly logits: string;
  /** Per-row hard-label targets [batch, labels]: one-hot times the row's cross-entropy weight. */
  readonly hardTargets: string;
  /** Teacher probabilities [batch, labels]. */
  readonly softTargets: string;
  /** Per-row weight of the distillation term [batch]. */
  readonly kdWeight: string;
}

/**
 * The training loss, averaged over the batch:
 *   mean_i [ −Σ_c h_ic · log softmax(z_i)_c  +  w_i · T² · KL(p_i ‖ softmax(z_i / T)) ]
 * With h = one-hot labels and w = 0 it is mean cross-entropy; with h = 0 and w = 1 it is Hinton's
 * distillation loss (PyTorch `kl_div(log_softmax(z/T), p, 'batchmean') · T²`). Per-row weights let
 * one batch mix labelled rows (α·CE + (1−α)·KD) and unlabelled ones (KD only).
 */
export function emitLoss(g: GraphBuilder, x: LossInputs, temperature: number): string {
  const rowSum = (v: string): string => g.op('ReduceSum', [v, g.constInt64([1], [1], 'loss_axis')], { keepdims: attr.int(0) });
  const logp = g.op('LogSoftmax', [x.logits], { axis: attr.int(-1) }, { name: 'student_logp' });
  const ce = g.op('Neg', [rowSum(g.op('Mul', [x.hardTargets, logp]))], {}, { name: 'ce_rows' });
  const logpT = g.op('LogSoftmax', [g.op('Mul', [x.logits, g.scalarFloat(1 / temperature, 'inv_temperature')])], { axis: attr.int(-1) }, { name: 'student_logp_t' });
  // p·log p is 0 where p = 0: clamp inside the log so 0·log 0 does not become NaN.
  const logTeacher = g.op('Log', [g.op('Max', [x.softTargets, g.scalarFloat(1e-30, 'tiny')])]);
  const kl = rowSum(g.op('Mul', [x.softTargets, g.op('Sub', [logTeacher, logpT])]));
  const kd = g.op('Mul', [x.kdWeight, g.op('Mul', [kl, g.scalarFloat(temperature * temperature, 't_squared')])], {}, { name: 'kd_rows' });
  return g.op('ReduceMean', [g.op('Add', [ce, kd])], { keepdims: attr.int(0) }, { name: 'loss' });
}
