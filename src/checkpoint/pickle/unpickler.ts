import { BertfuseError } from '../../errors.js';
import { PyDict, PyGlobal, PyList, PyTuple, isKey, typeName, type PickleValue } from './values.js';

/*
 * A pickle *reader*, not an unpickler in Python's sense: it walks the opcodes of protocols 0–4
 * that build plain data (ints, strings, tuples, lists, dicts, memo) and hands everything that
 * would run code in Python — GLOBAL lookups, REDUCE calls, NEWOBJ, BUILD, persistent ids — to a
 * host that decides, from an allowlist, what the value means. Nothing is ever imported or called.
 * Opcodes that only exist to run code (INST, OBJ, EXT*) and out-of-band buffers are refused.
 */

/** What a pickle may ask for; the host answers with data or throws. */
export interface PickleHost {
  /** GLOBAL / STACK_GLOBAL. Throw E_UNSAFE_PICKLE for anything not on the allowlist. */
  global(module: string, name: string): PyGlobal;
  /** REDUCE: `fn(*args)` where fn came from `global`. */
  call(fn: PyGlobal, args: readonly PickleValue[]): PickleValue;
  /** NEWOBJ / NEWOBJ_EX: `cls.__new__(cls, *args)`. */
  newObject(cls: PyGlobal, args: readonly PickleValue[]): PickleValue;
  /** BUILD: set state on an object produced earlier; returns the (possibly new) object. */
  build(obj: PickleValue, state: PickleValue): PickleValue;
  /** PERSID / BINPERSID. */
  persistentLoad(pid: PickleValue): PickleValue;
}

/** Python 2 module names that Python 3's unpickler renames (fix_imports), so errors name what Python would run. */
const IMPORT_RENAMES: Readonly<Record<string, string>> = {
  __builtin__: 'builtins',
  copy_reg: 'copyreg',
  UserDict: 'collections',
  UserList: 'collections',
  UserString: 'collections',
  Queue: 'queue',
  cPickle: 'pickle',
  commands: 'subprocess',
};

const OPCODE_NAMES: Readonly<Record<number, string>> = {
  0x69: 'INST',
  0x6f: 'OBJ',
  0x82: 'EXT1',
  0x83: 'EXT2',
  0x84: 'EXT4',
  0x8f: 'EMPTY_SET',
  0x90: 'ADDITEMS',
  0x91: 'FROZENSET',
  0x96: 'BYTEARRAY8',
  0x97: 'NEXT_BUFFER',
  0x98: 'READONLY_BUFFER',
};

/*
 * Budgets. A hostile pickle is bounded to work proportional to its size: every opcode costs at
 * least one byte, pushes at most one object and, except the ones below, does O(1) work (opcodes that
 * pop a MARK consume what they walk). What is not O(1) is bounded here: integers (decoding n bytes
 * or digits is superlinear, and a torch checkpoint needs 64-bit sizes at most), and the work of
 * opcodes that walk a container they do not consume (BUILD copies its state, REDUCE hands argument
 * tuples to the host) — a memoized container can be handed over again and again for 2 bytes.
 */
/** Bytes of a LONG1/LONG4 integer: 8 hold any size or offset; 32 leaves room and stays linear. */
export const MAX_LONG_BYTES = 32;
/** Characters of a protocol-0 INT/LONG (a 64-bit value has 20 digits). */
export const MAX_INT_DIGITS = 40;
/** Container items walked without being consumed, per byte of pickle (plus a fixed allowance). */
export const WORK_PER_BYTE = 8;
/**
 * Opcodes per pickle. Each may create an object (a list or dict costs ~100 bytes of heap for one
 * byte of pickle), so the count bounds memory; torch writes ~30 per tensor, so this admits state
 * dicts of 100,000+ tensors.
 */
export const MAX_OPS = 4_000_000;
export const WORK_BASE = 1 << 20;

const MARK = Symbol('mark');
type Slot = PickleValue | typeof MARK;

