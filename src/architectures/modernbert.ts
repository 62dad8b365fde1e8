import { ruleTable, type FamilyAlignment } from '../align/axis-parts.js';
import { parseLabels, type Activation } from '../checkpoint/config.js';
import type { TensorStore } from '../checkpoint/tensor-store.js';
import { BertfuseError } from '../errors.js';
import { activation, type EncoderOutputs } from '../graph/bert-graph.js';
import { attr, type GraphBuilder } from '../graph/onnx-builder.js';
import { applyRotary, applyRotaryFused, emitRotaryAngles, type RotaryAngles } from '../graph/rotary.js';
import { MASK_VALUE, WeightOps } from '../graph/weight-ops.js';
import { activationField, architectureField, boolField, choiceField, integerField, numberField, type RawConfig } from './fields.js';

/**
 * ModernBERT (`ModernBertForSequenceClassification`, model_type `modernbert`): pre-LN layers with
 * bias-free LayerNorms (none before the first attention), fused Wqkv, rotary positions with one θ
 * for global and another for sliding-window layers, GeGLU MLP, a final norm, and a
 * dense → act → norm head over [CLS] or the mean of the real tokens. No token types.
 */
export const MODERNBERT_ARCHITECTURES = ['ModernBertForSequenceClassification'] as const;
export type ModernBertArchitecture = (typeof MODERNBERT_ARCHITECTURES)[number];

export type ModernBertLayerType = 'full_attention' | 'sliding_attention';

export interface ModernBertConfig {
  readonly family: 'modernbert';
  readonly architecture: ModernBertArchitecture;
  readonly hiddenSize: number;
  readonly numLayers: number;
  readonly numHeads: number;
  readonly intermediateSize: number;
  readonly vocabSize: number;
  /** Only sizes HF's rotary cache; our angles are computed for any length. */
  readonly maxPositions: number;
  readonly normEps: number;
  readonly normBias: boolean;
  readonly attentionBias: boolean;
  readonly mlpBias: boolean;
  readonly classifierBias: boolean;
  readonly hiddenAct: Activation;
  readonly classifierAct: Activation;
  readonly pooling: 'cls' | 'mean';
  /** `local_attention`: the whole window; a key is seen when |query − key| ≤ localAttention / 2 (floor). */
  readonly localAttention: number;
  readonly layerTypes: readonly ModernBertLayerType[];
  readonly globalRopeTheta: number;
  readonly localRopeTheta: number;
  readonly padTokenId: number;
  readonly labels: readonly string[];
  readonly raw: RawConfig;
}

/** θ per layer type: transformers 5 writes `rope_parameters`, the Hub checkpoints `global_/local_rope_theta`. */
function ropeThetas(r: RawConfig, file: string): { global: number; local: number } {
  const params = r['rope_parameters'];
  const scaling = r['rope_scaling'];
  if (scaling !== undefined && scaling !== null) throw new BertfuseError('E_BAD_CONFIG', 'rope_scaling is not supported (only the default rotary embedding)', file);
  const fallback = { global: numberField(r, 'global_rope_theta', file, 160000), local: numberField(r, 'local_rope_theta', file, 10000) };
  if (params === undefined || params === null) return fallback;
  if (typeof params !== 'object' || Array.isArray(params)) throw new BertfuseError('E_BAD_CONFIG', 'rope_parameters must be an object', file);
  const theta = (kind: ModernBertLayerType, dflt: number): number => {
    const p = (params as Record<string, unknown>)[kind];
    if (p === undefined || p === null) return dflt;
    if (typeof p !== 'object' || Array.isArray(p)) throw new BertfuseError('E_BAD_CONFIG', `rope_parameters.${kind} must be an object`, file);
    const q = p as RawConfig;
    const type = q['rope_type'] ?? 'default';
    if (type !== 'default') throw new BertfuseError('E_BAD_CONFIG', `rope_parameters.${kind}.rope_type ${JSON.stringify(type)} is not supported (only "default")`, file);
    return numberField(q, 'rope_theta', file, dflt);
  };
  return { global: theta('full_attention', fallback.global), local: theta('sliding_attention', fallback.local) };
}

