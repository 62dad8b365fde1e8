import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createSimdUpdate } from '../../src/train/adamw-simd.js';
import { adamwScalars, updateTensor, updateTensorScalar } from '../../src/train/adamw.js';
import { Rng } from '../../src/util/rng.js';

const bytes = (xs: readonly Float32Array[]): Buffer => Buffer.concat(xs.map((x) => Buffer.from(x.buffer, x.byteOffset, x.byteLength)));

test('the WebAssembly SIMD AdamW kernel loads (Node 20 has SIMD), and does every entry but an odd last one', () => {
  const simd = createSimdUpdate();
  assert.ok(simd, 'no WebAssembly SIMD: the optimizer falls back to the JavaScript loop');
  for (const n of [1, 2, 7, 8192, 8193]) {
    const z = (): Float32Array => new Float32Array(n);
    assert.equal(simd(z(), z(), z(), z(), [1, 0.9, 0.1, 0.999, 0.001, 1e-3, 1, 1e-8, 1]), n & ~1);
  }
});

test('AdamW: the SIMD kernel gives the bytes of the JavaScript loop (sizes across its blocks, decay or not, clipped or not, four steps)', () => {
  const rng = new Rng(11);
  // Gradient scales from rounding noise to large, exact zeros among them; sizes around the 8192-entry block.
  const sizes = [1, 2, 3, 8191, 8192, 8193, 3 * 8192 + 1, 20000];
  const make = (scale: number): Float32Array[] => sizes.map((n) => Float32Array.from({ length: n }, (_, i) => (i % 13 === 0 ? 0 : (rng.next() - 0.5) * scale * 10 ** (rng.int(9) - 4))));
  const w0 = make(1);
  const [wa, wb] = [w0.map((x) => x.slice()), w0.map((x) => x.slice())];
  const [ma, mb, va, vb] = [0, 1, 2, 3].map(() => sizes.map((n) => new Float32Array(n)));
  for (let step = 1; step <= 4; step++) {
    const g = make(0.1);
    const s = adamwScalars(step, 1e-3 * step, { weightDecay: 0.1, gradScale: step % 2 ? 0.37 : 1 });
    sizes.forEach((_, k) => {
      updateTensor(wa[k]!, g[k]!, ma![k]!, va![k]!, s, k % 2 === 0);
      updateTensorScalar(wb[k]!, g[k]!, mb![k]!, vb![k]!, s, k % 2 === 0);
    });
  }
  assert.ok(bytes(wa).equals(bytes(wb)), 'weights differ');
  assert.ok(bytes(ma!).equals(bytes(mb!)), 'first moments differ');
  assert.ok(bytes(va!).equals(bytes(vb!)), 'second moments differ');
  assert.ok(!bytes(wa).equals(bytes(w0)), 'the weights moved');
});
