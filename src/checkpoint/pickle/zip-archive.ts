import fs from 'node:fs';
import { inflateSync } from 'fflate';
import { BertfuseError } from '../../errors.js';

/*
 * A read-only view of a zip file that reads only the central directory on open and each entry's
 * bytes on demand with positional reads, so a 440 MB torch checkpoint is never held in memory
 * whole. torch.save stores entries uncompressed (method 0); deflated entries (method 8) are
 * inflated with fflate. Zip64 (archives or entries over 4 GiB) is understood.
 */

const SIG_EOCD = 0x06054b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;
const SIG_ZIP64_EOCD = 0x06064b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_LOCAL = 0x04034b50;
const EOCD_SIZE = 22;
const MAX_COMMENT = 0xffff;

export interface ZipEntry {
  readonly name: string;
  /** 0 = stored, 8 = deflate. */
  readonly method: number;
  readonly compressedSize: number;
  readonly size: number;
  readonly localHeaderOffset: number;
}

function bad(file: string, msg: string): BertfuseError {
  return new BertfuseError('E_BAD_PICKLE', msg, file);
}

function u64(b: Buffer, at: number, file: string): number {
  const v = b.readBigUInt64LE(at);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw bad(file, `zip field ${v} is too large`);
  return Number(v);
}

export class ZipArchive {
  readonly file: string;
  readonly entries: ReadonlyMap<string, ZipEntry>;
  private readonly fd: number;
  private readonly fileSize: number;
  private readonly dataOffsets = new Map<string, number>();
  private closed = false;

  private constructor(file: string, fd: number, fileSize: number, entries: Map<string, ZipEntry>) {
    this.file = file;
    this.fd = fd;
    this.fileSize = fileSize;
    this.entries = entries;
  }

  /** True when the first bytes are a zip local-file header (or an empty archive's end record). */
  static looksLikeZip(head: Uint8Array): boolean {
    if (head.length < 4) return false;
    const sig = (head[0]! | (head[1]! << 8) | (head[2]! << 16) | (head[3]! << 24)) >>> 0;
    return sig === SIG_LOCAL || sig === SIG_EOCD;
  }

