/**
 * Zip containers (`pytorch_model.bin`) that lie: bombs, sizes that disagree between the local
 * header, the central directory and the stream, corrupt deflate data, overlapping or duplicate
 * entries, zip64 records that do not add up. Each is refused by `bertfuse inspect` (or, for tensor
 * bytes, `predict`, which reads them) in one line naming the file, in bounded time, with the
 * folder unchanged; and a deflated storage shared by many tensors is inflated once.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { zipSync } from 'fflate';
import { ZipArchive } from '../../src/checkpoint/pickle/zip-archive.js';
import { openTorchBin } from '../../src/checkpoint/pickle/torch-bin.js';
import { f32Bytes, fixtureBinEntries, torchStateDictPickle, torchZip } from '../helpers/corrupt.js';
import { fixture, tempDir } from '../helpers/fixtures.js';
import { BoundedCli, assertOneLineRefusal, unchanged } from './bounded.js';
import { stageFixture } from './consumers.js';

const root = tempDir('bertfuse-hostile-zip-');
const cli = new BoundedCli();
after(() => cli.close());

const STORAGE = 'pytorch_model/data/0';

function fixtureZip(level: 0 | 6 = 0, extra: Record<string, Uint8Array> = {}): Buffer {
  return Buffer.from(zipSync({ ...fixtureBinEntries(), ...extra }, { level }));
}

/** Offsets of an entry's local header and central record, found by scanning signatures. */
function headers(zip: Buffer, name: string): { local: number; central: number } {
  const n = Buffer.from(name);
  let local = -1;
  let central = -1;
  for (let i = 0; i + 4 <= zip.length; i++) {
    const sig = zip.readUInt32LE(i);
    if (sig === 0x04034b50 && zip.readUInt16LE(i + 26) === n.length && zip.subarray(i + 30, i + 30 + n.length).equals(n)) local = i;
    if (sig === 0x02014b50 && zip.readUInt16LE(i + 28) === n.length && zip.subarray(i + 46, i + 46 + n.length).equals(n)) central = i;
  }
  assert.ok(local >= 0 && central >= 0, `entry ${name} found`);
  return { local, central };
}

function eocd(zip: Buffer): number {
  return zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
}

/** Sets an entry's sizes in both headers (a consistent lie) or only in one. */
function setSizes(zip: Buffer, name: string, sizes: { compressed?: number; size?: number }, where: 'both' | 'local' | 'central' = 'both'): Buffer {
  const b = Buffer.from(zip);
  const h = headers(b, name);
  if (where !== 'central') {
    if (sizes.compressed !== undefined) b.writeUInt32LE(sizes.compressed, h.local + 18);
    if (sizes.size !== undefined) b.writeUInt32LE(sizes.size, h.local + 22);
  }
  if (where !== 'local') {
    if (sizes.compressed !== undefined) b.writeUInt32LE(sizes.compressed, h.central + 20);
    if (sizes.size !== undefined) b.writeUInt32LE(sizes.size, h.central + 24);
  }
  return b;
}

