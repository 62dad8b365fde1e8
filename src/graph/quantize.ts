import type onnxProto from 'onnx-proto';
import { MS_DOMAIN } from './fused-ops.js';
import { attr, type GraphBuilder } from './onnx-builder.js';

type NodeProto = onnxProto.onnx.INodeProto;

export type QuantizeMode = 'int8';
export const QUANTIZE_MODES: readonly QuantizeMode[] = ['int8'];

/**
 * How a quantised product is written. All three compute the same thing: activations quantised
 * per tensor at run time (uint8, asymmetric), weights per output column ahead of time (symmetric).
 * - `dynamic-quantize-matmul`: one com.microsoft DynamicQuantizeMatMul per layer (bias folded in);
 * - `matmul-integer-to-float`: DynamicQuantizeLinear (shared by Q, K and V) + MatMulIntegerToFloat;
 * - `matmul-integer`: standard ONNX only: DynamicQuantizeLinear + MatMulInteger + Cast + Mul (+ Add).
 */
export type Int8Kernel = 'dynamic-quantize-matmul' | 'matmul-integer-to-float' | 'matmul-integer';
export const INT8_KERNELS: readonly Int8Kernel[] = ['dynamic-quantize-matmul', 'matmul-integer-to-float', 'matmul-integer'];

export interface QuantizeOptions {
  readonly kernel?: Int8Kernel;
  /**
   * Bits of weight range: 7 (±63, default) or 8 (±127). x86 CPUs without VNNI (AVX2, plain
   * AVX-512) multiply uint8×int8 with vpmaddubsw, whose int16 pair sums saturate with 8-bit
   * weights (measured: 3x larger logit error on the fixtures); 7-bit weights cannot saturate.
   */
  readonly weightBits?: 8 | 7;
  /** Which nodes to quantise, by node name. Default: the encoder layers (heads stay float). */
  readonly select?: (nodeName: string) => boolean;
}

export interface QuantizeReport {
  readonly matmuls: number;
  readonly attentions: number;
  /** Float weight bytes replaced, and the int8 + scale bytes that replaced them. */
  readonly bytesBefore: number;
  readonly bytesAfter: number;
}

/** Node names emitBert gives to per-layer nodes: `n_[scope.]l<i>_...`. */
export function isEncoderLayerNode(nodeName: string): boolean {
  return /^n_(?:.*\.)?l\d+_/.test(nodeName);
}

export interface QuantizedMatrix {
  /** Row-major [rows, cols], q = round(w / scale[col]) clamped to ±qmax. */
  readonly q: Int8Array;
  /** One scale per column: max |w[:, col]| / qmax (1 for an all-zero column). */
  readonly scales: Float32Array;
}

/** Symmetric per-column quantisation of a row-major [rows, cols] matrix (a MatMul's B, [in, out]). */
export function quantizePerColumn(w: Float32Array, rows: number, cols: number, qmax = 127): QuantizedMatrix {
  const scales = new Float32Array(cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const a = Math.abs(w[r * cols + c]!);
      if (a > scales[c]!) scales[c] = a;
    }
  }
  for (let c = 0; c < cols; c++) scales[c] = scales[c]! > 0 ? scales[c]! / qmax : 1;
  const q = new Int8Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const v = Math.round(w[r * cols + c]! / scales[c]!);
      q[r * cols + c] = v > qmax ? qmax : v < -qmax ? -qmax : v;
    }
  }
  return { q, scales };
}

/**
 * Rewrites the graph's linear layers to dynamic int8: every selected MatMul with a constant
 * 2-D float weight (its following bias Add folded in where the kernel takes a bias), and every
 * com.microsoft Attention (→ QAttention). Works on any graph built with GraphBuilder, so a
 * combined two-member graph is quantised the same way as a single model.
 */
