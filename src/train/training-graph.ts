import { familyOf } from '../architectures/registry.js';
import type { DropoutHook } from '../architectures/types.js';
import type { DropoutMask, DropoutRates } from './dropout.js';
import { emitBert, PLAIN_OPS, type BertWeights } from '../graph/bert-graph.js';
import { GraphBuilder, encodeModel, type Dim } from '../graph/onnx-builder.js';
import { differentiate, valueShapes } from './autodiff/differentiate.js';
import type { SymShape } from './autodiff/types.js';
import { emitLoss } from './loss.js';

/** One trainable weight as the training graph sees it. */
export interface TrainableParam {
  /** Graph input name (and `grad:` + name is its gradient output). */
  readonly input: string;
  /** The checkpoint tensor it comes from. */
  readonly tensor: string;
  /** The graph holds Linear weights as [in, out]: the checkpoint's [out, in] transposed. */
  readonly transposed: boolean;
  /** Shape in the graph's layout. */
  readonly dims: readonly number[];
  /** Initial value in the graph's layout. */
  readonly data: Float32Array;
  /**
   * Set for an embedding table read only by one Gather (word, position and type embeddings): the
   * graph outputs the gradient of each gathered row (`grad_rows:<input>`) and the ids it gathered
   * (`grad_ids:<input>`), and the session adds the rows into the table's gradient in token order.
   * A scatter-add in the graph costs more and is wrong: onnxruntime's ScatterND with reduction
   * add loses updates when threads write the same row (every token of one type: 10% off at two
   * threads), and a vocabulary's dense gradient, mostly zeros, was filled and copied out each step
   * (~94 MB at BERT-base size; the rows are 6 MB).
   */
  readonly gathered?: true;
}

export interface TrainingGraph {
  readonly bytes: Uint8Array;
  readonly params: readonly TrainableParam[];
  readonly numLabels: number;
  readonly temperature: number;
  /** The graph reads `token_type_ids` (the family has token types). */
  readonly tokenTypes: boolean;
  /** Dropout mask inputs, in the order their values are drawn (empty without dropout). */
  readonly dropout: readonly DropoutMask[];
}

export interface TrainingGraphOptions {
  /** Distillation temperature T (the loss has T² · KL at T). */
  readonly temperature: number;
  /** Dropout probabilities (a kind at 0 gets no mask); absent: no dropout (gradients of the model as it predicts). */
  readonly dropout?: DropoutRates | null;
}

/**
 * Plain kernels, except BiasGelu / FastGelu for the FFN's dense bias + activation: one pass over
 * the widest activation instead of six, and its gradient rule (rules/contrib.ts) fewer passes than
 * the erf chain's.
 */
const TRAINING_OPS = { ...PLAIN_OPS, biasGelu: true };

export const GRAD_PREFIX = 'grad:';
export const GRAD_ROWS_PREFIX = 'grad_rows:';
export const GRAD_IDS_PREFIX = 'grad_ids:';

/**
 * The student's training graph, for a sequence classifier of any family: the plain-ONNX forward
 * pass but for the fused bias + GELU (every op must have a gradient rule: the other com.microsoft
 * kernels have none; no folded weights), the loss
 * of `emitLoss`, and the gradient of every weight. Weights are graph inputs, not initializers, so
 * one session serves every step: the optimizer feeds new values.
 * Inputs: input_ids, attention_mask (and token_type_ids when the family reads them) [batch,
 * sequence] (int64), hard_targets and soft_targets [batch, labels], kd_weight [batch], and each
 * weight; outputs loss, logits, grad:*.
 */
