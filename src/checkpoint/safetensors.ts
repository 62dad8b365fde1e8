import fs from 'node:fs';
import { BertfuseError } from '../errors.js';
import { withTempFile } from '../util/atomic.js';
import { DTYPE_BYTES, assertDType, decodeToFloat32, encodeFloat32, type DType } from './dtype.js';
import { numel, type Tensor, type TensorInfo, type TensorStore } from './tensor-store.js';
import { ShardedStore } from './sharded.js';

/*
 * safetensors: u64 little-endian header length N, N bytes of JSON
 * { name: { dtype, shape, data_offsets: [begin, end] }, "__metadata__": { str: str } },
 * then the data section; offsets are relative to byte 8 + N.
 */

/** Headers larger than this are refused before allocating (the official reader caps at 100 MB). */
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

interface Entry extends TensorInfo {
  readonly begin: number;
  readonly end: number;
}

export interface SafetensorsHeader {
  readonly entries: Map<string, Entry>;
  readonly metadata: Record<string, string>;
  readonly dataStart: number;
}

function bad(file: string, msg: string): BertfuseError {
  return new BertfuseError('E_BAD_SAFETENSORS', msg, file);
}

/** Parse and validate a header. Every inconsistency is reported with the file name. */
export function parseSafetensorsHeader(file: string, fd: number, fileSize: number): SafetensorsHeader {
  if (fileSize < 8) throw bad(file, `file is ${fileSize} bytes, too short for the 8-byte header length (truncated?)`);
  const lenBuf = Buffer.alloc(8);
  fs.readSync(fd, lenBuf, 0, 8, 0);
  const n = lenBuf.readBigUInt64LE(0);
  if (n === 0n) throw bad(file, 'header length is 0');
  if (n > BigInt(fileSize - 8)) {
    throw bad(file, `header length ${n} runs past the end of the file (${fileSize} bytes; truncated or not a safetensors file)`);
  }
  if (n > BigInt(MAX_HEADER_BYTES)) throw bad(file, `header length ${n} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  const headerLen = Number(n);
  const headerBuf = Buffer.alloc(headerLen);
  fs.readSync(fd, headerBuf, 0, headerLen, 8);
  let text: string;
  try {
    // Strict: a lenient decode would turn damaged bytes into U+FFFD and parse them as a tensor name.
    text = new TextDecoder('utf-8', { fatal: true }).decode(headerBuf);
  } catch {
    throw bad(file, 'header is not valid UTF-8');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw bad(file, `header is not valid JSON (${(e as Error).message})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw bad(file, 'header is not a JSON object');

  const dataStart = 8 + headerLen;
  const dataSize = fileSize - dataStart;
  const entries = new Map<string, Entry>();
  let metadata: Record<string, string> = {};
  for (const [name, raw] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof raw !== 'object' || raw === null) throw bad(file, '__metadata__ is not an object');
      metadata = Object.fromEntries(Object.entries(raw as Record<string, unknown>).map(([k, v]) => [k, String(v)]));
      continue;
    }
    if (typeof raw !== 'object' || raw === null) throw bad(file, `entry "${name}" is not an object`);
    const r = raw as Record<string, unknown>;
    const dtype: DType = assertDType(r['dtype'], file, name);
    const shape = r['shape'];
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) {
      throw bad(file, `tensor "${name}" has an invalid shape ${JSON.stringify(shape)}`);
    }
    const offs = r['data_offsets'];
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isSafeInteger(o) && (o as number) >= 0)) {
      throw bad(file, `tensor "${name}" has invalid data_offsets ${JSON.stringify(offs)}`);
    }
    const [begin, end] = offs as [number, number];
    if (end < begin) throw bad(file, `tensor "${name}" has data_offsets [${begin}, ${end}] that end before they begin`);
    const expected = numel(shape as number[]) * DTYPE_BYTES[dtype];
    if (end - begin !== expected) {
      throw bad(file, `tensor "${name}" spans ${end - begin} bytes but ${dtype}${JSON.stringify(shape)} needs ${expected}`);
    }
    if (end > dataSize) {
      throw bad(file, `tensor "${name}" data_offsets [${begin}, ${end}] run past the data section (${dataSize} bytes; file truncated?)`);
    }
    entries.set(name, { name, dtype, shape: shape as number[], begin, end });
  }
  const sorted = [...entries.values()].sort((a, b) => a.begin - b.begin || a.end - b.end);
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1]!;
    const cur = sorted[i]!;
    if (cur.begin < prev.end) {
      throw bad(file, `tensors "${prev.name}" [${prev.begin}, ${prev.end}] and "${cur.name}" [${cur.begin}, ${cur.end}] overlap`);
    }
  }
  return { entries, metadata, dataStart };
}

