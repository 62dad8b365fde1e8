/**
 * Pickles built to make a reader do work out of proportion to their size: shared containers walked
 * once per path (a 1 KB file once hung `inspect`), containers handed to the host again and again,
 * integers whose decoding is superlinear, deep nesting. Each must be refused by `bertfuse inspect`
 * in one line naming the file, within a bounded time, leaving the folder as it was.
 */
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { PickleWriter, f32Bytes, torchStateDictPickle, torchZip } from '../helpers/corrupt.js';
import { fixture, tempDir } from '../helpers/fixtures.js';
import { BoundedCli, assertOneLineRefusal, unchanged } from './bounded.js';
import { stageFixture } from './consumers.js';

const root = tempDir('bertfuse-hostile-pickle-');
const cli = new BoundedCli();
after(() => cli.close());

/** The body (no PROTO, no STOP) of a one-tensor state dict pickle. */
function oneTensorDictOps(): Uint8Array {
  const p = torchStateDictPickle([{ name: 'w', storageKey: '0', storage: 'FloatStorage', numel: 4, offset: 0, shape: [4], stride: [1] }]);
  return p.subarray(2, p.length - 1);
}

function pickleFile(pkl: Uint8Array | Buffer): Buffer {
  return torchZip(pkl, { '0': f32Bytes([1, 2, 3, 4]) });
}

/** D_{i+1} = {k_0: D_i, …, k_{fan-1}: D_i}: fan^depth paths through a few bytes per level. */
function sharedDag(depth: number, fan: number): Uint8Array {
  const w = new PickleWriter().proto(2).op(...oneTensorDictOps());
  let id = w.put();
  for (let i = 0; i < depth; i++) {
    w.emptyDict().mark();
    for (let k = 0; k < fan; k++) w.str(`k${k}`).get(id);
    w.setitems();
    id = w.put();
  }
  return w.stop().bytes();
}

/** A state dict whose attributes are set by BUILD `times` times from one memoized dict of `size` entries. */
function repeatedBuild(size: number, times: number): Buffer {
  const parts: Buffer[] = [Buffer.from([0x80, 2, 0x7d, 0x71, 0, 0x28])]; // PROTO 2, EMPTY_DICT, BINPUT 0, MARK
  const entry = Buffer.alloc(6);
  for (let i = 0; i < size; i++) {
    entry[0] = 0x4a; // BININT i
    entry.writeInt32LE(i, 1);
    entry[5] = 0x4e; // NONE
    parts.push(Buffer.from(entry));
  }
  parts.push(Buffer.from([0x64, 0x71, 1])); // DICT, BINPUT 1 (the state)
  parts.push(Buffer.from([0x30])); // POP
  const step = Buffer.from([0x68, 0, 0x68, 1, 0x62, 0x30]); // BINGET 0, BINGET 1, BUILD, POP
  parts.push(Buffer.alloc(step.length * times, step));
  parts.push(Buffer.from([0x68, 0, 0x2e])); // BINGET 0, STOP
  return Buffer.concat(parts);
}

/** `_rebuild_tensor_v2` called `times` times with one memoized size tuple of `dims` ones. */
function repeatedHugeSize(dims: number, times: number): Buffer {
  const w = new PickleWriter().proto(2).global('torch._utils', '_rebuild_tensor_v2');
  const fn = w.put();
  w.mark().str('storage').global('torch', 'FloatStorage').str('0').str('cpu').int(4).tuple().binpersid();
  const storage = w.put();
  const head = Buffer.from(w.bytes());
  const ones = Buffer.concat([Buffer.from([0x28]), Buffer.alloc(dims * 2, Buffer.from([0x4b, 1])), Buffer.from([0x74, 0x71, 2, 0x30])]); // MARK 1… TUPLE BINPUT 2 POP
  // BINGET fn, MARK, BINGET storage, BININT1 0, BINGET size, BINGET size, NEWFALSE, EMPTY_DICT, TUPLE, REDUCE, POP
  const call = Buffer.from([0x68, fn, 0x28, 0x68, storage, 0x4b, 0, 0x68, 2, 0x68, 2, 0x89, 0x7d, 0x74, 0x52, 0x30]);
  return Buffer.concat([head, ones, Buffer.alloc(call.length * times, call), Buffer.from([0x7d, 0x2e])]);
}

/** A LONG4 integer of n bytes (decoded byte by byte into a BigInt: quadratic). */
function hugeLong4(n: number): Buffer {
  const len = Buffer.alloc(4);
  len.writeInt32LE(n);
  return Buffer.concat([Buffer.from([0x80, 2, 0x8b]), len, Buffer.alloc(n, 0x5a), Buffer.from([0x2e])]);
}

/** A protocol-0 LONG of n decimal digits (BigInt of a decimal string is superlinear too). */
function hugeTextLong(n: number): Buffer {
  return Buffer.concat([Buffer.from([0x80, 2, 0x4c]), Buffer.alloc(n, 0x37), Buffer.from('L\n'), Buffer.from([0x2e])]);
}

/** Lists nested `depth` deep (EMPTY_LIST, then APPEND each into the one below it). */
function deepLists(depth: number): Buffer {
  return Buffer.concat([Buffer.from([0x80, 2]), Buffer.alloc(depth, 0x5d), Buffer.alloc(depth - 1, 0x61), Buffer.from([0x2e])]);
}