function layerTypes(r: RawConfig, file: string, numLayers: number): ModernBertLayerType[] {
  const given = r['layer_types'];
  if (given === undefined || given === null) {
    const every = integerField(r, 'global_attn_every_n_layers', file, 3, 1);
    return Array.from({ length: numLayers }, (_, i) => (i % every === 0 ? 'full_attention' : 'sliding_attention'));
  }
  if (!Array.isArray(given) || given.length !== numLayers || given.some((t) => t !== 'full_attention' && t !== 'sliding_attention')) {
    throw new BertfuseError('E_BAD_CONFIG', `layer_types must list "full_attention" / "sliding_attention" once per layer (${numLayers})`, file);
  }
  return given as ModernBertLayerType[];
}

/** ModernBertConfig fields with Hugging Face's names and defaults. */
export function parseModernBertConfig(r: RawConfig, file: string): ModernBertConfig {
  if (r['model_type'] !== undefined && r['model_type'] !== 'modernbert') throw new BertfuseError('E_UNSUPPORTED_ARCH', `model_type ${JSON.stringify(r['model_type'])} is not modernbert`, file);
  const architecture = architectureField(r, file, MODERNBERT_ARCHITECTURES);
  const hiddenSize = integerField(r, 'hidden_size', file, 768, 1);
  const numHeads = integerField(r, 'num_attention_heads', file, 12, 1);
  if (hiddenSize % numHeads !== 0 || (hiddenSize / numHeads) % 2 !== 0) {
    throw new BertfuseError('E_BAD_CONFIG', `hidden_size ${hiddenSize} must split into num_attention_heads ${numHeads} heads of even size (rotary pairs dimensions)`, file);
  }
  const numLayers = integerField(r, 'num_hidden_layers', file, 22, 1);
  const theta = ropeThetas(r, file);
  return {
    family: 'modernbert',
    architecture,
    hiddenSize,
    numLayers,
    numHeads,
    intermediateSize: integerField(r, 'intermediate_size', file, 1152, 1),
    vocabSize: integerField(r, 'vocab_size', file, 50368, 1),
    maxPositions: integerField(r, 'max_position_embeddings', file, 8192, 1),
    normEps: numberField(r, 'norm_eps', file, 1e-5),
    normBias: boolField(r, 'norm_bias', file, false),
    attentionBias: boolField(r, 'attention_bias', file, false),
    mlpBias: boolField(r, 'mlp_bias', file, false),
    classifierBias: boolField(r, 'classifier_bias', file, false),
    hiddenAct: activationField(r, 'hidden_activation', file, 'gelu'),
    classifierAct: activationField(r, 'classifier_activation', file, 'gelu'),
    pooling: choiceField(r, 'classifier_pooling', file, 'cls', ['cls', 'mean'] as const),
    localAttention: integerField(r, 'local_attention', file, 128, 1),
    layerTypes: layerTypes(r, file, numLayers),
    globalRopeTheta: theta.global,
    localRopeTheta: theta.local,
    padTokenId: integerField(r, 'pad_token_id', file, 50283, 0),
    labels: parseLabels(r as Record<string, unknown>, file),
    raw: r,
  };
}

/** Names of the tensors of one layer (layer 0 has no attn_norm: HF uses an Identity there). */
export const modernBertNames = {
  embeddings: 'embeddings.tok_embeddings',
  embeddingNorm: 'embeddings.norm',
  attnNorm: (i: number): string => `layers.${i}.attn_norm`,
  wqkv: (i: number): string => `layers.${i}.attn.Wqkv`,
  wo: (i: number): string => `layers.${i}.attn.Wo`,
  mlpNorm: (i: number): string => `layers.${i}.mlp_norm`,
  wi: (i: number): string => `layers.${i}.mlp.Wi`,
  mlpWo: (i: number): string => `layers.${i}.mlp.Wo`,
  finalNorm: 'final_norm',
  headDense: 'head.dense',
  headNorm: 'head.norm',
  classifier: 'classifier',
} as const;

