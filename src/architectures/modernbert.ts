import { ruleTable, type FamilyAlignment } from '../align/axis-parts.js';
import { BertfuseError } from '../errors.js';
import { activation, counterPositions, EmitContext, MASK_VALUE } from '../graph/encoder-blocks.js';
import { attr, type GraphBuilder } from '../graph/onnx-builder.js';
import { applyRotary, applyRotaryFused, emitRotaryAngles, type RotaryAngles } from '../graph/rotary.js';
import { activationField, boolField, checkLimits, choiceField, headsDivide, integerField, numberField, parseLabels, sizeFields, type RawConfig } from './fields.js';
import type { Activation, ConfigSource, EmitOptions, EncoderInputs, EncoderOutputs, Family, HeadInputs, HeadOutputs, ModelConfig, ModelWeights, ProbeNames } from './types.js';

/**
 * ModernBERT (`ModernBertForSequenceClassification`, model_type `modernbert`): pre-LN layers with
 * bias-free LayerNorms (none before the first attention), fused Wqkv, rotary positions with one θ
 * for global and another for sliding-window layers, GeGLU MLP, a final norm, and a
 * dense → act → norm head over [CLS] or the mean of the real tokens. No token types.
 */

export type ModernBertLayerType = 'full_attention' | 'sliding_attention';

/** What ModernBERT reads beyond ModelConfig's common fields (kept in `extra`). */
export interface ModernBertSettings {
  readonly normBias: boolean;
  readonly attentionBias: boolean;
  readonly mlpBias: boolean;
  readonly classifierBias: boolean;
  readonly classifierAct: Activation;
  readonly pooling: 'cls' | 'mean';
  /** `local_attention`: the whole window; a key is seen when |query − key| ≤ localAttention / 2 (floor). */
  readonly localAttention: number;
  readonly layerTypes: readonly ModernBertLayerType[];
  readonly globalRopeTheta: number;
  readonly localRopeTheta: number;
}