  static open(file: string): ZipArchive {
    let fd: number;
    try {
      fd = fs.openSync(file, 'r');
    } catch {
      throw new BertfuseError('E_MISSING_FILE', 'cannot open file', file);
    }
    try {
      const size = fs.fstatSync(fd).size;
      return new ZipArchive(file, fd, size, readCentralDirectory(file, fd, size));
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
  }

  /** Bytes [start, start + length) of an entry's uncompressed content. */
  read(name: string, start = 0, length?: number): Uint8Array {
    const e = this.entries.get(name);
    if (!e) throw bad(this.file, `zip entry "${name}" is missing`);
    if (this.closed) throw new Error(`${this.file} is closed`);
    const len = length ?? e.size - start;
    if (start < 0 || len < 0 || start + len > e.size) {
      throw bad(this.file, `read of bytes [${start}, ${start + len}) runs past zip entry "${name}" (${e.size} bytes)`);
    }
    const dataAt = this.dataOffset(e);
    if (e.method === 0) return this.readAt(dataAt + start, len, name);
    if (e.method === 8) {
      const raw = inflateSync(this.readAt(dataAt, e.compressedSize, name), { out: new Uint8Array(e.size) });
      if (raw.length !== e.size) throw bad(this.file, `zip entry "${name}" inflates to ${raw.length} bytes, expected ${e.size}`);
      return raw.subarray(start, start + len);
    }
    throw bad(this.file, `zip entry "${name}" uses compression method ${e.method} (only stored and deflate are supported)`);
  }

  close(): void {
    if (!this.closed) fs.closeSync(this.fd);
    this.closed = true;
  }

  private dataOffset(e: ZipEntry): number {
    const cached = this.dataOffsets.get(e.name);
    if (cached !== undefined) return cached;
    const h = Buffer.from(this.readAt(e.localHeaderOffset, 30, e.name));
    if (h.readUInt32LE(0) !== SIG_LOCAL) throw bad(this.file, `zip entry "${e.name}" has no local header at offset ${e.localHeaderOffset}`);
    const at = e.localHeaderOffset + 30 + h.readUInt16LE(26) + h.readUInt16LE(28);
    if (at + e.compressedSize > this.fileSize) throw bad(this.file, `zip entry "${e.name}" runs past the end of the file (truncated?)`);
    this.dataOffsets.set(e.name, at);
    return at;
  }

  private readAt(pos: number, len: number, what: string): Uint8Array {
    const buf = new Uint8Array(len);
    let done = 0;
    while (done < len) {
      const got = fs.readSync(this.fd, buf, done, len - done, pos + done);
      if (got === 0) throw bad(this.file, `unexpected end of file reading "${what}" (truncated?)`);
      done += got;
    }
    return buf;
  }
}

function readBytes(fd: number, pos: number, len: number): Buffer {
  const b = Buffer.alloc(len);
  let done = 0;
  while (done < len) {
    const got = fs.readSync(fd, b, done, len - done, pos + done);
    if (got === 0) break;
    done += got;
  }
  return b.subarray(0, done);
}

function readCentralDirectory(file: string, fd: number, fileSize: number): Map<string, ZipEntry> {
  const tailLen = Math.min(fileSize, EOCD_SIZE + MAX_COMMENT);
  const tailStart = fileSize - tailLen;
  const tail = readBytes(fd, tailStart, tailLen);
  let eocd = -1;
  for (let i = tail.length - EOCD_SIZE; i >= 0; i--) {
    if (tail.readUInt32LE(i) === SIG_EOCD) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw bad(file, 'not a complete zip archive (no end-of-central-directory record; truncated?)');
  let count = tail.readUInt16LE(eocd + 10);
  let cdSize = tail.readUInt32LE(eocd + 12);
  let cdOffset = tail.readUInt32LE(eocd + 16);
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    const loc = eocd - 20;
    if (loc < 0 || tail.readUInt32LE(loc) !== SIG_ZIP64_LOCATOR) throw bad(file, 'zip64 archive without a zip64 locator');
    const z64At = u64(tail, loc + 8, file);
    const z = readBytes(fd, z64At, 56);
    if (z.length < 56 || z.readUInt32LE(0) !== SIG_ZIP64_EOCD) throw bad(file, 'zip64 end record is missing or damaged');
    count = u64(z, 32, file);
    cdSize = u64(z, 40, file);
    cdOffset = u64(z, 48, file);
  }
  if (cdOffset + cdSize > fileSize) throw bad(file, 'zip central directory runs past the end of the file (truncated?)');
  const cd = readBytes(fd, cdOffset, cdSize);
  const entries = new Map<string, ZipEntry>();
  let p = 0;
  for (let i = 0; i < count; i++) {
    if (p + 46 > cd.length || cd.readUInt32LE(p) !== SIG_CENTRAL) throw bad(file, `zip central directory entry ${i} is damaged`);
    const flags = cd.readUInt16LE(p + 8);
    const method = cd.readUInt16LE(p + 10);
    let compressedSize = cd.readUInt32LE(p + 20);
    let size = cd.readUInt32LE(p + 24);
    const nameLen = cd.readUInt16LE(p + 28);
    const extraLen = cd.readUInt16LE(p + 30);
    const commentLen = cd.readUInt16LE(p + 32);
    let localHeaderOffset = cd.readUInt32LE(p + 42);
    const name = cd.toString('utf8', p + 46, p + 46 + nameLen);
    if (flags & 1) throw bad(file, `zip entry "${name}" is encrypted`);
    // Zip64 extra field: the 64-bit values appear only for fields whose 32-bit slot is saturated.
    let x = p + 46 + nameLen;
    const xEnd = x + extraLen;
    while (x + 4 <= xEnd) {
      const id = cd.readUInt16LE(x);
      const len = cd.readUInt16LE(x + 2);
      if (id === 0x0001) {
        let q = x + 4;
        if (size === 0xffffffff) (size = u64(cd, q, file)), (q += 8);
        if (compressedSize === 0xffffffff) (compressedSize = u64(cd, q, file)), (q += 8);
        if (localHeaderOffset === 0xffffffff) localHeaderOffset = u64(cd, q, file);
      }
      x += 4 + len;
    }
    entries.set(name, { name, method, compressedSize, size, localHeaderOffset });
    p = xEnd + commentLen;
  }
  return entries;
}
