import { familyOf } from '../architectures/registry.js';
import type { LinearOutput, ProbeNames } from '../architectures/types.js';
import { BertfuseError } from '../errors.js';
import type { Checkpoint } from '../checkpoint/load.js';
import type { TextInput } from '../checkpoint/tokenizer.js';
import { emitBert, PLAIN_OPS } from '../graph/bert-graph.js';
import { GraphBuilder, attr, encodeModel } from '../graph/onnx-builder.js';
import { padBatch, planBatches } from '../runtime/batch.js';
import { createSession, int64Tensor, runSession } from '../runtime/session.js';

/**
 * Hidden activations, summarised inside ONNX. RegMean needs the Gram matrix of every linear
 * layer's inputs and activation alignment needs cross-correlations between two models' units.
 * Both are sums over tokens of outer products, so rather than a second BERT implementation in
 * TypeScript (which could drift from the graph we ship) or copying [batch, seq, 3072] activations
 * into JS, we emit the members with the same encoder emitter (plain kernels, so every linear layer
 * is a visible MatMul), tap the values feeding each MatMul, zero padded positions with the
 * attention mask, and let onnxruntime compute XᵀX per batch. JS only adds the small [d, d]
 * results in float64.
 */

/** A named point inside the encoder: per token ([batch, seq, d]) or per sequence ([batch, d]). */
export interface ProbePoint {
  readonly key: string;
  readonly width: number;
  readonly perToken: boolean;
}

/**
 * Where this checkpoint's family exposes the probe points: BERT-shaped families through the modules
 * that play BERT's parts (bertNames), others through their own ProbeNames; null when it has neither.
 */
export function probeNamesOf(ckpt: Checkpoint): ProbeNames | null {
  const family = familyOf(ckpt.config);
  if (family.probes) return family.probes;
  const n = family.bertNames;
  if (!n) return null;
  const whole = (module: string): LinearOutput => ({ module, part: 0, parts: 1 });
  const l = n.layers;
  return { attentionInput: l.query, query: whole(l.query), key: whole(l.key), value: whole(l.value), attentionContext: l.attnOut, ffnInput: l.inter, ffnHidden: l.out, headDense: n.headDense, classifier: n.classifier, headGroup: 'pooler' };
}

function namesOf(ckpt: Checkpoint): ProbeNames {
  const n = probeNamesOf(ckpt);
  if (!n) throw new BertfuseError('E_INCOMPATIBLE', `${ckpt.config.architecture} (${ckpt.config.family}) has no BERT-shaped layers to collect statistics from (RegMean, activation alignment); use another method or align: weights / none`, ckpt.dir);
  return n;
}

/** The points a BERT-shaped classifier exposes; keys are what RegMean and alignment ask for. */
export function probePoints(ckpt: Checkpoint): ProbePoint[] {
  const c = ckpt.config;
  const H = c.hiddenSize;
  const pts: ProbePoint[] = [];
  for (let i = 0; i < c.numLayers; i++) {
    pts.push(
      { key: `layer.${i}.attention_input`, width: H, perToken: true },
      { key: `layer.${i}.query`, width: H, perToken: true },
      { key: `layer.${i}.key`, width: H, perToken: true },
      { key: `layer.${i}.value`, width: H, perToken: true },
      { key: `layer.${i}.attention_context`, width: H, perToken: true },
      { key: `layer.${i}.ffn_input`, width: H, perToken: true },
      { key: `layer.${i}.ffn_hidden`, width: c.intermediateSize, perToken: true },
    );
  }
  pts.push({ key: 'final_hidden', width: H, perToken: true });
  const d = namesOf(ckpt).headDense;
  if (d && ckpt.tensors.has(`${d.encoder ? ckpt.prefix : ''}${d.module}.weight`)) pts.push({ key: 'pooler_input', width: H, perToken: false });
  if (c.task === 'classify') pts.push({ key: 'classifier_input', width: H, perToken: false });
  return pts;
}

