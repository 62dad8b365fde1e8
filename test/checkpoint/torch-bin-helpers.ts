// Builds torch.save-style archives for the tests: a hand-assembled protocol-2 pickle (the same
// opcode sequence torch emits for a state dict) and a zip written by fflate.
import fs from 'node:fs';
import { zipSync, type Zippable } from 'fflate';

/** Emits pickle opcodes one by one; only what the tests need. */
export class PickleWriter {
  private readonly parts: number[] = [];
  private memo = 0;

  op(code: number, ...bytes: number[]): this {
    this.parts.push(code, ...bytes);
    return this;
  }
  proto(n = 2): this {
    return this.op(0x80, n);
  }
  mark(): this {
    return this.op(0x28);
  }
  global(module: string, name: string): this {
    return this.op(0x63, ...Buffer.from(`${module}\n${name}\n`, 'latin1'));
  }
  str(s: string): this {
    const b = Buffer.from(s, 'utf8');
    const len = Buffer.alloc(4);
    len.writeUInt32LE(b.length);
    return this.op(0x58, ...len, ...b);
  }
  shortStr(s: string): this {
    const b = Buffer.from(s, 'utf8');
    return this.op(0x8c, b.length, ...b);
  }
  int(n: number): this {
    if (n >= 0 && n < 256) return this.op(0x4b, n);
    if (n >= 0 && n < 65536) return this.op(0x4d, n & 0xff, n >> 8);
    const b = Buffer.alloc(4);
    b.writeInt32LE(n);
    return this.op(0x4a, ...b);
  }
  tuple(build: (w: this) => void): this {
    this.mark();
    build(this);
    return this.op(0x74);
  }
  /** BINPUT the top of the stack; returns the memo slot. */
  put(): number {
    this.op(0x71, this.memo);
    return this.memo++;
  }
  get(slot: number): this {
    return this.op(0x68, slot);
  }
  stop(): this {
    return this.op(0x2e);
  }
  bytes(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

export interface ViewSpec {
  readonly name: string;
  readonly key: string;
  readonly storageType: string;
  readonly numel: number;
  readonly offset: number;
  readonly shape: readonly number[];
  readonly stride: readonly number[];
  /** Wrap in torch._utils._rebuild_parameter, as nn.Parameter pickles. */
  readonly parameter?: boolean;
}

/** Writes `collections.OrderedDict` of tensors the way torch.save lays it out. */
export function stateDictPickle(views: readonly ViewSpec[], opts: { metadata?: boolean } = {}): Uint8Array {
  const w = new PickleWriter().proto(2);
  w.global('collections', 'OrderedDict');
  const od = w.put();
  w.op(0x29).op(0x52); // EMPTY_TUPLE REDUCE
  w.put();
  w.mark();
  let rebuild = -1;
  for (const v of views) {
    w.str(v.name);
    if (v.parameter) w.global('torch._utils', '_rebuild_parameter').mark();
    if (rebuild < 0) {
      w.global('torch._utils', '_rebuild_tensor_v2');
      rebuild = w.put();
    } else w.get(rebuild);
    w.mark();
    w.tuple((t) => t.str('storage').global('torch', v.storageType).str(v.key).str('cpu').int(v.numel));
    w.op(0x51); // BINPERSID
    w.int(v.offset);
    w.tuple((t) => v.shape.forEach((d) => t.int(d)));
    w.tuple((t) => v.stride.forEach((d) => t.int(d)));
    w.op(0x89); // NEWFALSE (requires_grad)
    w.get(od).op(0x29).op(0x52); // backward_hooks = OrderedDict()
    w.op(0x74).op(0x52); // TUPLE REDUCE
    if (v.parameter) w.op(0x89).get(od).op(0x29).op(0x52).op(0x74).op(0x52);
  }
  w.op(0x75); // SETITEMS
  if (opts.metadata) {
    // state_dict()._metadata, restored with BUILD: {'_metadata': OrderedDict({'': {'version': 1}})}
    w.op(0x7d).mark().str('_metadata').get(od).op(0x29).op(0x52).mark().str('').op(0x7d).mark().str('version').int(1).op(0x75).op(0x75).op(0x75).op(0x62);
  }
  return w.stop().bytes();
}

export interface ArchiveOptions {
  readonly root?: string;
  /** fflate level for data.pkl (0 = stored, as torch writes it). */
  readonly pklLevel?: 0 | 6;
  readonly byteorder?: string;
}

/** A torch-style zip: `<root>/data.pkl`, `<root>/data/<key>` storages, `<root>/version`. */
export function writeTorchZip(file: string, pkl: Uint8Array, storages: Record<string, Uint8Array>, opts: ArchiveOptions = {}): void {
  const root = opts.root ?? 'archive';
  const files: Zippable = { [`${root}/data.pkl`]: [pkl, { level: opts.pklLevel ?? 0 }] };
  if (opts.byteorder) files[`${root}/byteorder`] = [Buffer.from(opts.byteorder), { level: 0 }];
  for (const [k, v] of Object.entries(storages)) files[`${root}/data/${k}`] = [v, { level: 0 }];
  files[`${root}/version`] = [Buffer.from('3\n'), { level: 0 }];
  fs.writeFileSync(file, zipSync(files));
}

export function f32Bytes(values: readonly number[]): Uint8Array {
  return new Uint8Array(Float32Array.from(values).buffer);
}
export function u16Bytes(values: readonly number[]): Uint8Array {
  return new Uint8Array(Uint16Array.from(values).buffer);
}
export function i64Bytes(values: readonly number[]): Uint8Array {
  return new Uint8Array(BigInt64Array.from(values.map(BigInt)).buffer);
}

/** A float32 tensor to write into a `.bin` state dict. */
export interface BinTensor {
  readonly name: string;
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

function contiguousStride(shape: readonly number[]): number[] {
  const stride = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    stride[i] = s;
    s *= shape[i]!;
  }
  return stride;
}

/** `torch.save(model.state_dict(), file)` of float32 tensors: one contiguous storage per tensor, as torch writes them. */
export function writeStateDictBin(file: string, tensors: readonly BinTensor[]): void {
  const views: ViewSpec[] = tensors.map((t, i) => ({ name: t.name, key: String(i), storageType: 'FloatStorage', numel: t.data.length, offset: 0, shape: t.shape, stride: contiguousStride(t.shape) }));
  const storages = Object.fromEntries(tensors.map((t, i) => [String(i), new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength)]));
  writeTorchZip(file, stateDictPickle(views, { metadata: true }), storages, { byteorder: 'little' });
}