export function modernBertSettings(cfg: ModelConfig): ModernBertSettings {
  const x = cfg.extra;
  return {
    normBias: x['normBias'] as boolean,
    attentionBias: x['attentionBias'] as boolean,
    mlpBias: x['mlpBias'] as boolean,
    classifierBias: x['classifierBias'] as boolean,
    classifierAct: x['classifierAct'] as Activation,
    pooling: x['pooling'] as 'cls' | 'mean',
    localAttention: x['localAttention'] as number,
    layerTypes: x['layerTypes'] as readonly ModernBertLayerType[],
    globalRopeTheta: x['globalRopeTheta'] as number,
    localRopeTheta: x['localRopeTheta'] as number,
  };
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

/** ModernBertConfig fields with Hugging Face's names and defaults → ModelConfig (+ settings in `extra`). */
function parseConfig(r: RawConfig, src: ConfigSource): ModelConfig {
  const file = src.file;
  const hiddenSize = integerField(r, 'hidden_size', file, 768, 1);
  const numHeads = integerField(r, 'num_attention_heads', file, 12, 1);
  headsDivide(hiddenSize, numHeads, 'hidden_size', 'num_attention_heads', file);
  if ((hiddenSize / numHeads) % 2 !== 0) throw new BertfuseError('E_BAD_CONFIG', `head size ${hiddenSize / numHeads} is odd: rotary embeddings pair dimensions`, file);
  const numLayers = integerField(r, 'num_hidden_layers', file, 22, 1);
  const theta = ropeThetas(r, file);
  const settings: ModernBertSettings = {
    normBias: boolField(r, 'norm_bias', file, false),
    attentionBias: boolField(r, 'attention_bias', file, false),
    mlpBias: boolField(r, 'mlp_bias', file, false),
    classifierBias: boolField(r, 'classifier_bias', file, false),
    classifierAct: activationField(r, 'classifier_activation', file, 'gelu'),
    pooling: choiceField(r, 'classifier_pooling', file, 'cls', ['cls', 'mean'] as const),
    localAttention: integerField(r, 'local_attention', file, 128, 1),
    layerTypes: layerTypes(r, file, numLayers),
    globalRopeTheta: theta.global,
    localRopeTheta: theta.local,
  };
  return checkLimits(
    {
      family: 'modernbert',
      architecture: src.architecture,
      task: src.task,
      hiddenSize,
      numLayers,
      numHeads,
      intermediateSize: integerField(r, 'intermediate_size', file, 1152, 1),
      vocabSize: integerField(r, 'vocab_size', file, 50368, 1),
      // Only sizes HF's rotary cache: our angles are computed for any length.
      maxPositions: integerField(r, 'max_position_embeddings', file, 8192, 1),
      typeVocabSize: 0,
      layerNormEps: numberField(r, 'norm_eps', file, 1e-5),
      hiddenAct: activationField(r, 'hidden_activation', file, 'gelu'),
      padTokenId: integerField(r, 'pad_token_id', file, 50283, 0),
      labels: src.task === 'classify' ? parseLabels(r, file) : null,
      extra: { ...settings },
      raw: r,
    },
    file,
  );
}

/** The interpreted config.json fields, in the Hub checkpoints' form (every transformers ≥ 4.48 reads it). */
function hfFields(cfg: ModelConfig): Record<string, unknown> {
  const m = modernBertSettings(cfg);
  const every = m.layerTypes.findIndex((t, i) => i > 0 && t === 'full_attention');
  const period = every < 0 ? m.layerTypes.length : every;
  const periodic = m.layerTypes.every((t, i) => (i % period === 0) === (t === 'full_attention'));
  return {
    model_type: 'modernbert',
    ...sizeFields(cfg),
    norm_eps: cfg.layerNormEps,
    hidden_activation: cfg.hiddenAct,
    pad_token_id: cfg.padTokenId,
    norm_bias: m.normBias,
    attention_bias: m.attentionBias,
    mlp_bias: m.mlpBias,
    classifier_bias: m.classifierBias,
    classifier_activation: m.classifierAct,
    classifier_pooling: m.pooling,
    local_attention: m.localAttention,
    global_rope_theta: m.globalRopeTheta,
    local_rope_theta: m.localRopeTheta,
    ...(periodic ? { global_attn_every_n_layers: period, layer_types: undefined } : { layer_types: m.layerTypes }),
    rope_parameters: undefined,
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
function expectedTensors(cfg: ModelConfig, prefix: string): Map<string, number[]> {
  const m = modernBertSettings(cfg);
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
    if (m.normBias) out.set(`${module}.bias`, [H]);
  };
  out.set(`${prefix}${n.embeddings}.weight`, [cfg.vocabSize, H]);
  norm(prefix + n.embeddingNorm);
  for (let i = 0; i < cfg.numLayers; i++) {
    if (i > 0) norm(prefix + n.attnNorm(i));
    linear(prefix + n.wqkv(i), 3 * H, H, m.attentionBias);
    linear(prefix + n.wo(i), H, H, m.attentionBias);
    norm(prefix + n.mlpNorm(i));
    linear(prefix + n.wi(i), 2 * I, H, m.mlpBias);
    linear(prefix + n.mlpWo(i), H, I, m.mlpBias);
  }
  norm(prefix + n.finalNorm);
  if (cfg.task === 'classify') {
    linear(n.headDense, H, H, m.classifierBias);
    norm(n.headNorm);
    linear(n.classifier, cfg.labels?.length ?? 2, H, true);
  }
  return out;
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
  note: 'ModernBERT alignment: query/key units move only with their whole head (rotary embeddings tie each unit inside a head to its frequency); value units, GeGLU units (both halves), the residual stream and the head are matched unit by unit',
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

/**
 * Where activation matching reads ModernBERT's units: q, k and v are the thirds of Wqkv's output
 * (before rotary: a unit's pre-rotary activation is what whole-head matching compares), the FFN's
 * units are the GeGLU product act(u)·gate that mlp.Wo reads (one unit per pair of Wi rows, the pair
 * ffn.{i} moves together), the residual units are read through the pre-LN norms (a norm commutes
 * with the residual permutation), and the head group is what the classifier reads (head.norm's output).
 */
const modernBertProbes: ProbeNames = {
  attentionInput: 'layers.{i}.attn.Wqkv',
  query: { module: 'layers.{i}.attn.Wqkv', part: 0, parts: 3 },
  key: { module: 'layers.{i}.attn.Wqkv', part: 1, parts: 3 },
  value: { module: 'layers.{i}.attn.Wqkv', part: 2, parts: 3 },
  attentionContext: 'layers.{i}.attn.Wo',
  ffnInput: 'layers.{i}.mlp.Wi',
  ffnHidden: 'layers.{i}.mlp.Wo',
  headDense: { module: modernBertNames.headDense, encoder: false },
  classifier: modernBertNames.classifier,
  headGroup: 'head',
};

/**
 * Emits the encoder (and the head of a classifier). Kernels: with `ops.attention` other than
 * `plain` the rotary turn runs as com.microsoft RotaryEmbedding; everything else is plain ONNX
 * (pre-LN blocks, bias-free norms and GeGLU have no fused kernel to map to).
 */
function emit(g: GraphBuilder, w: ModelWeights, inputs: EncoderInputs, opts: EmitOptions = {}): EncoderOutputs {
  const c = new EmitContext(g, w, opts);
  const cfg = w.config;
  const m = modernBertSettings(cfg);
  const n = modernBertNames;
  const H = cfg.hiddenSize;
  const nh = cfg.numHeads;
  const hd = H / nh;
  const name = (hint: string): string => c.s + hint;
  const ln = (x: string, module: string, encoder = true): string => c.layerNorm(x, module, encoder, cfg.layerNormEps, m.normBias);

  const emb = g.op('Gather', [c.param(`${n.embeddings}.weight`), inputs.inputIds], { axis: attr.int(0) }, { name: name('tok_emb') });
  // Dropout where HF's ModernBERT has it (training only): embeddings after the norm
  // (embedding_dropout), attention probabilities and the attention's output projection
  // (attention_dropout), the GeGLU product before mlp.Wo (mlp_dropout), the classifier's input.
  let x = c.drop(ln(emb, n.embeddingNorm), 'embedding', ['batch', 'sequence', H]);

  const positions = counterPositions(c, inputs.inputIds);
  const posF = g.op('Cast', [positions], { to: attr.int(1) }, { name: name('positions_f') });
  const angles = new Map<ModernBertLayerType, RotaryAngles>();
  const anglesFor = (t: ModernBertLayerType): RotaryAngles => {
    let a = angles.get(t);
    if (!a) {
      const global = t === 'full_attention';
      a = emitRotaryAngles(g, posF, hd, global ? m.globalRopeTheta : m.localRopeTheta, name(global ? 'rope_global' : 'rope_local'));
      angles.set(t, a);
    }
    return a;
  };

  // Additive masks, 0 or float32.min. Padded keys: [batch, 1, 1, S]. Sliding layers also mask keys
  // farther than the half window: [batch, 1, S, S]. Where a key is both, the score gets one min (as
  // HF's masked_fill), never min + min = −inf, which would turn fully masked rows into NaN.
  const mask = inputs.attentionMask;
  const keyPadded = g.op('Unsqueeze', [g.op('Equal', [mask, g.constInt64([0], [], name('zero_i'))], {}, { name: name('key_padded_2d') }), g.constInt64([1, 2], [2], name('mask_axes'))], {}, { name: name('key_padded') });
  const minF = g.scalarFloat(MASK_VALUE, name('mask_min'));
  const zeroF = g.scalarFloat(0, name('mask_zero'));
  const globalBias = g.op('Where', [keyPadded, minF, zeroF], {}, { name: name('global_mask') });
  let localBias: string | null = null;
  const localMask = (): string => {
    if (localBias) return localBias;
    const rows = g.op('Unsqueeze', [positions, g.constInt64([1], [1], name('axis1'))], {}, { name: name('pos_rows') });
    const cols = g.op('Unsqueeze', [positions, g.constInt64([0], [1], name('axis0'))], {}, { name: name('pos_cols') });
    const dist = g.op('Abs', [g.op('Sub', [rows, cols], {}, { name: name('pos_delta') })], {}, { name: name('pos_dist') });
    const far = g.op('Greater', [dist, g.constInt64([Math.floor(m.localAttention / 2)], [], name('half_window'))], {}, { name: name('outside_window') });
    localBias = g.op('Where', [g.op('Or', [keyPadded, far], {}, { name: name('local_masked') }), minF, zeroF], {}, { name: name('local_mask') });
    return localBias;
  };

  const splitShape = g.constInt64([0, 0, nh, hd], [4], name('split_shape'));
  const mergeShape = g.constInt64([0, 0, H], [3], name('merge_shape'));
  const scale = g.scalarFloat(1 / Math.sqrt(hd), name('attn_scale'));
  const rotate = c.ops.attention === 'plain' ? applyRotary : applyRotaryFused;
  for (let i = 0; i < cfg.numLayers; i++) {
    const type = m.layerTypes[i]!;
    const L = (hint: string): string => name(`l${i}_${hint}`);
    const h = c.has(`${n.attnNorm(i)}.weight`) ? ln(x, n.attnNorm(i)) : x;
    const qkv = c.linear(h, n.wqkv(i), `l${i}_qkv`, true, m.attentionBias);
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
    const probs = c.drop(g.op('Softmax', [scores], { axis: attr.int(-1) }, { name: L('probs') }), 'attention', ['batch', nh, 'sequence', 'sequence']);
    const ctx4 = g.op('Transpose', [g.op('MatMul', [probs, v], {}, { name: L('ctx_heads') })], { perm: attr.ints([0, 2, 1, 3]) }, { name: L('ctx_t') });
    const ctx = g.op('Reshape', [ctx4, mergeShape], {}, { name: L('ctx') });
    x = g.op('Add', [x, c.drop(c.linear(ctx, n.wo(i), `l${i}_attn_out`, true, m.attentionBias), 'attention', ['batch', 'sequence', H])], {}, { name: L('attn_res') });
    // GeGLU: Wi's first half is activated, its second half gates it.
    const wi = c.linear(ln(x, n.mlpNorm(i)), n.wi(i), `l${i}_wi`, true, m.mlpBias);
    const [u, gate] = g.node('Split', [wi], { axis: attr.int(-1) }, { name: L('wi_split'), outputs: 2 }) as [string, string];
    const glu = c.drop(g.op('Mul', [activation(g, u, cfg.hiddenAct, L('act')), gate], {}, { name: L('glu') }), 'mlp', ['batch', 'sequence', cfg.intermediateSize]);
    x = g.op('Add', [x, c.linear(glu, n.mlpWo(i), `l${i}_mlp_out`, true, m.mlpBias)], {}, { name: L('mlp_res') });
  }
  const hidden = ln(x, n.finalNorm);
  const cls = c.first(hidden);
  if (cfg.task !== 'classify') return { logits: null, pooled: null, cls, hidden };
  return { ...emitHead(c, { cls, hidden, attentionMask: mask }), cls, hidden };
}

/** cls or mean pooling (classifier_pooling), dense → classifier_activation → norm, then the classifier. */
function emitHead(c: EmitContext, body: HeadInputs): HeadOutputs {
  const m = modernBertSettings(c.cfg);
  const n = modernBertNames;
  const pool = m.pooling === 'cls' ? body.cls : meanPool(c.g, c.s, body.hidden, body.attentionMask);
  const dense = c.linear(pool, n.headDense, 'head_dense', false, m.classifierBias);
  const pooled = c.layerNorm(activation(c.g, dense, m.classifierAct, `${c.s}head_act`), n.headNorm, false, c.cfg.layerNormEps, m.normBias);
  return { pooled, logits: c.linear(c.drop(pooled, 'classifier', ['batch', c.cfg.hiddenSize]), n.classifier, 'classifier', false) };
}

/** answerdotai/ModernBERT-base's shape as a config.json (for random-weight benchmarks): 149,014,272 encoder parameters. */
export const MODERNBERT_BASE_CONFIG: Readonly<Record<string, unknown>> = {
  model_type: 'modernbert',
  hidden_size: 768,
  num_hidden_layers: 22,
  num_attention_heads: 12,
  intermediate_size: 1152,
  vocab_size: 50368,
  max_position_embeddings: 8192,
  local_attention: 128,
  global_attn_every_n_layers: 3,
  global_rope_theta: 160000,
  local_rope_theta: 10000,
};

export const modernbert: Family = {
  name: 'modernbert',
  modelTypes: ['modernbert'],
  architectures: { ModernBertForSequenceClassification: 'classify', ModernBertModel: 'encoder' },
  prefixes: ['model.', ''],
  probeTensor: `${modernBertNames.embeddings}.weight`,
  // [CLS] A [SEP] / [CLS] A [SEP] B [SEP], type ids all 0 (its TemplateProcessing); the model reads none.
  tokenizer: { models: ['BPE'], template: 'bert', pairTypeId: 0, specials: { cls: '[CLS]', sep: '[SEP]', pad: '[PAD]' }, tokenTypes: false },
  parseConfig,
  hfFields,
  layerProbe: (i) => `${modernBertNames.wqkv(i)}.weight`,
  expectedTensors,
  alignment: () => modernBertAlignment,
  probes: modernBertProbes,
  emit,
  emitHead,
};

/** Σ_t mask_t·h_t / Σ_t mask_t over every real token ([CLS] and [SEP] included), as HF pools "mean". */
function meanPool(g: GraphBuilder, s: string, hidden: string, mask: string): string {
  const o = { name: (hint: string): string => s + hint };
  const m = g.op('Cast', [mask], { to: attr.int(1) }, { name: o.name('pool_mask') });
  const weighted = g.op('Mul', [hidden, g.op('Unsqueeze', [m, g.constInt64([2], [1], o.name('pool_axis'))], {}, { name: o.name('pool_mask_3d') })], {}, { name: o.name('pool_weighted') });
  const axis1 = g.constInt64([1], [1], o.name('pool_sum_axis'));
  const sum = g.op('ReduceSum', [weighted, axis1], { keepdims: attr.int(0) }, { name: o.name('pool_sum') });
  const count = g.op('ReduceSum', [m, axis1], { keepdims: attr.int(1) }, { name: o.name('pool_count') });
  return g.op('Div', [sum, count], {}, { name: o.name('mean_pool') });
}