/** A statistic summed over the (unpadded) tokens of every batch. */
export type StatRequest =
  /** Σ x xᵀ of one model's point: [d, d]. */
  | { readonly kind: 'gram'; readonly model: number; readonly key: string }
  /** Σ x: [d]. */
  | { readonly kind: 'sum'; readonly model: number; readonly key: string }
  /** Σ x²: [d]. */
  | { readonly kind: 'sumsq'; readonly model: number; readonly key: string }
  /** Σ x_a x_bᵀ between two models at the same point: [d_a, d_b]. */
  | { readonly kind: 'cross'; readonly a: number; readonly b: number; readonly key: string };

export interface StatsResult {
  /** One float64 array per request, in request order. */
  readonly values: Float64Array[];
  /** Unpadded tokens seen (per-token points are summed over these). */
  readonly tokens: number;
  /** Sequences seen (per-sequence points are summed over these). */
  readonly sequences: number;
}

interface Tap {
  readonly value: string;
  readonly point: ProbePoint;
}

/** Find the graph values feeding (and produced by) each linear layer of one emitted encoder. */
function tapEncoder(g: GraphBuilder, ckpt: Checkpoint, scope: string, hidden: string): Map<string, Tap> {
  const nodes = g.mutableNodes();
  const matmulInput = (module: string): { input: string; output: string } | null => {
    const weight = `${scope}.${module}.weight_t`;
    const n = nodes.find((x) => x.opType === 'MatMul' && x.input?.[1] === weight);
    return n ? { input: n.input![0]!, output: n.output![0]! } : null;
  };
  /** The Linear's output (its bias Add, or the MatMul itself when bias-free), or one equal slice of it on the last axis. */
  const linearOutput = (o: LinearOutput, i: number): string | null => {
    const mm = matmulInput(layerName(o.module, i));
    if (!mm) return null;
    const add = nodes.find((x) => x.opType === 'Add' && x.input?.[0] === mm.output);
    const out = add ? add.output![0]! : mm.output;
    if (o.parts === 1) return out;
    const w = ckpt.config.hiddenSize;
    const c = (v: number, hint: string): string => g.constInt64([v], [1], `${scope}_probe_${hint}`);
    return g.op('Slice', [out, c(o.part * w, `start${o.part}`), c((o.part + 1) * w, `end${o.part}`), c(-1, 'last_axis')]);
  };
  const names = namesOf(ckpt);
  const layerName = (module: string, i: number): string => module.replace('{i}', String(i));
  const taps = new Map<string, Tap>();
  for (const point of probePoints(ckpt)) {
    const k = point.key;
    let value: string | null = null;
    const m = /^layer\.(\d+)\.(.+)$/.exec(k);
    if (m) {
      const i = Number(m[1]);
      const what = m[2]!;
      if (what === 'attention_input') value = matmulInput(layerName(names.attentionInput, i))?.input ?? null;
      else if (what === 'query' || what === 'key' || what === 'value') value = linearOutput(names[what], i);
      else if (what === 'attention_context') value = matmulInput(layerName(names.attentionContext, i))?.input ?? null;
      else if (what === 'ffn_input') value = matmulInput(layerName(names.ffnInput, i))?.input ?? null;
      else if (what === 'ffn_hidden') value = matmulInput(layerName(names.ffnHidden, i))?.input ?? null;
    } else if (k === 'final_hidden') value = hidden;
    else if (k === 'pooler_input') value = names.headDense ? matmulInput(names.headDense.module)?.input ?? null : null;
    else if (k === 'classifier_input') value = matmulInput(names.classifier)?.input ?? null;
    // The emitter's structure is a contract of this module: fail loudly if it changes.
    if (value === null) throw new Error(`probe: cannot find "${k}" in the emitted graph of ${ckpt.name}`);
    taps.set(k, { value, point });
  }
  return taps;
}

