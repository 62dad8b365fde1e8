import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { floatToBf16, floatToHalf, halfToFloat } from '../../src/checkpoint/dtype.js';
import { SafetensorsFile, ShardedSafetensors, writeSafetensors } from '../../src/checkpoint/safetensors.js';
import { BertfuseError } from '../../src/errors.js';
import { Rng } from '../../src/util/rng.js';
import { fixture, tempDir } from '../helpers/fixtures.js';

/** Builds a safetensors file by hand (independently of our writer) from a header object and data bytes. */
function handMade(file: string, header: unknown, data: Uint8Array, lengthOverride?: bigint): void {
  const h = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(lengthOverride ?? BigInt(h.length));
  fs.writeFileSync(file, Buffer.concat([len, h, data]));
}

function expectError(fn: () => unknown, code: string, pattern: RegExp, file: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof BertfuseError, `expected BertfuseError, got ${String(e)}`);
    assert.equal(e.code, code);
    assert.match(e.message, pattern);
    assert.ok(e.message.includes(file), `message names the file: ${e.message}`);
    assert.ok(!e.message.includes('\n'), 'one line');
    return true;
  });
}

describe('safetensors writer', () => {
  test('F32 round-trips bit-exactly, including NaN payloads, -0 and subnormals', () => {
    const dir = tempDir();
    const rng = new Rng(7);
    const a = Float32Array.from({ length: 6 * 5 }, () => rng.normal());
    const special = new Float32Array([NaN, -0, 1e-45, -3.4028234663852886e38, Infinity, 0.1]);
    const file = path.join(dir, 'x.safetensors');
    writeSafetensors(file, [
      { name: 'b.weight', shape: [6, 5], data: () => a },
      { name: 'a.special', shape: [6], data: () => special },
      { name: 'empty', shape: [0, 3], data: () => new Float32Array(0) },
    ]);
    const f = SafetensorsFile.open(file);
    try {
      assert.deepEqual(f.names().sort(), ['a.special', 'b.weight', 'empty']);
      assert.deepEqual(Buffer.from(f.readBytes('b.weight')), Buffer.from(a.buffer));
      assert.deepEqual(Buffer.from(f.readBytes('a.special')), Buffer.from(special.buffer));
      assert.deepEqual([...f.info('b.weight').shape], [6, 5]);
      assert.equal(f.read('empty').data.length, 0);
    } finally {
      f.close();
    }
    // Header is padded so data starts 8-byte aligned.
    const n = Number(fs.readFileSync(file).readBigUInt64LE(0));
    assert.equal((8 + n) % 8, 0);
  });

  test('re-writing a fixture reproduces its tensors bit-exactly', () => {
    const src = SafetensorsFile.open(path.join(fixture('sst2-sibling-a'), 'model.safetensors'));
    const out = path.join(tempDir(), 'copy.safetensors');
    try {
      writeSafetensors(out, src.names().map((name) => ({ name, shape: src.info(name).shape, data: () => src.read(name).data })));
      const back = SafetensorsFile.open(out);
      for (const name of src.names()) assert.deepEqual(Buffer.from(back.readBytes(name)), Buffer.from(src.readBytes(name)), name);
      back.close();
      // Same layout rules as the fixture (sorted names, space padding): the files are byte-identical.
      assert.deepEqual(fs.readFileSync(out), fs.readFileSync(path.join(fixture('sst2-sibling-a'), 'model.safetensors')));
    } finally {
      src.close();
    }
  });

  test('F16 and BF16 encode with round-to-nearest-even and decode back', () => {
    assert.equal(floatToHalf(1), 0x3c00);
    assert.equal(floatToHalf(-2), 0xc000);
    assert.equal(floatToHalf(65504), 0x7bff);
    assert.equal(floatToHalf(1e6), 0x7c00);
    assert.equal(halfToFloat(0x0001), 2 ** -24);
    assert.equal(floatToHalf(2 ** -24), 0x0001);
    // 1 + 2^-11 is exactly between two halves: ties go to even (1.0).
    assert.equal(floatToHalf(1 + 2 ** -11), 0x3c00);
    assert.equal(floatToBf16(1), 0x3f80);
    assert.equal(floatToBf16(-1.5), 0xbfc0);
    const dir = tempDir();
    const vals = new Float32Array([0, 1, -1.5, 0.333251953125, 1024, -0.0009765625]);
    for (const dtype of ['F16', 'BF16'] as const) {
      const file = path.join(dir, `${dtype}.safetensors`);
      writeSafetensors(file, [{ name: 't', shape: [vals.length], data: () => vals }], { dtype });
      const f = SafetensorsFile.open(file);
      assert.equal(f.info('t').dtype, dtype);
      const back = f.read('t').data;
      for (let i = 0; i < vals.length; i++) assert.ok(Math.abs(back[i]! - vals[i]!) <= Math.abs(vals[i]!) * 2 ** -7, `${dtype} ${vals[i]} -> ${back[i]}`);
      f.close();
    }
  });

  test('sharded index: tensors are found in their shards', () => {
    const dir = tempDir();
    writeSafetensors(path.join(dir, 'model-00001-of-00002.safetensors'), [{ name: 'a', shape: [2], data: () => new Float32Array([1, 2]) }]);
    writeSafetensors(path.join(dir, 'model-00002-of-00002.safetensors'), [{ name: 'b', shape: [1], data: () => new Float32Array([3]) }]);
    const index = path.join(dir, 'model.safetensors.index.json');
    fs.writeFileSync(index, JSON.stringify({ metadata: {}, weight_map: { a: 'model-00001-of-00002.safetensors', b: 'model-00002-of-00002.safetensors' } }));
    const s = new ShardedSafetensors(index);
    assert.deepEqual([...s.read('a').data], [1, 2]);
    assert.deepEqual([...s.read('b').data], [3]);
    s.close();
    fs.writeFileSync(index, JSON.stringify({ weight_map: { a: 'missing.safetensors' } }));
    expectError(() => new ShardedSafetensors(index), 'E_MISSING_FILE', /shard "missing.safetensors"/, index);
  });
});