export class Unpickler {
  private pos = 0;
  private stack: Slot[] = [];
  private readonly memo = new Map<number, PickleValue>();
  private readonly view: DataView;
  private readonly text = new TextDecoder('utf-8', { fatal: true });
  private readonly latin1 = new TextDecoder('latin1');
  private work = 0;
  private readonly maxWork: number;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly host: PickleHost,
    /** For error messages: the file (and entry) being read. */
    private readonly source: string,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.maxWork = WORK_BASE + WORK_PER_BYTE * bytes.length;
  }

  load(): PickleValue {
    for (let ops = 0; ; ops++) {
      const at = this.pos;
      if (ops >= MAX_OPS) throw this.bad(at, `more than ${MAX_OPS} opcodes; a state dict needs about 30 per tensor`);
      const op = this.u8();
      switch (op) {
        case 0x80: // PROTO
          if (this.u8() > 5) throw this.bad(at, 'pickle protocol newer than 5');
          break;
        case 0x95: // FRAME: a length prefix we can ignore, the opcodes follow inline
          this.skip(8);
          break;
        case 0x2e: // STOP
          return this.popValue(at);

        case 0x28: // MARK
          this.stack.push(MARK);
          break;
        case 0x30: // POP
          this.pop(at);
          break;
        case 0x31: // POP_MARK
          this.popMark(at);
          break;
        case 0x32: // DUP
          this.stack.push(this.top(at));
          break;

        case 0x4e: // NONE
          this.stack.push(null);
          break;
        case 0x88: // NEWTRUE
          this.stack.push(true);
          break;
        case 0x89: // NEWFALSE
          this.stack.push(false);
          break;
        case 0x4b: // BININT1
          this.stack.push(this.u8());
          break;
        case 0x4d: // BININT2
          this.stack.push(this.view.getUint16(this.take(2), true));
          break;
        case 0x4a: // BININT
          this.stack.push(this.view.getInt32(this.take(4), true));
          break;
        case 0x8a: // LONG1
          this.stack.push(this.longLE(this.u8(), at));
          break;
        case 0x8b: // LONG4
          this.stack.push(this.longLE(this.view.getInt32(this.take(4), true), at));
          break;
        case 0x49: // INT (text; "00"/"01" are protocol 0's False/True)
        case 0x4c: { // LONG (text, optional trailing L)
          const s = this.line().replace(/L$/, '');
          if (s.length > MAX_INT_DIGITS) throw this.bad(at, `integer of ${s.length} digits: larger than any size or offset in a checkpoint (at most ${MAX_INT_DIGITS})`);
          if (op === 0x49 && (s === '00' || s === '01')) this.stack.push(s === '01');
          else if (/^[-+]?\d+$/.test(s)) this.stack.push(intValue(BigInt(s)));
          else throw this.bad(at, `malformed integer "${s}"`);
          break;
        }
        case 0x47: // BINFLOAT (big-endian double)
          this.stack.push(this.view.getFloat64(this.take(8), false));
          break;
        case 0x46: { // FLOAT (text)
          const v = Number(this.line());
          this.stack.push(v);
          break;
        }

        case 0x58: // BINUNICODE
          this.stack.push(this.utf8(this.view.getUint32(this.take(4), true), at));
          break;
        case 0x8c: // SHORT_BINUNICODE
          this.stack.push(this.utf8(this.u8(), at));
          break;
        case 0x8d: // BINUNICODE8
          this.stack.push(this.utf8(this.u64(at), at));
          break;
        case 0x56: // UNICODE (raw-unicode-escape text, protocol 0)
          this.stack.push(this.line().replace(/\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})/g, (_, a: string | undefined, b: string | undefined) => String.fromCodePoint(parseInt(a ?? b ?? '0', 16))));
          break;
        case 0x55: // SHORT_BINSTRING (Python 2 str: decoded as latin-1, like encoding='latin1')
          this.stack.push(this.latin1.decode(this.slice(this.u8())));
          break;
        case 0x54: // BINSTRING
          this.stack.push(this.latin1.decode(this.slice(this.view.getInt32(this.take(4), true), at)));
          break;
        case 0x53: { // STRING (quoted repr)
          const s = this.line();
          const m = /^(['"])(.*)\1$/s.exec(s);
          if (!m) throw this.bad(at, 'malformed STRING');
          this.stack.push(m[2]!);
          break;
        }
        case 0x43: // SHORT_BINBYTES
          this.stack.push(this.slice(this.u8()).slice());
          break;
        case 0x42: // BINBYTES
          this.stack.push(this.slice(this.view.getUint32(this.take(4), true), at).slice());
          break;
        case 0x8e: // BINBYTES8
          this.stack.push(this.slice(this.u64(at), at).slice());
          break;

        case 0x29: // EMPTY_TUPLE
          this.stack.push(new PyTuple([]));
          break;
        case 0x85: // TUPLE1
          this.stack.push(new PyTuple([this.popValue(at)]));
          break;
        case 0x86: { // TUPLE2
          const b = this.popValue(at);
          const a = this.popValue(at);
          this.stack.push(new PyTuple([a, b]));
          break;
        }
        case 0x87: { // TUPLE3
          const c = this.popValue(at);
          const b = this.popValue(at);
          const a = this.popValue(at);
          this.stack.push(new PyTuple([a, b, c]));
          break;
        }
        case 0x74: // TUPLE
          this.stack.push(new PyTuple(this.popMark(at)));
          break;
        case 0x5d: // EMPTY_LIST
          this.stack.push(new PyList());
          break;
        case 0x6c: { // LIST
          const l = new PyList();
          // A loop, not push(...items): spreading 100k+ items overflows the stack.
          for (const v of this.popMark(at)) l.items.push(v);
          this.stack.push(l);
          break;
        }
        case 0x61: { // APPEND
          const v = this.popValue(at);
          this.listAt(at).items.push(v);
          break;
        }
        case 0x65: { // APPENDS
          const vs = this.popMark(at);
          const list = this.listAt(at).items;
          for (const v of vs) list.push(v);
          break;
        }
        case 0x7d: // EMPTY_DICT
          this.stack.push(new PyDict());
          break;
        case 0x64: { // DICT
          const d = new PyDict();
          this.setItems(d, this.popMark(at), at);
          this.stack.push(d);
          break;
        }
        case 0x73: { // SETITEM
          const v = this.popValue(at);
          const k = this.popValue(at);
          this.setItems(this.dictAt(at), [k, v], at);
          break;
        }
        case 0x75: { // SETITEMS
          const kv = this.popMark(at);
          this.setItems(this.dictAt(at), kv, at);
          break;
        }

        case 0x70: // PUT (text index)
          this.memo.set(this.textIndex(at), this.topValue(at));
          break;
        case 0x71: // BINPUT
          this.memo.set(this.u8(), this.topValue(at));
          break;
        case 0x72: // LONG_BINPUT
          this.memo.set(this.view.getUint32(this.take(4), true), this.topValue(at));
          break;
        case 0x94: // MEMOIZE
          this.memo.set(this.memo.size, this.topValue(at));
          break;
        case 0x67: // GET
          this.stack.push(this.memoGet(this.textIndex(at), at));
          break;
        case 0x68: // BINGET
          this.stack.push(this.memoGet(this.u8(), at));
          break;
        case 0x6a: // LONG_BINGET
          this.stack.push(this.memoGet(this.view.getUint32(this.take(4), true), at));
          break;

        case 0x63: { // GLOBAL "module\nname\n"
          const module = this.line();
          const name = this.line();
          this.stack.push(this.host.global(IMPORT_RENAMES[module] ?? module, name));
          break;
        }
        case 0x93: { // STACK_GLOBAL
          const name = this.popValue(at);
          const module = this.popValue(at);
          if (typeof module !== 'string' || typeof name !== 'string') throw this.bad(at, 'STACK_GLOBAL needs two strings');
          this.stack.push(this.host.global(module, name));
          break;
        }
        case 0x52: { // REDUCE
          const args = this.popValue(at);
          const fn = this.popValue(at);
          if (!(fn instanceof PyGlobal)) throw this.bad(at, `REDUCE on a ${typeName(fn)}, not a global`);
          if (!(args instanceof PyTuple)) throw this.bad(at, `REDUCE arguments are a ${typeName(args)}, not a tuple`);
          this.charge(args.items, at);
          this.stack.push(this.host.call(fn, args.items));
          break;
        }
        case 0x81: { // NEWOBJ
          const args = this.popValue(at);
          const cls = this.popValue(at);
          if (!(cls instanceof PyGlobal) || !(args instanceof PyTuple)) throw this.bad(at, 'NEWOBJ needs a class and a tuple');
          this.charge(args.items, at);
          this.stack.push(this.host.newObject(cls, args.items));
          break;
        }
        case 0x92: { // NEWOBJ_EX
          const kwargs = this.popValue(at);
          const args = this.popValue(at);
          const cls = this.popValue(at);
          if (!(cls instanceof PyGlobal) || !(args instanceof PyTuple)) throw this.bad(at, 'NEWOBJ_EX needs a class and a tuple');
          if (!(kwargs instanceof PyDict) || kwargs.entries.size > 0) throw this.bad(at, `NEWOBJ_EX with keyword arguments for ${cls.qualified} is not supported`);
          this.charge(args.items, at);
          this.stack.push(this.host.newObject(cls, args.items));
          break;
        }
        case 0x62: { // BUILD
          const state = this.popValue(at);
          const obj = this.popValue(at);
          this.charge(state instanceof PyTuple ? state.items : [state], at);
          this.stack.push(this.host.build(obj, state));
          break;
        }
        case 0x51: { // BINPERSID
          const pid = this.popValue(at);
          this.charge([pid], at);
          this.stack.push(this.host.persistentLoad(pid));
          break;
        }
        case 0x50: // PERSID (text id)
          this.stack.push(this.host.persistentLoad(this.line()));
          break;

        default: {
          const name = OPCODE_NAMES[op];
          if (name) throw this.bad(at, `opcode ${name} is not used by torch state dicts and is refused`);
          throw this.bad(at, `unknown opcode 0x${op.toString(16).padStart(2, '0')} (not a pickle, or damaged)`);
        }
      }
    }
  }

  /**
   * Charges the items the host may walk: each value, and the items of containers one level down
   * (argument tuples hold the size/stride tuples; a BUILD state holds a dict or a tuple of dicts).
   */
  private charge(values: readonly PickleValue[], at: number): void {
    let n = values.length;
    for (const v of values) {
      if (v instanceof PyTuple) n += v.items.length;
      else if (v instanceof PyList) n += v.items.length;
      else if (v instanceof PyDict) n += v.entries.size;
    }
    this.work += n;
    if (this.work > this.maxWork) {
      throw this.bad(at, `the pickle makes the reader walk more than ${this.maxWork} items for its ${this.bytes.length} bytes (containers handed over again and again): not a state dict`);
    }
  }

  private bad(at: number, msg: string): BertfuseError {
    return new BertfuseError('E_BAD_PICKLE', `pickle byte ${at}: ${msg}`, this.source);
  }

  private take(n: number): number {
    const at = this.pos;
    if (at + n > this.bytes.length) throw this.bad(at, 'unexpected end of pickle data (truncated?)');
    this.pos += n;
    return at;
  }
  private skip(n: number): void {
    this.take(n);
  }
  private u8(): number {
    return this.bytes[this.take(1)]!;
  }
  private u64(at: number): number {
    const v = this.view.getBigUint64(this.take(8), true);
    if (v > BigInt(this.bytes.length)) throw this.bad(at, `length ${v} runs past the end of the pickle`);
    return Number(v);
  }
  private slice(n: number, at = this.pos): Uint8Array {
    if (n < 0) throw this.bad(at, 'negative length');
    const start = this.take(n);
    return this.bytes.subarray(start, start + n);
  }
  private utf8(n: number, at: number): string {
    try {
      return this.text.decode(this.slice(n, at));
    } catch {
      throw this.bad(at, 'string is not valid UTF-8');
    }
  }
  /** A newline-terminated text argument (protocol 0 opcodes, GLOBAL). */
  private line(): string {
    const start = this.pos;
    const nl = this.bytes.indexOf(0x0a, start);
    if (nl < 0) throw this.bad(start, 'unterminated text argument');
    this.pos = nl + 1;
    return this.latin1.decode(this.bytes.subarray(start, nl));
  }
  private textIndex(at: number): number {
    const s = this.line();
    const n = Number(s);
    if (!Number.isSafeInteger(n) || n < 0) throw this.bad(at, `malformed memo index "${s}"`);
    return n;
  }
  /** Two's-complement little-endian integer of n bytes (LONG1 / LONG4). */
  private longLE(n: number, at = this.pos): number | bigint {
    if (n < 0) throw this.bad(at, 'negative LONG4 length');
    if (n > MAX_LONG_BYTES) throw this.bad(at, `integer of ${n} bytes: larger than any size or offset in a checkpoint (at most ${MAX_LONG_BYTES} bytes)`);
    const b = this.slice(n, at);
    if (n === 0) return 0;
    let v = 0n;
    for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
    if (b[n - 1]! & 0x80) v -= 1n << BigInt(8 * n);
    return intValue(v);
  }

  private pop(at: number): Slot {
    if (this.stack.length === 0) throw this.bad(at, 'stack underflow');
    return this.stack.pop()!;
  }
  private popValue(at: number): PickleValue {
    const v = this.pop(at);
    if (v === MARK) throw this.bad(at, 'unexpected MARK');
    return v;
  }
  private top(at: number): Slot {
    if (this.stack.length === 0) throw this.bad(at, 'stack underflow');
    return this.stack[this.stack.length - 1]!;
  }
  private topValue(at: number): PickleValue {
    const v = this.top(at);
    if (v === MARK) throw this.bad(at, 'cannot memoize a MARK');
    return v;
  }
  private popMark(at: number): PickleValue[] {
    const i = this.stack.lastIndexOf(MARK);
    if (i < 0) throw this.bad(at, 'no MARK on the stack');
    const items = this.stack.slice(i + 1) as PickleValue[];
    this.stack.length = i;
    return items;
  }
  private listAt(at: number): PyList {
    const l = this.top(at);
    if (!(l instanceof PyList)) throw this.bad(at, `APPEND to a ${l === MARK ? 'MARK' : typeName(l)}, not a list`);
    return l;
  }
  private dictAt(at: number): PyDict {
    const d = this.top(at);
    if (!(d instanceof PyDict)) throw this.bad(at, `SETITEM on a ${d === MARK ? 'MARK' : typeName(d)}, not a dict`);
    return d;
  }
  private setItems(d: PyDict, kv: readonly PickleValue[], at: number): void {
    if (kv.length % 2 !== 0) throw this.bad(at, 'odd number of items for a dict');
    for (let i = 0; i < kv.length; i += 2) {
      const k = kv[i]!;
      if (!isKey(k)) throw this.bad(at, `dict key of type ${typeName(k)} is not supported`);
      d.entries.set(k, kv[i + 1]!);
    }
  }
  private memoGet(i: number, at: number): PickleValue {
    if (!this.memo.has(i)) throw this.bad(at, `memo index ${i} was never stored`);
    return this.memo.get(i)!;
  }
}

/** Ints stay plain numbers when a double holds them exactly. */
function intValue(v: bigint): number | bigint {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}