/** A lazily-read safetensors file: the header is parsed on open, tensor bytes on `read`. */
export class SafetensorsFile implements TensorStore {
  readonly source: string;
  readonly metadata: Record<string, string>;
  private readonly fd: number;
  private readonly header: SafetensorsHeader;
  private closed = false;

  private constructor(file: string, fd: number, header: SafetensorsHeader) {
    this.source = file;
    this.fd = fd;
    this.header = header;
    this.metadata = header.metadata;
  }

  static open(file: string): SafetensorsFile {
    let fd: number;
    try {
      fd = fs.openSync(file, 'r');
    } catch {
      throw new BertfuseError('E_MISSING_FILE', 'cannot open weights file', file);
    }
    try {
      const st = fs.fstatSync(fd);
      if (!st.isFile()) throw bad(file, 'is a directory, not a weights file');
      return new SafetensorsFile(file, fd, parseSafetensorsHeader(file, fd, st.size));
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
  }

  names(): string[] {
    return [...this.header.entries.keys()];
  }
  has(name: string): boolean {
    return this.header.entries.has(name);
  }
  info(name: string): TensorInfo {
    const e = this.entry(name);
    return { name: e.name, dtype: e.dtype, shape: e.shape };
  }
  /** Raw little-endian bytes, as stored. */
  readBytes(name: string): Uint8Array {
    const e = this.entry(name);
    if (this.closed) throw new Error(`${this.source} is closed`);
    // Read per tensor with positional reads: works for files over 2 GiB, where readFileSync throws.
    const buf = new Uint8Array(e.end - e.begin);
    let done = 0;
    while (done < buf.length) {
      const got = fs.readSync(this.fd, buf, done, buf.length - done, this.header.dataStart + e.begin + done);
      if (got === 0) throw bad(this.source, `unexpected end of file reading tensor "${name}"`);
      done += got;
    }
    return buf;
  }
  read(name: string): Tensor {
    const e = this.entry(name);
    return { shape: e.shape, data: decodeToFloat32(this.readBytes(name), e.dtype) };
  }
  close(): void {
    if (!this.closed) fs.closeSync(this.fd);
    this.closed = true;
  }
  private entry(name: string): Entry {
    const e = this.header.entries.get(name);
    if (!e) throw new BertfuseError('E_MISSING_TENSOR', `no tensor named "${name}"`, this.source);
    return e;
  }
}

/** `model.safetensors.index.json` + shards, seen as one store. Shards open on first use. */
export class ShardedSafetensors extends ShardedStore {
  constructor(indexFile: string) {
    super(indexFile, (f) => SafetensorsFile.open(f), 'E_BAD_SAFETENSORS');
  }
}

export type WriteDType = 'F32' | 'F16' | 'BF16';

/** A tensor to write: shape known up front, data produced on demand (so writers can stream). */
export interface TensorSource {
  readonly name: string;
  readonly shape: readonly number[];
  data(): Float32Array;
}

export interface WriteOptions {
  dtype?: WriteDType;
  metadata?: Record<string, string>;
}

/**
 * Write tensors to one safetensors file: sorted by name (deterministic bytes), header padded with
 * spaces to 8-byte alignment, through a temp file and rename. Each tensor's data is requested
 * once, in order, and may be dropped right after.
 */
export function writeSafetensors(file: string, tensors: readonly TensorSource[], opts: WriteOptions = {}): void {
  const dtype = opts.dtype ?? 'F32';
  const width = DTYPE_BYTES[dtype];
  const sorted = [...tensors].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const header: Record<string, unknown> = { __metadata__: { format: 'pt', ...(opts.metadata ?? {}) } };
  let offset = 0;
  for (const t of sorted) {
    const bytes = numel(t.shape) * width;
    header[t.name] = { dtype, shape: [...t.shape], data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let headerText = JSON.stringify(header);
  const pad = (8 - (Buffer.byteLength(headerText) % 8)) % 8;
  headerText += ' '.repeat(pad);
  const headerBytes = Buffer.from(headerText, 'utf8');
  withTempFile(file, (fd) => {
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(headerBytes.length));
    fs.writeSync(fd, len);
    fs.writeSync(fd, headerBytes);
    for (const t of sorted) {
      const data = t.data();
      if (data.length !== numel(t.shape)) {
        throw new Error(`tensor "${t.name}" has ${data.length} values but shape ${JSON.stringify(t.shape)}`);
      }
      fs.writeSync(fd, encodeFloat32(data, dtype));
    }
  });
}

/** Convenience: write in-memory tensors. */
export function writeSafetensorsFromMap(file: string, tensors: Map<string, Tensor>, opts: WriteOptions = {}): void {
  writeSafetensors(
    file,
    [...tensors].map(([name, t]) => ({ name, shape: t.shape, data: () => t.data })),
    opts,
  );
}
