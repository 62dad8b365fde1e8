import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { loadCheckpoint } from '../../src/checkpoint/load.js';
import { TorchBinStore, gatherStrided, openTorchBin } from '../../src/checkpoint/pickle/torch-bin.js';
import { BertfuseError } from '../../src/errors.js';
import { classifierFromCheckpoint } from '../../src/runtime/classifier.js';
import { isOneLineError, runCli } from '../helpers/cli.js';
import { fixture, reference, tempDir } from '../helpers/fixtures.js';
import { PickleWriter, f32Bytes, i64Bytes, stateDictPickle, u16Bytes, writeTorchZip, type ViewSpec } from './torch-bin-helpers.js';

function rejects(fn: () => unknown, code: string, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof BertfuseError, `expected a BertfuseError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    assert.match(e.message, pattern);
    assert.ok(!e.message.includes('\n'), 'one line');
    return true;
  });
}

test('sst2-sibling-a-bin holds exactly the tensors of sst2-sibling-a', () => {
  const st = loadCheckpoint(fixture('sst2-sibling-a'));
  const bin = loadCheckpoint(fixture('sst2-sibling-a-bin'));
  try {
    assert.deepEqual([...bin.tensors.names()].sort(), [...st.tensors.names()].sort());
    assert.equal(bin.tensors.names().length, 41);
    for (const n of st.tensors.names()) {
      assert.deepEqual(bin.tensors.info(n).shape, st.tensors.info(n).shape, n);
      assert.equal(bin.tensors.info(n).dtype, 'F32');
      assert.deepEqual(bin.tensors.read(n).data, st.tensors.read(n).data, n);
    }
  } finally {
    st.close();
    bin.close();
  }
});

test('sst2-sibling-a-bin predicts the reference logits (within 1e-4) and the same logits as the safetensors folder', async () => {
  const ref = reference('sst2-sibling-a-bin');
  const inputs = ref.inputs.map((x) => ({ text: x.text, textPair: x.text_pair }));
  const bin = await classifierFromCheckpoint(loadCheckpoint(fixture('sst2-sibling-a-bin')));
  const st = await classifierFromCheckpoint(loadCheckpoint(fixture('sst2-sibling-a')));
  try {
    const a = (await bin.runner.run(inputs, { outputs: ['logits'], batchSize: 8 }))['logits']!;
    const b = (await st.runner.run(inputs, { outputs: ['logits'], batchSize: 8 }))['logits']!;
    assert.deepEqual(a.data, b.data);
    ref.inputs.forEach((x, i) => {
      x.logits!.forEach((l, j) => assert.ok(Math.abs(a.data[i * 2 + j]! - l) < 1e-4, `${x.id} logit ${j}: ${a.data[i * 2 + j]} vs ${l}`));
    });
  } finally {
    await bin.close();
    await st.close();
  }
});

test('evil-bin is refused naming builtins.print, and the CLI prints one line without running it', async () => {
  rejects(() => loadCheckpoint(fixture('evil-bin')), 'E_UNSAFE_PICKLE', /builtins\.print/);
  const r = await runCli(['inspect', fixture('evil-bin')]);
  assert.ok(isOneLineError(r), r.stderr);
  assert.match(r.stderr, /builtins\.print/);
  assert.ok(!r.stdout.includes('would have executed'), 'print() must never run');
});

test('strided views, storage offsets, shared and expanded storages are read like torch indexes them', () => {
  const dir = tempDir();
  const v = Array.from({ length: 12 }, (_, i) => i * 1.5 - 2);
  const views: ViewSpec[] = [
    { name: 'transposed', key: '0', storageType: 'FloatStorage', numel: 12, offset: 2, shape: [2, 3], stride: [1, 2] },
    { name: 'every_third', key: '0', storageType: 'FloatStorage', numel: 12, offset: 1, shape: [4], stride: [3] },
    { name: 'expanded', key: '0', storageType: 'FloatStorage', numel: 12, offset: 4, shape: [2, 3], stride: [0, 1] },
    { name: 'offset_block', key: '0', storageType: 'FloatStorage', numel: 12, offset: 5, shape: [2, 2], stride: [2, 1], parameter: true },
    { name: 'scalar', key: '0', storageType: 'FloatStorage', numel: 12, offset: 11, shape: [], stride: [] },
    { name: 'empty', key: '0', storageType: 'FloatStorage', numel: 12, offset: 0, shape: [0, 3], stride: [3, 1] },
  ];
  const file = path.join(dir, 'pytorch_model.bin');
  writeTorchZip(file, stateDictPickle(views, { metadata: true }), { '0': f32Bytes(v) }, { byteorder: 'little' });
  const store = openTorchBin(file);
  try {
    assert.deepEqual(store.names(), views.map((x) => x.name));
    // element (i, j) of a view is storage[offset + i*stride0 + j*stride1], written out by hand
    assert.deepEqual([...store.read('transposed').data], [v[2], v[4], v[6], v[3], v[5], v[7]]);
    assert.deepEqual([...store.read('every_third').data], [v[1], v[4], v[7], v[10]]);
    assert.deepEqual([...store.read('expanded').data], [v[4], v[5], v[6], v[4], v[5], v[6]]);
    assert.deepEqual([...store.read('offset_block').data], [v[5], v[6], v[7], v[8]]);
    assert.deepEqual(store.read('offset_block').shape, [2, 2]);
    assert.deepEqual([...store.read('scalar').data], [v[11]]);
    assert.deepEqual(store.read('empty').data.length, 0);
  } finally {
    store.close();
  }
});

test('gatherStrided matches the index formula for any shape, stride and offset', () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 4 }).chain((shape) =>
        fc.tuple(fc.constant(shape), fc.array(fc.integer({ min: 0, max: 5 }), { minLength: shape.length, maxLength: shape.length })),
      ),
      ([shape, stride]) => {
        let span = 1;
        shape.forEach((d, i) => (span += (d - 1) * stride[i]!));
        const src = Float32Array.from({ length: span }, (_, i) => i + 0.25);
        const got = gatherStrided(src, shape, stride);
        const want: number[] = [];
        const walk = (dim: number, at: number): void => {
          if (dim === shape.length) return void want.push(src[at]!);
          for (let i = 0; i < shape[dim]!; i++) walk(dim + 1, at + i * stride[dim]!);
        };
        walk(0, 0);
        assert.deepEqual([...got], want);
      },
    ),
    { numRuns: 200 },
  );
});

test('half, bfloat16 and int64 storages decode to float32, and a deflated data.pkl is read', () => {
  const dir = tempDir();
  const file = path.join(dir, 'pytorch_model.bin');
  const views: ViewSpec[] = [
    { name: 'h', key: 'a', storageType: 'HalfStorage', numel: 4, offset: 0, shape: [4], stride: [1] },
    { name: 'bf', key: 'b', storageType: 'BFloat16Storage', numel: 3, offset: 0, shape: [3], stride: [1] },
    { name: 'ids', key: 'c', storageType: 'LongStorage', numel: 3, offset: 1, shape: [1, 2], stride: [2, 1] },
  ];
  // half: 1, -2, 0.5, 65504; bfloat16: 1, -3, 0.15625 (0x3e20)
  writeTorchZip(file, stateDictPickle(views), { a: u16Bytes([0x3c00, 0xc000, 0x3800, 0x7bff]), b: u16Bytes([0x3f80, 0xc040, 0x3e20]), c: i64Bytes([7, 8, 9]) }, { pklLevel: 6, root: 'my_model' });
  const store = openTorchBin(file);
  try {
    assert.deepEqual([...store.read('h').data], [1, -2, 0.5, 65504]);
    assert.equal(store.info('h').dtype, 'F16');
    assert.deepEqual([...store.read('bf').data], [1, -3, 0.15625]);
    assert.deepEqual([...store.read('ids').data], [8, 9]);
    assert.equal(store.info('ids').dtype, 'I64');
  } finally {
    store.close();
  }
});

test('a damaged local header is refused when the archive is opened, naming its entry (a hostile archive fails before any tensor is used)', () => {
  const dir = tempDir();
  const file = path.join(dir, 'pytorch_model.bin');
  const views: ViewSpec[] = [
    { name: 'good', key: '0', storageType: 'FloatStorage', numel: 2, offset: 0, shape: [2], stride: [1] },
    { name: 'bad', key: '1', storageType: 'FloatStorage', numel: 2, offset: 0, shape: [2], stride: [1] },
  ];
  writeTorchZip(file, stateDictPickle(views), { '0': f32Bytes([1, 2]), '1': f32Bytes([3, 4]) });
  // Corrupt the local header signature of entry archive/data/1 (the central directory stays intact).
  const bytes = fs.readFileSync(file);
  const at = bytes.indexOf(Buffer.from('archive/data/1')) - 30;
  assert.equal(bytes.readUInt32LE(at), 0x04034b50);
  bytes.writeUInt32LE(0xdeadbeef, at);
  fs.writeFileSync(file, bytes);
  rejects(() => openTorchBin(file), 'E_BAD_PICKLE', /archive\/data\/1.*no local header/);
});

test('foreign globals are refused by name, whatever opcode brings them', () => {
  const dir = tempDir();
  const cases: [string, Uint8Array, RegExp][] = [
    ['GLOBAL os.system', new PickleWriter().proto().global('os', 'system').str('echo hi').op(0x85).op(0x52).stop().bytes(), /os\.system/],
    ['STACK_GLOBAL subprocess.Popen', new PickleWriter().proto(4).shortStr('subprocess').shortStr('Popen').op(0x93).stop().bytes(), /subprocess\.Popen/],
    ['python 2 builtin eval', new PickleWriter().proto().global('__builtin__', 'eval').stop().bytes(), /builtins\.eval/],
    ['torch.load itself', new PickleWriter().proto().global('torch', 'load').stop().bytes(), /torch\.load/],
    ['numpy reconstruct', new PickleWriter().proto().global('numpy.core.multiarray', '_reconstruct').stop().bytes(), /numpy\.core\.multiarray\._reconstruct/],
  ];
  for (const [what, pkl, pattern] of cases) {
    const file = path.join(dir, `${what.replace(/\W+/g, '_')}.bin`);
    writeTorchZip(file, pkl, {});
    rejects(() => openTorchBin(file), 'E_UNSAFE_PICKLE', pattern);
  }
});

test('code-running opcodes, bad views and broken archives are refused with clear one-line errors', () => {
  const dir = tempDir();
  const write = (name: string, pkl: Uint8Array, storages: Record<string, Uint8Array> = {}): string => {
    const file = path.join(dir, name);
    writeTorchZip(file, pkl, storages);
    return file;
  };
  // INST instantiates a class by name: never allowed.
  rejects(() => openTorchBin(write('inst.bin', new PickleWriter().proto().mark().op(0x69, ...Buffer.from('os\nsystem\n')).stop().bytes())), 'E_BAD_PICKLE', /INST/);
  // A view that reaches past its storage.
  const past: ViewSpec = { name: 'w', key: '0', storageType: 'FloatStorage', numel: 4, offset: 2, shape: [2, 2], stride: [2, 1] };
  rejects(() => openTorchBin(write('past.bin', stateDictPickle([past]), { '0': f32Bytes([1, 2, 3, 4]) })), 'E_BAD_PICKLE', /reaches element 5 of a 4-element storage/);
  // A storage the pickle names but the archive lacks, or holds too few bytes of.
  const ok: ViewSpec = { name: 'w', key: '7', storageType: 'FloatStorage', numel: 4, offset: 0, shape: [4], stride: [1] };
  rejects(() => openTorchBin(write('missing.bin', stateDictPickle([ok]))), 'E_BAD_PICKLE', /storage "7" is missing/);
  rejects(() => openTorchBin(write('short.bin', stateDictPickle([ok]), { '7': f32Bytes([1, 2]) })), 'E_BAD_PICKLE', /8 bytes but F32\[4\] needs 16/);
  // Unsupported storage dtype.
  rejects(() => openTorchBin(write('complex.bin', stateDictPickle([{ ...ok, storageType: 'ComplexFloatStorage' }]))), 'E_BAD_DTYPE', /ComplexFloatStorage/);
  // Truncated pickle.
  const pkl = stateDictPickle([ok]);
  rejects(() => openTorchBin(write('trunc-pkl.bin', pkl.subarray(0, pkl.length - 10), { '7': f32Bytes([1, 2, 3, 4]) })), 'E_BAD_PICKLE', /end of pickle data|MARK|underflow/);
  // Truncated zip file.
  const whole = write('whole.bin', stateDictPickle([ok]), { '7': f32Bytes([1, 2, 3, 4]) });
  const cut = path.join(dir, 'cut.bin');
  fs.writeFileSync(cut, fs.readFileSync(whole).subarray(0, 120));
  rejects(() => openTorchBin(cut), 'E_BAD_PICKLE', /truncated/);
  // Not a checkpoint at all.
  const text = path.join(dir, 'text.bin');
  fs.writeFileSync(text, 'hello');
  rejects(() => openTorchBin(text), 'E_BAD_PICKLE', /not a PyTorch checkpoint/);
  // A dict that contains itself (through the memo), and dicts nested 10,000 deep.
  const selfRef = new PickleWriter().proto().op(0x7d);
  const slot = selfRef.put();
  rejects(() => openTorchBin(write('self.bin', selfRef.str('me').get(slot).op(0x73).stop().bytes())), 'E_BAD_PICKLE', /contains itself/);
  const deep = new PickleWriter().proto();
  for (let i = 0; i < 10_000; i++) deep.op(0x7d).str('k');
  deep.op(0x7d);
  for (let i = 0; i < 10_000; i++) deep.op(0x73);
  rejects(() => openTorchBin(write('deep.bin', deep.stop().bytes())), 'E_BAD_PICKLE', /nested more than 32 deep/);
  // A stride-0 view claiming 10^12 elements over a 1-element storage.
  const huge: ViewSpec = { name: 'w', key: '0', storageType: 'FloatStorage', numel: 1, offset: 0, shape: [1000000, 1000000], stride: [0, 0] };
  rejects(() => openTorchBin(write('huge.bin', stateDictPickle([huge]), { '0': f32Bytes([1]) })), 'E_BAD_PICKLE', /1000000000000 elements .* too large/);
  // Big-endian storages.
  const be = path.join(dir, 'be.bin');
  writeTorchZip(be, stateDictPickle([ok]), { '7': f32Bytes([1, 2, 3, 4]) }, { byteorder: 'big' });
  rejects(() => openTorchBin(be), 'E_BAD_PICKLE', /big-endian/);
});

test('legacy (pre-1.6, non-zip) torch pickles are refused with a re-save hint', () => {
  const dir = tempDir();
  const file = path.join(dir, 'pytorch_model.bin');
  // torch<1.6 starts with a pickled magic number: PROTO 2, LONG1 0x1950a86a20f9469cfc6c, ...
  fs.writeFileSync(file, Buffer.from([0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e]));
  rejects(() => TorchBinStore.open(file), 'E_BAD_PICKLE', /legacy PyTorch format.*torch>=1\.6/);
});
