// The PyTorch peer's OpenBLAS core type: which ones are tried on a CPU, and which one wins.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { candidateCoreTypes, pickSetting } from '../../bench/peer-blas.js';

test('core types tried follow the CPU flags: AVX-512 kernels only where AVX-512 F/BW/DQ/VL all run', () => {
  const avx2 = ['avx2', 'fma'];
  const avx512 = [...avx2, 'avx512f', 'avx512bw', 'avx512dq', 'avx512vl'];
  assert.deepEqual(candidateCoreTypes(new Set([...avx512, 'avx512_bf16']), 'AuthenticAMD'), ['Cooperlake', 'SkylakeX', 'Zen', 'Haswell']);
  assert.deepEqual(candidateCoreTypes(new Set(avx512), 'GenuineIntel'), ['SkylakeX', 'Haswell', 'Zen']);
  assert.deepEqual(candidateCoreTypes(new Set(avx2), 'GenuineIntel'), ['Haswell', 'Zen']);
  // AVX-512F without BW (Knights Landing style) cannot run the SkylakeX kernels.
  assert.deepEqual(candidateCoreTypes(new Set([...avx2, 'avx512f']), 'GenuineIntel'), ['Haswell', 'Zen']);
  assert.deepEqual(candidateCoreTypes(new Set(['sse4_2']), 'GenuineIntel'), []);
});

test("the environment's core type stays unless another is more than 5% faster", () => {
  const inherited = { label: 'as set', env: {}, score: 209 };
  assert.equal(pickSetting([inherited, { label: 'SkylakeX', env: { OPENBLAS_CORETYPE: 'SkylakeX' }, score: 416 }, { label: 'Cooperlake', env: { OPENBLAS_CORETYPE: 'Cooperlake' }, score: 415 }]).label, 'SkylakeX');
  assert.equal(pickSetting([inherited, { label: 'Zen', env: { OPENBLAS_CORETYPE: 'Zen' }, score: 215 }]).label, 'as set');
  assert.equal(pickSetting([inherited, { label: 'Zen', env: { OPENBLAS_CORETYPE: 'Zen' }, score: 150 }]).label, 'as set');
  assert.equal(pickSetting([inherited]).label, 'as set');
});