/** One graph: the models side by side on shared inputs, and one output per requested statistic. */
export function buildStatsGraph(models: readonly Checkpoint[], requests: readonly StatRequest[]): Uint8Array {
  const g = new GraphBuilder('bertfuse_probe');
  const inputs = {
    inputIds: g.input('input_ids', 'int64', ['batch', 'sequence']),
    attentionMask: g.input('attention_mask', 'int64', ['batch', 'sequence']),
    tokenTypeIds: g.input('token_type_ids', 'int64', ['batch', 'sequence']),
  };
  const taps = models.map((ckpt, m) => {
    const scope = `m${m}`;
    const out = emitBert(g, ckpt, inputs, { scope, ops: PLAIN_OPS });
    return tapEncoder(g, ckpt, scope, out.hidden);
  });
  const maskCol = g.op('Reshape', [g.op('Cast', [inputs.attentionMask], { to: attr.int(1) }), g.constInt64([-1, 1], [2], 'mask_col_shape')], {}, { name: 'mask_col' });
  const masked = new Map<string, string>();
  /** [rows, d] with padded rows zeroed (per-sequence points have no padding). */
  const flat = (model: number, key: string): { value: string; width: number } => {
    const tap = taps[model]!.get(key);
    if (!tap) throw new Error(`probe: model ${model} has no point "${key}"`);
    const id = `${model}:${key}`;
    let v = masked.get(id);
    if (v === undefined) {
      v = tap.point.perToken ? g.op('Mul', [g.op('Reshape', [tap.value, g.constInt64([-1, tap.point.width], [2], 'flat_shape')]), maskCol]) : tap.value;
      masked.set(id, v);
    }
    return { value: v, width: tap.point.width };
  };
  let axis0: string | null = null;
  const reduceAxis = (): string => (axis0 ??= g.constInt64([0], [1], 'axis0'));
  requests.forEach((r, i) => {
    const name = `stat_${i}`;
    switch (r.kind) {
      case 'gram': {
        const x = flat(r.model, r.key);
        g.output(g.op('MatMul', [g.op('Transpose', [x.value], { perm: attr.ints([1, 0]) }), x.value]), name, 'float', [x.width, x.width]);
        break;
      }
      case 'sum': {
        const x = flat(r.model, r.key);
        g.output(g.op('ReduceSum', [x.value, reduceAxis()], { keepdims: attr.int(0) }), name, 'float', [x.width]);
        break;
      }
      case 'sumsq': {
        const x = flat(r.model, r.key);
        g.output(g.op('ReduceSum', [g.op('Mul', [x.value, x.value]), reduceAxis()], { keepdims: attr.int(0) }), name, 'float', [x.width]);
        break;
      }
      case 'cross': {
        const a = flat(r.a, r.key);
        const b = flat(r.b, r.key);
        g.output(g.op('MatMul', [g.op('Transpose', [a.value], { perm: attr.ints([1, 0]) }), b.value]), name, 'float', [a.width, b.width]);
        break;
      }
      default: {
        const never: never = r;
        throw new Error(`unknown statistic ${JSON.stringify(never)}`);
      }
    }
  });
  return encodeModel(g.toModel());
}

export interface StatsOptions {
  readonly batchSize?: number;
  readonly threads?: number;
  readonly onProgress?: (done: number, total: number) => void;
}

/**
 * Run the models over the texts (tokenised with the first model's tokenizer: callers check the
 * vocabularies match) and sum every requested statistic over the real tokens.
 */
export async function collectStats(models: readonly Checkpoint[], requests: readonly StatRequest[], texts: readonly TextInput[], opts: StatsOptions = {}): Promise<StatsResult> {
  const bytes = buildStatsGraph(models, requests);
  const session = await createSession(bytes, opts.threads ? { threads: opts.threads } : {}, 'statistics graph');
  try {
    const tok = models[0]!.tokenizer;
    const encoded = texts.map((t) => tok.encode(t));
    const batches = planBatches(encoded.map((e) => e.inputIds.length), opts.batchSize ?? 32);
    const values: Float64Array[] = [];
    let tokens = 0;
    let done = 0;
    for (const idx of batches) {
      const b = padBatch(idx.map((i) => encoded[i]!), tok.padId);
      const out = await runSession(session, {
        input_ids: int64Tensor(b.inputIds, b.dims),
        attention_mask: int64Tensor(b.attentionMask, b.dims),
        token_type_ids: int64Tensor(b.tokenTypeIds, b.dims),
      });
      requests.forEach((_, i) => {
        const o = out[`stat_${i}`]!.data;
        const acc = (values[i] ??= new Float64Array(o.length));
        for (let k = 0; k < o.length; k++) acc[k] += o[k]!;
      });
      for (const e of idx) tokens += encoded[e]!.inputIds.length;
      done += idx.length;
      opts.onProgress?.(done, texts.length);
    }
    return { values, tokens, sequences: texts.length };
  } finally {
    await session.release();
  }
}