const CASES: readonly { name: string; bytes: () => Buffer; pattern: RegExp; command?: 'predict' }[] = [
  { name: 'zip bomb: 16 MB of zeros deflated to ~16 KB', bytes: () => fixtureZip(6, { 'pytorch_model/padding': new Uint8Array(16 << 20) }), pattern: /ratio over 200:1\): refusing a zip bomb/ },
  { name: 'a deflated entry declaring 4 GB from a few bytes (beyond 1032:1)', bytes: () => setSizes(fixtureZip(6), STORAGE, { size: 0xfffffff0 }), pattern: /more than deflate can produce/ },
  { name: 'many entries that together inflate past the ratio of the file size', bytes: () => {
    // Each entry is within the per-entry allowance (4 MiB); 30 of them from ~130 KB are not.
    const files: Record<string, Uint8Array> = { 'pytorch_model/data.pkl': fixtureBinEntries()['pytorch_model/data.pkl']! };
    const zeros = new Uint8Array(4 << 20);
    for (let i = 0; i < 30; i++) files[`pytorch_model/pad${i}`] = zeros;
    return Buffer.from(zipSync(files, { level: 6 }));
  }, pattern: /would inflate to \d+ bytes in total .*zip bomb/ },
  { name: 'a deflated storage whose stream holds more than declared (both headers lie)', bytes: () => {
    const z = fixtureZip(6);
    return setSizes(z, STORAGE, { size: 128 });
  }, pattern: /inflates to more than its declared 128 bytes|has 128 bytes but F32/, command: 'predict' },
  { name: 'a deflated storage whose stream holds less than declared', bytes: () => setSizes(fixtureZip(6), STORAGE, { size: 512 }), pattern: /inflates to 256 bytes, but the archive declares 512/, command: 'predict' },
  { name: 'corrupt deflate stream (bytes overwritten in the middle)', bytes: () => {
    const z = fixtureZip(6);
    const h = headers(z, 'pytorch_model/data/10');
    const at = h.local + 30 + z.readUInt16LE(h.local + 26) + z.readUInt16LE(h.local + 28);
    const n = z.readUInt32LE(h.local + 18);
    z.fill(0xff, at + (n >> 2), at + (n >> 1));
    return z;
  }, pattern: /"pytorch_model\/data\/10" (is not a valid deflate stream|fails its CRC-32|inflates to)/, command: 'predict' },
  { name: 'deflate stream with a wrong CRC', bytes: () => {
    const z = fixtureZip(6);
    const h = headers(z, STORAGE);
    z.writeUInt32LE((z.readUInt32LE(h.central + 16) ^ 1) >>> 0, h.central + 16);
    z.writeUInt32LE((z.readUInt32LE(h.local + 14) ^ 1) >>> 0, h.local + 14);
    return z;
  }, pattern: /"pytorch_model\/data\/0" fails its CRC-32 check/, command: 'predict' },
  { name: 'local header sizes disagree with the central directory', bytes: () => setSizes(fixtureZip(0), STORAGE, { compressed: 300, size: 300 }, 'local'), pattern: /local header says 300 compressed \/ 300 bytes, central directory says 256 \/ 256/ },
  { name: 'central directory sizes lie about a stored entry (stored and uncompressed differ)', bytes: () => setSizes(fixtureZip(0), STORAGE, { size: 100_000 }), pattern: /stored uncompressed but declares 256 stored and 100000/ },
  { name: 'local header names another entry', bytes: () => {
    const z = fixtureZip(0);
    const h = headers(z, 'pytorch_model/data/1');
    z.write('pytorch_model/data/9', h.local + 30, 'latin1');
    return z;
  }, pattern: /local header names "pytorch_model\/data\/9"/ },
  { name: 'overlapping entries (one entry\'s bytes cover the next)', bytes: () => {
    const z = fixtureZip(0);
    return setSizes(z, STORAGE, { compressed: 4096, size: 4096 });
  }, pattern: /overlap/ },
  { name: 'two central records pointing at the same bytes', bytes: () => {
    const z = fixtureZip(0);
    const a = headers(z, 'pytorch_model/data/1');
    const b = headers(z, 'pytorch_model/data/2');
    // Point data/2 at data/1's local header (and name it so the local header agrees): same name twice.
    z.writeUInt32LE(z.readUInt32LE(a.central + 42), b.central + 42);
    z.write('pytorch_model/data/1', b.central + 46, 'latin1');
    return z;
  }, pattern: /two entries named "pytorch_model\/data\/1"|overlap/ },
  { name: 'an entry whose data runs into the central directory', bytes: () => {
    const z = fixtureZip(0);
    const names = Object.keys(fixtureBinEntries());
    const last = names[names.length - 1]!;
    const size = fixtureBinEntries()[last]!.length;
    return setSizes(z, last, { compressed: size + 64, size: size + 64 });
  }, pattern: /runs past the end of the entries/ },
  { name: 'zip64 markers without a zip64 locator', bytes: () => {
    const z = fixtureZip(0);
    z.writeUInt32LE(0xffffffff, eocd(z) + 16);
    return z;
  }, pattern: /zip64 archive without a zip64 locator/ },
  { name: 'zip64 locator pointing past the end of the file', bytes: () => {
    const z = fixtureZip(0);
    const e = eocd(z);
    const loc = Buffer.alloc(20);
    loc.writeUInt32LE(0x07064b50, 0);
    loc.writeBigUInt64LE(BigInt(z.length * 4), 8);
    loc.writeUInt32LE(1, 16);
    const tail = Buffer.from(z.subarray(e));
    tail.writeUInt32LE(0xffffffff, 16);
    return Buffer.concat([z.subarray(0, e), loc, tail]);
  }, pattern: /zip64 end record is missing or damaged/ },
  { name: 'zip64 end record claiming 2^40 entries', bytes: () => {
    const z = fixtureZip(0);
    const e = eocd(z);
    const cdSize = z.readUInt32LE(e + 12);
    const cdOffset = z.readUInt32LE(e + 16);
    const rec = Buffer.alloc(56);
    rec.writeUInt32LE(0x06064b50, 0);
    rec.writeBigUInt64LE(44n, 4);
    rec.writeBigUInt64LE(2n ** 40n, 24);
    rec.writeBigUInt64LE(2n ** 40n, 32);
    rec.writeBigUInt64LE(BigInt(cdSize), 40);
    rec.writeBigUInt64LE(BigInt(cdOffset), 48);
    const loc = Buffer.alloc(20);
    loc.writeUInt32LE(0x07064b50, 0);
    loc.writeBigUInt64LE(BigInt(e), 8);
    loc.writeUInt32LE(1, 16);
    const tail = Buffer.from(z.subarray(e));
    tail.writeUInt16LE(0xffff, 8);
    tail.writeUInt16LE(0xffff, 10);
    return Buffer.concat([z.subarray(0, e), rec, loc, tail]);
  }, pattern: /claims 1099511627776 entries in a \d+-byte central directory/ },
  { name: 'end record claiming 60,000 entries in a small directory', bytes: () => {
    const z = fixtureZip(0);
    z.writeUInt16LE(60_000, eocd(z) + 10);
    return z;
  }, pattern: /claims 60000 entries/ },
];