export function quantizeGraph(g: GraphBuilder, opts: QuantizeOptions = {}): QuantizeReport {
  const kernel = opts.kernel ?? 'dynamic-quantize-matmul';
  const qmax = (opts.weightBits ?? 7) === 8 ? 127 : 63;
  const select = opts.select ?? isEncoderLayerNode;
  const nodes = g.mutableNodes();
  const consumers = g.readersOf();

  const quantized = new Map<string, { q: string; scale: string }>();
  let bytesBefore = 0;
  let bytesAfter = 0;
  /** int8 weight + per-column scale initializers for a float [K, N] initializer, once per weight. */
  const weightOf = (name: string): { q: string; scale: string; cols: number } | null => {
    const init = g.initializerData(name);
    if (!init || !(init.data instanceof Float32Array) || init.dims.length !== 2) return null;
    const [rows, cols] = init.dims as [number, number];
    let hit = quantized.get(name);
    if (!hit) {
      const { q, scales } = quantizePerColumn(init.data, rows, cols, qmax);
      hit = { q: g.initializer(`${name}_int8`, q, [rows, cols]), scale: g.initializer(`${name}_scale`, scales, [cols]) };
      quantized.set(name, hit);
      bytesBefore += init.data.byteLength;
      bytesAfter += q.byteLength + scales.byteLength;
    }
    return { ...hit, cols };
  };
  /** A following `Add(mm, bias[N])` that can be folded into the product. */
  const foldableBias = (mm: string, cols: number): { add: NodeProto; bias: string } | null => {
    const users = consumers.get(mm) ?? [];
    if (users.length !== 1) return null;
    const add = users[0]!;
    if (add.opType !== 'Add' || (add.domain ?? '') !== '' || add.input?.length !== 2) return null;
    const bias = add.input[0] === mm ? add.input[1]! : add.input[0]!;
    const b = g.initializerData(bias);
    if (!b || !(b.data instanceof Float32Array) || b.dims.length !== 1 || b.dims[0] !== cols) return null;
    return { add, bias };
  };
  const dqlCache = new Map<string, [string, string, string]>();
  /** DynamicQuantizeLinear(x) → [uint8 x, scale, zero point]; one per activation, shared by its users. */
  const dql = (x: string, hint: string): [string, string, string] => {
    let hit = dqlCache.get(x);
    if (!hit) {
      const [q, s, z] = g.node('DynamicQuantizeLinear', [x], {}, { name: `${hint}_dql`, outputs: 3 });
      hit = [q!, s!, z!];
      dqlCache.set(x, hit);
    }
    return hit;
  };

  const out: NodeProto[] = [];
  const dropped = new Set<NodeProto>();
  let matmuls = 0;
  let attentions = 0;
  for (const node of [...nodes]) {
    if (dropped.has(node)) continue;
    const name = node.name ?? '';
    const before = nodes.length;
    const domain = node.domain ?? '';
    if (node.opType === 'MatMul' && domain === '' && select(name)) {
      const [a, b] = node.input as [string, string];
      const w = weightOf(b);
      if (w) {
        const fold = kernel === 'matmul-integer' ? null : foldableBias(node.output![0]!, w.cols);
        const result = fold ? fold.add.output![0]! : node.output![0]!;
        if (fold) dropped.add(fold.add);
        emitInt8MatMul(g, kernel, { a, w, bias: fold?.bias ?? '', output: result, hint: name.replace(/^n_/, ''), dql });
        matmuls++;
      }
    } else if (node.opType === 'Attention' && domain === MS_DOMAIN && select(name)) {
      const [x, wName, bias, mask] = node.input as [string, string, string, string?];
      const w = weightOf(wName);
      if (w) {
        const [xq, xs, xz] = dql(x, name.replace(/^n_/, ''));
        g.node('QAttention', [xq, w.q, bias, xs, w.scale, mask ?? '', xz], {}, { name: `${name.replace(/^n_/, '')}_q`, domain: MS_DOMAIN, outputs: [] });
        const q = nodes[nodes.length - 1]!;
        q.output = [...node.output!];
        q.attribute = node.attribute ?? [];
        attentions++;
      }
    }
    if (nodes.length === before) out.push(node);
    // New nodes were appended by the builder; move them to where the replaced node stood.
    else out.push(...nodes.splice(before));
  }
  nodes.splice(0, nodes.length, ...out.filter((n) => !dropped.has(n)));

  // Float weights nobody reads any more.
  const used = new Set(nodes.flatMap((n) => n.input ?? []));
  for (const name of quantized.keys()) if (!used.has(name)) g.removeInitializer(name);
  return { matmuls, attentions, bytesBefore, bytesAfter };
}

interface Int8MatMulArgs {
  readonly a: string;
  readonly w: { q: string; scale: string; cols: number };
  /** Bias initializer to fold in, or ''. */
  readonly bias: string;
  /** The value name the result must carry (the replaced MatMul's or Add's output). */
  readonly output: string;
  readonly hint: string;
  readonly dql: (x: string, hint: string) => [string, string, string];
}

function emitInt8MatMul(g: GraphBuilder, kernel: Int8Kernel, m: Int8MatMulArgs): void {
  const last = (): NodeProto => g.mutableNodes()[g.mutableNodes().length - 1]!;
  switch (kernel) {
    case 'dynamic-quantize-matmul': {
      g.node('DynamicQuantizeMatMul', [m.a, m.w.q, m.w.scale, '', ...(m.bias ? [m.bias] : [])], {}, { name: `${m.hint}_i8`, domain: MS_DOMAIN, outputs: [] });
      last().output = [m.output];
      return;
    }
    case 'matmul-integer-to-float': {
      const [aq, as, az] = m.dql(m.a, m.hint);
      g.node('MatMulIntegerToFloat', [aq, m.w.q, as, m.w.scale, az, '', ...(m.bias ? [m.bias] : [])], {}, { name: `${m.hint}_i8`, domain: MS_DOMAIN, outputs: [] });
      last().output = [m.output];
      return;
    }
    case 'matmul-integer': {
      const [aq, as, az] = m.dql(m.a, m.hint);
      const acc = g.op('MatMulInteger', [aq, m.w.q, az], {}, { name: `${m.hint}_i8` });
      const f = g.op('Cast', [acc], { to: attr.int(1) }, { name: `${m.hint}_f` });
      const scale = g.op('Mul', [as, m.w.scale], {}, { name: `${m.hint}_scale` });
      g.node('Mul', [f, scale], {}, { name: `${m.hint}_deq`, outputs: [] });
      last().output = [m.output];
      return;
    }
    default: {
      const never: never = kernel;
      throw new Error(`unknown int8 kernel ${String(never)}`);
    }
  }
}
