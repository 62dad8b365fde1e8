import { MS_DOMAIN } from './fused-ops.js';
import { attr, type GraphBuilder } from './onnx-builder.js';

/**
 * Rotary position embeddings in the GPT-NeoX "rotate half" layout (ModernBERT, and Llama-style
 * encoders): dimension j of a head pairs with dimension j + d/2, both turned by the angle
 * p · inv_freq[j] at position p.
 *
 * The angles are computed in the graph from the sequence length rather than gathered from a table
 * sized max_position_embeddings: nothing is stored, any length works (the table would cap it), and
 * the product p · inv_freq is one float32 multiply, exactly what Hugging Face computes.
 */

/** inv_freq[j] = 1 / θ^(2j/d), j < d/2, rounded to float32 at every step as PyTorch computes it. */
export function rotaryInvFreq(headDim: number, theta: number): Float32Array {
  const half = headDim / 2;
  const out = new Float32Array(half);
  for (let j = 0; j < half; j++) {
    const exponent = Math.fround((2 * j) / headDim);
    out[j] = Math.fround(1 / Math.fround(Math.pow(theta, exponent)));
  }
  return out;
}

/** Angles for one θ: `half` is [S, d/2] (what the fused kernel takes), cos/sin are [S, d] for the plain form. */
export interface RotaryAngles {
  readonly cosHalf: string;
  readonly sinHalf: string;
  /** cos([a, a]) [S, d]. */
  readonly cos: string;
  /** [−sin a, sin a] [S, d]: the sign of rotate_half folded in, so the plain form needs no Neg. */
  readonly sinSigned: string;
}

/**
 * cos/sin of p · inv_freq for p = 0..S−1. `positions` is the float [S] position vector
 * (shared by every θ of a model).
 */
export function emitRotaryAngles(g: GraphBuilder, positions: string, headDim: number, theta: number, name: string): RotaryAngles {
  const invFreq = g.constFloat(rotaryInvFreq(headDim, theta), [1, headDim / 2], `${name}_inv_freq`);
  const col = g.op('Unsqueeze', [positions, g.constInt64([1], [1], `${name}_axis1`)], {}, { name: `${name}_pos_col` });
  const angles = g.op('Mul', [col, invFreq], {}, { name: `${name}_angles` });
  const cosHalf = g.op('Cos', [angles], {}, { name: `${name}_cos_half` });
  const sinHalf = g.op('Sin', [angles], {}, { name: `${name}_sin_half` });
  const cos = g.op('Concat', [cosHalf, cosHalf], { axis: attr.int(-1) }, { name: `${name}_cos` });
  const negSin = g.op('Neg', [sinHalf], {}, { name: `${name}_neg_sin` });
  const sinSigned = g.op('Concat', [negSin, sinHalf], { axis: attr.int(-1) }, { name: `${name}_sin` });
  return { cosHalf, sinHalf, cos, sinSigned };
}

/**
 * x' = x·cos + rotate_half(x)·sin for x [batch, heads, S, d], plain ONNX. rotate_half([x1, x2]) =
 * [−x2, x1]; with the sign inside `sinSigned` it is a swap of the halves.
 */
export function applyRotary(g: GraphBuilder, x: string, angles: RotaryAngles, name: string): string {
  const [x1, x2] = g.node('Split', [x], { axis: attr.int(-1) }, { name: `${name}_split`, outputs: 2 }) as [string, string];
  const swapped = g.op('Concat', [x2, x1], { axis: attr.int(-1) }, { name: `${name}_swap` });
  const a = g.op('Mul', [x, angles.cos], {}, { name: `${name}_xcos` });
  const b = g.op('Mul', [swapped, angles.sinSigned], {}, { name: `${name}_xsin` });
  return g.op('Add', [a, b], {}, { name });
}

/**
 * The same with onnxruntime's com.microsoft RotaryEmbedding kernel (x [batch, heads, S, d],
 * non-interleaved). Its position_ids input of shape [1] is an offset: positions 0..S−1 read rows
 * 0..S−1 of the [S, d/2] caches computed above.
 */
export function applyRotaryFused(g: GraphBuilder, x: string, angles: RotaryAngles, name: string): string {
  const offset = g.constInt64([0], [1], `${name}_offset`);
  return g.op('RotaryEmbedding', [x, offset, angles.cosHalf, angles.sinHalf], { interleaved: attr.int(0) }, { name, domain: MS_DOMAIN });
}