/** Every tensor the config implies, with its shape. `prefix` is "model." for task models. */
export function modernBertTensors(cfg: ModernBertConfig, prefix = 'model.'): Map<string, number[]> {
  const H = cfg.hiddenSize;
  const I = cfg.intermediateSize;
  const n = modernBertNames;
  const out = new Map<string, number[]>();
  const linear = (module: string, o: number, i: number, bias: boolean): void => {
    out.set(`${module}.weight`, [o, i]);
    if (bias) out.set(`${module}.bias`, [o]);
  };
  const norm = (module: string): void => {
    out.set(`${module}.weight`, [H]);
    if (cfg.normBias) out.set(`${module}.bias`, [H]);
  };
  out.set(`${prefix}${n.embeddings}.weight`, [cfg.vocabSize, H]);
  norm(prefix + n.embeddingNorm);
  for (let i = 0; i < cfg.numLayers; i++) {
    if (i > 0) norm(prefix + n.attnNorm(i));
    linear(prefix + n.wqkv(i), 3 * H, H, cfg.attentionBias);
    linear(prefix + n.wo(i), H, H, cfg.attentionBias);
    norm(prefix + n.mlpNorm(i));
    linear(prefix + n.wi(i), 2 * I, H, cfg.mlpBias);
    linear(prefix + n.mlpWo(i), H, I, cfg.mlpBias);
  }
  norm(prefix + n.finalNorm);
  linear(n.headDense, H, H, cfg.classifierBias);
  norm(n.headNorm);
  linear(n.classifier, cfg.labels.length, H, true);
  return out;
}

/** "model." when the weights carry the task model's prefix, "" for a bare ModernBertModel. */
export function modernBertPrefix(tensors: TensorStore): string {
  for (const p of ['model.', '']) if (tensors.has(`${p}${modernBertNames.embeddings}.weight`)) return p;
  throw new BertfuseError('E_MISSING_TENSOR', `no "model.${modernBertNames.embeddings}.weight": not ModernBERT weights`, tensors.source);
}

/**
 * Which unit permutations keep a ModernBERT's function, for weight merging:
 * - `residual`: the hidden size, through the embeddings, every norm (with or without bias, a
 *   LayerNorm commutes with a permutation), every layer's inputs/outputs and head.dense's input.
 * - `qk.{i}` / `vo.{i}`: heads move as whole blocks, in one order for q, k, v and Wo's columns. Inside
 *   a head only the value units may be reordered: rotary pairs q/k unit j with j + d/2 and turns the
 *   pair by its own frequency, so moving a unit changes its frequency and swapping a pair reverses
 *   its rotation — any within-head q/k permutation but the identity changes q'·k' (qkWithinHead: fixed).
 * - `ffn.{i}`: GeGLU units: row t of Wi's activated half and row t of its gate half move together
 *   (parts [ffn, ffn]), with column t of mlp.Wo. Moving one half alone would pair a unit with another's gate.
 * - `head`: head.dense's outputs, head.norm and the classifier's columns.
 */
export const modernBertAlignment: FamilyAlignment = {
  qkWithinHead: 'fixed',
  axes: ruleTable([
    [/^(?:model\.)?embeddings\.tok_embeddings\.weight$/, () => [[null], ['residual']]],
    [/^(?:model\.)?(?:embeddings\.norm|final_norm|layers\.\d+\.(?:attn_norm|mlp_norm))\.(?:weight|bias)$/, () => [['residual']]],
    [/^(?:model\.)?layers\.(\d+)\.attn\.Wqkv\.weight$/, (i) => [[`qk.${i}`, `qk.${i}`, `vo.${i}`], ['residual']]],
    [/^(?:model\.)?layers\.(\d+)\.attn\.Wqkv\.bias$/, (i) => [[`qk.${i}`, `qk.${i}`, `vo.${i}`]]],
    [/^(?:model\.)?layers\.(\d+)\.attn\.Wo\.weight$/, (i) => [['residual'], [`vo.${i}`]]],
    [/^(?:model\.)?layers\.(\d+)\.mlp\.Wi\.weight$/, (i) => [[`ffn.${i}`, `ffn.${i}`], ['residual']]],
    [/^(?:model\.)?layers\.(\d+)\.mlp\.Wi\.bias$/, (i) => [[`ffn.${i}`, `ffn.${i}`]]],
    [/^(?:model\.)?layers\.(\d+)\.mlp\.Wo\.weight$/, (i) => [['residual'], [`ffn.${i}`]]],
    [/^(?:model\.)?layers\.(\d+)\.(?:attn\.Wo|mlp\.Wo)\.bias$/, () => [['residual']]],
    [/^head\.dense\.weight$/, () => [['head'], ['residual']]],
    [/^head\.(?:dense\.bias|norm\.weight|norm\.bias)$/, () => [['head']]],
    [/^classifier\.weight$/, () => [[null], ['head']]],
    [/^classifier\.bias$/, () => [[null]]],
  ]),
};

export interface ModernBertWeights {
  readonly config: ModernBertConfig;
  readonly prefix: string;
  readonly tensors: TensorStore;
}