/** A list appended to itself, then handed as the state of BUILD over and over. */
function selfListBuild(times: number): Buffer {
  const head = Buffer.from([0x80, 2, 0x7d, 0x71, 0, 0x5d, 0x71, 1, 0x68, 1, 0x61, 0x30]); // {} memo0, [] memo1, L.append(L), POP
  const step = Buffer.from([0x68, 0, 0x68, 1, 0x62, 0x30]);
  return Buffer.concat([head, Buffer.alloc(step.length * times, step), Buffer.from([0x68, 0, 0x2e])]);
}

const CASES: readonly { name: string; bytes: () => Uint8Array; pattern: RegExp }[] = [
  { name: 'dicts shared through the memo, 2 ways x 40 levels (2^40 paths in ~1.3 KB)', bytes: () => pickleFile(sharedDag(40, 2)), pattern: /same object as the one at/ },
  { name: 'dicts shared through the memo, 64 ways x 6 levels', bytes: () => pickleFile(sharedDag(6, 64)), pattern: /same object as the one at/ },
  { name: 'a dict that holds itself under a nested key', bytes: () => {
    const w = new PickleWriter().proto(2).emptyDict();
    const top = w.put();
    w.str('a').emptyDict().str('b').get(top).setitem().setitem();
    return pickleFile(w.stop().bytes());
  }, pattern: /contains itself/ },
  { name: 'BUILD from one memoized 50,000-entry dict, 150,000 times', bytes: () => pickleFile(repeatedBuild(50_000, 150_000)), pattern: /walk more than \d+ items/ },
  { name: 'a list that contains itself, handed to BUILD 1,000,000 times', bytes: () => pickleFile(selfListBuild(1_000_000)), pattern: /cannot set a list as the state of a dict/ },
  { name: '_rebuild_tensor_v2 with a memoized 100,000-dimension size, 20,000 times', bytes: () => pickleFile(repeatedHugeSize(100_000, 20_000)), pattern: /100000 dimensions|walk more than/ },
  { name: 'LONG4 integer of 8 MB', bytes: () => pickleFile(hugeLong4(8 << 20)), pattern: /integer of 8388608 bytes/ },
  { name: 'LONG4 integer of 4 KB', bytes: () => pickleFile(hugeLong4(4096)), pattern: /integer of 4096 bytes/ },
  { name: 'LONG1 integer of 255 bytes', bytes: () => pickleFile(Buffer.concat([Buffer.from([0x80, 2, 0x8a, 255]), Buffer.alloc(255, 1), Buffer.from([0x2e])])), pattern: /integer of 255 bytes/ },
  { name: 'text LONG of 2,000,000 digits', bytes: () => pickleFile(hugeTextLong(2_000_000)), pattern: /integer of 2000000 digits/ },
  { name: '5,000,000 EMPTY_LIST opcodes (5 MB of pickle, millions of objects)', bytes: () => pickleFile(Buffer.concat([Buffer.from([0x80, 2]), Buffer.alloc(5_000_000, 0x5d), Buffer.from([0x2e])])), pattern: /more than 4000000 opcodes/ },
  { name: '3,000,000 MARK + POP_MARK pairs (no object, only work)', bytes: () => pickleFile(Buffer.concat([Buffer.from([0x80, 2]), Buffer.alloc(6_000_000, Buffer.from([0x28, 0x31])), Buffer.from([0x7d, 0x2e])])), pattern: /more than 4000000 opcodes/ },
  { name: 'lists nested 1,000,000 deep', bytes: () => pickleFile(deepLists(1_000_000)), pattern: /no state dict/ },
  { name: 'a key of 60,000 characters in a chain of 30 dicts', bytes: () => {
    const key = 'k'.repeat(60_000);
    const w = new PickleWriter().proto(2).op(...oneTensorDictOps());
    let id = w.put();
    for (let i = 0; i < 30; i++) {
      w.emptyDict().str(key).get(id).setitem();
      id = w.put();
    }
    return pickleFile(w.stop().bytes());
  }, pattern: /a key of 60000 characters/ },
];

describe('hostile pickles: bounded work, one line, nothing changed', () => {
  const folder = stageFixture(fixture('sst2-sibling-a-bin'), path.join(root, 'model'));
  const weights = path.join(folder, 'pytorch_model.bin');
  for (const c of CASES) {
    test(c.name, async () => {
      fs.writeFileSync(weights, c.bytes());
      const r = await unchanged(folder, () => cli.run(['inspect', folder]));
      assertOneLineRefusal(r, { names: weights, pattern: c.pattern });
    });
  }

  test('the good fixture still inspects (the bounds leave real checkpoints alone)', async () => {
    fs.copyFileSync(path.join(fixture('sst2-sibling-a-bin'), 'pytorch_model.bin'), weights);
    const r = await cli.run(['inspect', folder, '--json']);
    if (r.code !== 0) throw new Error(r.stderr);
    const d = JSON.parse(r.stdout) as { parameters: number };
    if (!(d.parameters > 100_000)) throw new Error(`parameters ${d.parameters}`);
  });
});