describe('hostile zip containers: bounded, one line, nothing changed', () => {
  const folder = stageFixture(fixture('sst2-sibling-a-bin'), path.join(root, 'model'));
  const weights = path.join(folder, 'pytorch_model.bin');
  for (const c of CASES) {
    test(c.name, async () => {
      fs.writeFileSync(weights, c.bytes());
      const argv = c.command === 'predict' ? ['predict', folder, '--text', 'a fine film'] : ['inspect', folder];
      const r = await unchanged(folder, () => cli.run(argv));
      assertOneLineRefusal(r, { names: weights, pattern: c.pattern });
    });
  }

  test('a deflated storage shared by 2,000 tensors is inflated once, not once per tensor', () => {
    const n = 2000;
    const storage = new Float32Array(1 << 20).map((_, i) => Math.sin(i));
    const specs = Array.from({ length: n }, (_, i) => ({ name: `t${i}`, storageKey: '0', storage: 'FloatStorage', numel: storage.length, offset: i * 500, shape: [500], stride: [1] }));
    const file = path.join(root, 'shared.bin');
    fs.writeFileSync(file, torchZip(torchStateDictPickle(specs), { '0': new Uint8Array(storage.buffer) }, { level: 6 }));
    const zip = ZipArchive.open(file);
    try {
      for (let i = 0; i < 50; i++) zip.read('archive/data/0', i * 4, 4);
      assert.equal(zip.inflations, 1, 'inflated once, then served from the cache');
    } finally {
      zip.close();
    }
    const store = openTorchBin(file);
    try {
      for (const [i, name] of store.names().entries()) {
        const t = store.read(name);
        assert.equal(t.data[0], storage[i * 500], name);
      }
    } finally {
      store.close();
    }
  });

  test('the good fixture, stored and deflated, still loads and predicts', async () => {
    for (const level of [0, 6] as const) {
      fs.writeFileSync(weights, fixtureZip(level));
      const r = await cli.run(['predict', folder, '--text', 'a gorgeous , witty movie .', '--json']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /"label"/);
    }
  });
});