describe('safetensors reader refuses broken files with one clear line', () => {
  const dir = tempDir();
  const eight = new Uint8Array(8);

  test('a file truncated inside the data section', () => {
    const good = fs.readFileSync(path.join(fixture('sst2-sibling-a'), 'model.safetensors'));
    const file = path.join(dir, 'truncated.safetensors');
    fs.writeFileSync(file, good.subarray(0, good.length - 1000));
    expectError(() => SafetensorsFile.open(file), 'E_BAD_SAFETENSORS', /run past the data section .*truncated/, file);
  });

  test('a file shorter than the length prefix', () => {
    const file = path.join(dir, 'tiny.safetensors');
    fs.writeFileSync(file, Buffer.from([1, 2, 3]));
    expectError(() => SafetensorsFile.open(file), 'E_BAD_SAFETENSORS', /too short/, file);
  });

  test('a header length beyond the end of the file', () => {
    const file = path.join(dir, 'huge-header.safetensors');
    handMade(file, { t: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, eight, 1n << 40n);
    expectError(() => SafetensorsFile.open(file), 'E_BAD_SAFETENSORS', /header length 1099511627776 runs past the end of the file/, file);
  });

  test('a header length of zero and a header that is not JSON', () => {
    const zero = path.join(dir, 'zero.safetensors');
    handMade(zero, {}, eight, 0n);
    expectError(() => SafetensorsFile.open(zero), 'E_BAD_SAFETENSORS', /header length is 0/, zero);
    const notJson = path.join(dir, 'notjson.safetensors');
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(5n);
    fs.writeFileSync(notJson, Buffer.concat([len, Buffer.from('{nope'), eight]));
    expectError(() => SafetensorsFile.open(notJson), 'E_BAD_SAFETENSORS', /not valid JSON/, notJson);
  });

  test('overlapping data offsets', () => {
    const file = path.join(dir, 'overlap.safetensors');
    handMade(file, { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, new Uint8Array(12));
    expectError(() => SafetensorsFile.open(file), 'E_BAD_SAFETENSORS', /"a" \[0, 8\] and "b" \[4, 12\] overlap/, file);
  });

  test('out-of-range data offsets', () => {
    const file = path.join(dir, 'range.safetensors');
    handMade(file, { a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, eight);
    expectError(() => SafetensorsFile.open(file), 'E_BAD_SAFETENSORS', /"a" data_offsets \[0, 16\] run past the data section \(8 bytes/, file);
  });

  test('offsets that disagree with dtype and shape', () => {
    const file = path.join(dir, 'size.safetensors');
    handMade(file, { a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, eight);
    expectError(() => SafetensorsFile.open(file), 'E_BAD_SAFETENSORS', /spans 8 bytes but F32\[3\] needs 12/, file);
  });

  test('an unknown dtype', () => {
    const file = path.join(dir, 'dtype.safetensors');
    handMade(file, { a: { dtype: 'F8_E9M9', shape: [8], data_offsets: [0, 8] } }, eight);
    expectError(() => SafetensorsFile.open(file), 'E_BAD_DTYPE', /tensor "a" has unknown dtype "F8_E9M9"/, file);
  });

  test('a missing file', () => {
    const file = path.join(dir, 'absent.safetensors');
    expectError(() => SafetensorsFile.open(file), 'E_MISSING_FILE', /cannot open/, file);
  });
});