export function buildTrainingGraph(w: BertWeights, opts: TrainingGraphOptions): TrainingGraph {
  const numLabels = w.config.labels?.length ?? 2;
  if (w.config.task !== 'classify') throw new Error(`training needs a sequence classifier, not ${w.config.architecture}`);
  const g = new GraphBuilder('bertfuse_training');
  const seq = ['batch', 'sequence'];
  const tokenTypes = familyOf(w.config).tokenizer.tokenTypes;
  const inputs = {
    inputIds: g.input('input_ids', 'int64', seq),
    attentionMask: g.input('attention_mask', 'int64', seq),
    tokenTypeIds: tokenTypes ? g.input('token_type_ids', 'int64', seq) : null,
  };
  // Dropout masks are graph inputs the trainer draws from its seeded RNG each step, so a run is
  // reproducible (and resumable) from the seed: y = x · mask, mask ∈ {0, 1/(1 − p)}.
  const masks: DropoutMask[] = [];
  const rates = opts.dropout ?? null;
  const dropout: DropoutHook | undefined = rates
    ? (x, kind, dims) => {
        const rate = rates[kind];
        // A kind the rates do not name is a family emitting a point its config reader forgot: say so.
        if (rate === undefined) throw new Error(`the ${w.config.family} emitter drops out '${kind}', which dropoutRates does not give for that family`);
        if (rate <= 0) return x;
        const input = g.input(`dropout_${masks.length}`, 'float', dims);
        masks.push({ input, kind, rate, dims });
        return g.op('Mul', [x, input], {}, { name: `dropout_${kind}` });
      }
    : undefined;
  const out = emitBert(g, w, inputs, { ops: TRAINING_OPS, unfolded: true, ...(dropout ? { dropout } : {}) });
  if (!out.logits) throw new Error(`training needs a sequence classifier, not ${w.config.architecture}`);
  const hardTargets = g.input('hard_targets', 'float', ['batch', numLabels]);
  const softTargets = g.input('soft_targets', 'float', ['batch', numLabels]);
  const kdWeight = g.input('kd_weight', 'float', ['batch']);
  const loss = emitLoss(g, { logits: out.logits, hardTargets, softTargets, kdWeight }, opts.temperature);

  const params = trainableInitializers(g, w);
  const frozen = untrained(w, params);
  if (frozen.length > 0) throw new Error(`the ${w.config.family} training graph would leave ${frozen.join(', ')} untrained (folded into another weight?)`);
  const inputShapes = {
    input_ids: seq,
    attention_mask: seq,
    ...(tokenTypes ? { token_type_ids: seq } : {}),
    ...Object.fromEntries(masks.map((m) => [m.input, m.dims])),
    hard_targets: ['batch', numLabels],
    soft_targets: ['batch', numLabels],
    kd_weight: ['batch'],
  };
  const rows = gatheredTables(g, params.map((p) => p.input));
  // Shapes of the forward values (the gathered rows and ids), before backward nodes join them.
  const shapes = rows.size > 0 ? valueShapes(g, inputShapes) : new Map<string, SymShape>();
  const grads = differentiate(g, { loss, params: params.map((p) => rows.get(p.input)?.rows ?? p.input), inputShapes });
  const dimsOf = (v: string, hint: string): Dim[] => (shapes.get(v) ?? []).map((d, i) => d ?? `${hint}_${i}`);
  g.output(loss, 'loss', 'float', []);
  g.output(out.logits, 'logits', 'float', ['batch', numLabels]);
  const result: TrainableParam[] = [];
  for (const p of params) {
    const gathered = rows.get(p.input);
    const grad = grads.get(gathered?.rows ?? p.input);
    if (!grad) throw new Error(`the loss does not depend on ${p.tensor}`);
    if (gathered) {
      g.output(grad, GRAD_ROWS_PREFIX + p.input, 'float', dimsOf(gathered.rows, `${p.input}_rows`));
      g.output(gathered.ids, GRAD_IDS_PREFIX + p.input, 'int64', dimsOf(gathered.ids, `${p.input}_ids`));
    } else {
      g.output(grad, GRAD_PREFIX + p.input, 'float', p.dims);
    }
    const { data } = g.promoteToInput(p.input);
    result.push({ ...p, data, ...(gathered ? { gathered: true as const } : {}) });
  }
  return { bytes: encodeModel(g.toModel()), params: result, numLabels, temperature: opts.temperature, tokenTypes, dropout: masks };
}

/**
 * Parameters whose only reader is `Gather(param, ids)` on axis 0 (embedding tables): param → the
 * gathered rows and the ids. Their gradient is taken at the rows; the session scatters it
 * (TrainableParam.gathered).
 */
function gatheredTables(g: GraphBuilder, params: readonly string[]): Map<string, { rows: string; ids: string }> {
  const readers = g.readersOf();
  const out = new Map<string, { rows: string; ids: string }>();
  for (const p of params) {
    const r = readers.get(p);
    if (r?.length !== 1) continue;
    const node = r[0]!;
    const axis = Number(node.attribute?.find((a) => a.name === 'axis')?.i ?? 0);
    if (node.opType === 'Gather' && !node.domain && node.input?.[0] === p && node.input[1] !== p && axis === 0) out.set(p, { rows: node.output![0]!, ids: node.input[1]! });
  }
  return out;
}

/** Checkpoint tensors the family's model has that no trainable input stands for. */
function untrained(w: BertWeights, params: ReadonlyArray<Omit<TrainableParam, 'data'>>): string[] {
  const family = familyOf(w.config);
  const have = new Set(params.map((p) => p.tensor));
  return [...family.expectedTensors(w.config, w.prefix).keys()].filter((n) => w.tensors.has(n) && !have.has(n));
}

/**
 * The emitter's float initializers that are checkpoint weights (not constants such as the
 * attention scale): `<name>.weight_t` is a transposed Linear weight, anything else must match a
 * checkpoint tensor by name, with or without the encoder prefix.
 */
function trainableInitializers(g: GraphBuilder, w: BertWeights): Array<Omit<TrainableParam, 'data'>> {
  const found: Array<Omit<TrainableParam, 'data'>> = [];
  const resolve = (name: string): string | null => (w.tensors.has(w.prefix + name) ? w.prefix + name : w.tensors.has(name) ? name : null);
  for (const input of g.initializerNames()) {
    const init = g.initializerData(input)!;
    if (!(init.data instanceof Float32Array)) continue;
    const transposed = input.endsWith('.weight_t');
    const tensor = resolve(transposed ? input.slice(0, -2) : input);
    if (!tensor) continue;
    found.push({ input, tensor, transposed, dims: init.dims });
  }
  return found;
}

/** Graph layout → checkpoint layout ([in, out] → [out, in] for Linear weights). */
export function toCheckpointLayout(p: Pick<TrainableParam, 'transposed' | 'dims'>, data: Float32Array): Float32Array {
  if (!p.transposed) return data;
  const [rows, cols] = p.dims as [number, number];
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c]!;
  return out;
}