export interface ModernBertOps {
  /** `plain`: Split/Concat/Mul (any ONNX runtime); `fused`: com.microsoft RotaryEmbedding. */
  readonly rotary: 'plain' | 'fused';
}
export const MODERNBERT_PLAIN_OPS: ModernBertOps = { rotary: 'plain' };

export interface ModernBertEmitOptions {
  readonly scope?: string;
  readonly ops?: Partial<ModernBertOps>;
}

/** Emits the encoder and the classification head; inputs are int64 [batch, S] ids and mask. */
export function emitModernBert(g: GraphBuilder, w: ModernBertWeights, inputs: { inputIds: string; attentionMask: string }, opts: ModernBertEmitOptions = {}): EncoderOutputs {
  const cfg = w.config;
  const ops: ModernBertOps = { ...MODERNBERT_PLAIN_OPS, ...opts.ops };
  const o = new WeightOps(g, w.tensors, opts.scope);
  const P = w.prefix;
  const n = modernBertNames;
  const H = cfg.hiddenSize;
  const nh = cfg.numHeads;
  const hd = H / nh;
  const ln = (x: string, module: string): string => o.layerNorm(x, module, cfg.normEps, cfg.normBias);

  const emb = g.op('Gather', [o.init(`${P}${n.embeddings}.weight`), inputs.inputIds], { axis: attr.int(0) }, { name: o.name('tok_emb') });
  let x = ln(emb, P + n.embeddingNorm);

  const positions = o.positions(inputs.inputIds);
  const posF = g.op('Cast', [positions], { to: attr.int(1) }, { name: o.name('positions_f') });
  const angles = new Map<ModernBertLayerType, RotaryAngles>();
  const anglesFor = (t: ModernBertLayerType): RotaryAngles => {
    let a = angles.get(t);
    if (!a) {
      a = emitRotaryAngles(g, posF, hd, t === 'full_attention' ? cfg.globalRopeTheta : cfg.localRopeTheta, o.name(t === 'full_attention' ? 'rope_global' : 'rope_local'));
      angles.set(t, a);
    }
    return a;
  };

  // Additive masks, 0 or float32.min. Padded keys: [batch, 1, 1, S]. Sliding layers also mask keys
  // farther than the half window: [batch, 1, S, S]. Where a key is both, the score gets one min (as
  // HF's masked_fill), never min + min = −inf, which would turn fully masked rows into NaN.
  const mask = inputs.attentionMask;
  const keyPadded = g.op('Unsqueeze', [g.op('Equal', [mask, g.constInt64([0], [], o.name('zero_i'))], {}, { name: o.name('key_padded_2d') }), g.constInt64([1, 2], [2], o.name('mask_axes'))], {}, { name: o.name('key_padded') });
  const minF = g.scalarFloat(MASK_VALUE, o.name('mask_min'));
  const zeroF = g.scalarFloat(0, o.name('mask_zero'));
  const globalBias = g.op('Where', [keyPadded, minF, zeroF], {}, { name: o.name('global_mask') });
  let localBias: string | null = null;
  const localMask = (): string => {
    if (localBias) return localBias;
    const rows = g.op('Unsqueeze', [positions, g.constInt64([1], [1], o.name('axis1'))], {}, { name: o.name('pos_rows') });
    const cols = g.op('Unsqueeze', [positions, g.constInt64([0], [1], o.name('axis0'))], {}, { name: o.name('pos_cols') });
    const dist = g.op('Abs', [g.op('Sub', [rows, cols], {}, { name: o.name('pos_delta') })], {}, { name: o.name('pos_dist') });
    const far = g.op('Greater', [dist, g.constInt64([Math.floor(cfg.localAttention / 2)], [], o.name('half_window'))], {}, { name: o.name('outside_window') });
    localBias = g.op('Where', [g.op('Or', [keyPadded, far], {}, { name: o.name('local_masked') }), minF, zeroF], {}, { name: o.name('local_mask') });
    return localBias;
  };

  const splitShape = g.constInt64([0, 0, nh, hd], [4], o.name('split_shape'));
  const mergeShape = g.constInt64([0, 0, H], [3], o.name('merge_shape'));
  const scale = g.scalarFloat(1 / Math.sqrt(hd), o.name('attn_scale'));
  const rotate = ops.rotary === 'fused' ? applyRotaryFused : applyRotary;
  for (let i = 0; i < cfg.numLayers; i++) {
    const type = cfg.layerTypes[i]!;
    const L = (hint: string): string => o.name(`l${i}_${hint}`);
    const h = w.tensors.has(`${P}${n.attnNorm(i)}.weight`) ? ln(x, P + n.attnNorm(i)) : x;
    const qkv = o.linear(h, P + n.wqkv(i), `l${i}_qkv`, cfg.attentionBias);
    const parts = g.node('Split', [qkv], { axis: attr.int(-1) }, { name: L('qkv_split'), outputs: 3 });
    const heads = (t: string, hint: string): string =>
      g.op('Transpose', [g.op('Reshape', [t, splitShape], {}, { name: L(`${hint}_4d`) })], { perm: attr.ints([0, 2, 1, 3]) }, { name: L(`${hint}_heads`) });
    const a = anglesFor(type);
    const q = rotate(g, heads(parts[0]!, 'q'), a, L('q_rot'));
    const k = rotate(g, heads(parts[1]!, 'k'), a, L('k_rot'));
    const v = heads(parts[2]!, 'v');
    const kT = g.op('Transpose', [k], { perm: attr.ints([0, 1, 3, 2]) }, { name: L('k_t') });
    const raw = g.op('Mul', [g.op('MatMul', [q, kT], {}, { name: L('qk') }), scale], {}, { name: L('qk_scaled') });
    const scores = g.op('Add', [raw, type === 'full_attention' ? globalBias : localMask()], {}, { name: L('scores') });
    const probs = g.op('Softmax', [scores], { axis: attr.int(-1) }, { name: L('probs') });
    const ctx4 = g.op('Transpose', [g.op('MatMul', [probs, v], {}, { name: L('ctx_heads') })], { perm: attr.ints([0, 2, 1, 3]) }, { name: L('ctx_t') });
    const ctx = g.op('Reshape', [ctx4, mergeShape], {}, { name: L('ctx') });
    x = g.op('Add', [x, o.linear(ctx, P + n.wo(i), `l${i}_attn_out`, cfg.attentionBias)], {}, { name: L('attn_res') });
    // GeGLU: Wi's first half is activated, its second half gates it.
    const wi = o.linear(ln(x, P + n.mlpNorm(i)), P + n.wi(i), `l${i}_wi`, cfg.mlpBias);
    const [u, gate] = g.node('Split', [wi], { axis: attr.int(-1) }, { name: L('wi_split'), outputs: 2 }) as [string, string];
    const glu = g.op('Mul', [activation(g, u, cfg.hiddenAct, L('act')), gate], {}, { name: L('glu') });
    x = g.op('Add', [x, o.linear(glu, P + n.mlpWo(i), `l${i}_mlp_out`, cfg.mlpBias)], {}, { name: L('mlp_res') });
  }
  const hidden = ln(x, P + n.finalNorm);

  const cls = g.op('Gather', [hidden, g.constInt64([0], [], o.name('cls_index'))], { axis: attr.int(1) }, { name: o.name('cls_hidden') });
  const pool = cfg.pooling === 'cls' ? cls : meanPool(g, o, hidden, mask);
  const dense = o.linear(pool, n.headDense, 'head_dense', cfg.classifierBias);
  const pooled = ln(activation(g, dense, cfg.classifierAct, o.name('head_act')), n.headNorm);
  const logits = o.linear(pooled, n.classifier, 'classifier');
  return { logits, pooled, cls, hidden };
}

/** Σ_t mask_t·h_t / Σ_t mask_t over every real token ([CLS] and [SEP] included), as HF pools "mean". */
function meanPool(g: GraphBuilder, o: WeightOps, hidden: string, mask: string): string {
  const m = g.op('Cast', [mask], { to: attr.int(1) }, { name: o.name('pool_mask') });
  const weighted = g.op('Mul', [hidden, g.op('Unsqueeze', [m, g.constInt64([2], [1], o.name('pool_axis'))], {}, { name: o.name('pool_mask_3d') })], {}, { name: o.name('pool_weighted') });
  const axis1 = g.constInt64([1], [1], o.name('pool_sum_axis'));
  const sum = g.op('ReduceSum', [weighted, axis1], { keepdims: attr.int(0) }, { name: o.name('pool_sum') });
  const count = g.op('ReduceSum', [m, axis1], { keepdims: attr.int(1) }, { name: o.name('pool_count') });
  return g.op('Div', [sum, count], {}, { name: o.name('mean_pool') });
}
