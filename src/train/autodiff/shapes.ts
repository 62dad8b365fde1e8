import type { SymDim, SymShape } from './types.js';

/** Numpy broadcasting of two static shapes; unknown dims stay unknown unless the other side decides. */
export function broadcastShapes(a: SymShape, b: SymShape): SymShape {
  const r = Math.max(a.length, b.length);
  const out: SymDim[] = [];
  for (let i = 0; i < r; i++) {
    const da = i - (r - a.length) >= 0 ? a[i - (r - a.length)]! : 1;
    const db = i - (r - b.length) >= 0 ? b[i - (r - b.length)]! : 1;
    out.push(broadcastDim(da, db));
  }
  return out;
}

function broadcastDim(a: SymDim, b: SymDim): SymDim {
  if (a === 1) return b;
  if (b === 1) return a;
  if (a === b) return a;
  // A valid graph has equal sizes here; a known size beats an unknown one.
  if (a === null) return b;
  if (b === null) return a;
  return typeof a === 'number' ? a : typeof b === 'number' ? b : null;
}

/** Axis in [0, rank). */
export function normAxis(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new Error(`axis ${axis} out of range for rank ${rank}`);
  return a;
}

export function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);
}

export function inversePerm(perm: readonly number[]): number[] {
  const inv = new Array<number>(perm.length);
  perm.forEach((p, i) => (inv[p] = i));
  return inv;
}
