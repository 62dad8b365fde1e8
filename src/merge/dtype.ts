import { floatToBf16, floatToHalf, halfToFloat } from '../checkpoint/dtype.js';
import type { MergeDType } from '../recipe/merge.js';

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/**
 * Values rounded to a compute dtype (mergekit's `dtype`) and held as float32 again: float32 is
 * the identity (no copy); float16 and bfloat16 round to nearest even.
 */
export function roundTo(data: Float32Array, dtype: MergeDType): Float32Array {
  if (dtype === 'float32') return data;
  const out = new Float32Array(data.length);
  if (dtype === 'float16') {
    for (let i = 0; i < data.length; i++) out[i] = halfToFloat(floatToHalf(data[i]!));
    return out;
  }
  for (let i = 0; i < data.length; i++) {
    u32[0] = floatToBf16(data[i]!) << 16;
    out[i] = f32[0]!;
  }
  return out;
}
