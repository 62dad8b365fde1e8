import fs from 'node:fs';
import { Inflate } from 'fflate';
import { BertfuseError } from '../../errors.js';

/*
 * A read-only view of a zip file that reads only the central directory (and each entry's local
 * header) on open and each entry's bytes on demand with positional reads, so a 440 MB torch
 * checkpoint is never held in memory whole. torch.save stores entries uncompressed (method 0);
 * deflated entries (method 8) are inflated with fflate. Zip64 (archives or entries over 4 GiB) is
 * understood.
 *
 * The archive may be hostile, so nothing it claims is trusted before it is checked: every entry's
 * local header must agree with the central directory, entries may not overlap each other or the
 * directory (overlapping entries are how small zip bombs multiply), declared sizes must be possible
 * for their compression method and stay within a ratio of the file size, and a deflate stream is
 * inflated in slices that stop as soon as it produces more than declared. Each deflated entry is
 * inflated once and kept until close, so a storage shared by many tensors is not re-inflated per
 * tensor.
 */

const SIG_EOCD = 0x06054b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;
const SIG_ZIP64_EOCD = 0x06064b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_LOCAL = 0x04034b50;
const EOCD_SIZE = 22;
const MAX_COMMENT = 0xffff;
const LOCAL_HEADER = 30;

/** Deflate cannot expand data by more than 1032:1 (RFC 1951: a 258-byte match per ~2 bits). A size beyond that is a lie. */
const DEFLATE_MAX_RATIO = 1032;
/**
 * Real tensors compress barely (float noise); a larger ratio on a large entry is a bomb. Small
 * entries (data.pkl, byteorder, zeroed buffers) may compress well and are always allowed.
 */
export const BOMB_RATIO = 200;
const BOMB_FREE_BYTES = 4 << 20;
/** One inflated entry must fit in one typed array, and all of them in memory. */
export const MAX_INFLATED_ENTRY = 2 ** 31 - 1;
export const MAX_INFLATED_TOTAL = 16 * 2 ** 30;
/** More entries than a checkpoint of thousands of tensors has, by far. */
export const MAX_ENTRIES = 1_000_000;
/** Compressed bytes fed to the inflater per step: output per step is at most 1032x this. */
const INFLATE_SLICE = 16 * 1024;

export interface ZipEntry {
  readonly name: string;
  /** 0 = stored, 8 = deflate. */
  readonly method: number;
  readonly compressedSize: number;
  readonly size: number;
  readonly localHeaderOffset: number;
  /** CRC-32 of the uncompressed bytes, from the central directory. */
  readonly crc32: number;
}

interface Located extends ZipEntry {
  /** Where the entry's (compressed) bytes start: after its local header. */
  readonly dataOffset: number;
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
  private readonly located: ReadonlyMap<string, Located>;
  /** Inflated deflate entries, each inflated once (bounded in total by the checks at open). */
  private readonly inflated = new Map<string, Uint8Array>();
  private closed = false;
  private inflateCount = 0;

  private constructor(file: string, fd: number, entries: Map<string, Located>) {
    this.file = file;
    this.fd = fd;
    this.located = entries;
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
      const { entries, cdOffset } = readCentralDirectory(file, fd, size);
      return new ZipArchive(file, fd, locateEntries(file, fd, entries, cdOffset, size));
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
  }

  /** Bytes [start, start + length) of an entry's uncompressed content. */
  read(name: string, start = 0, length?: number): Uint8Array {
    const e = this.located.get(name);
    if (!e) throw bad(this.file, `zip entry "${name}" is missing`);
    if (this.closed) throw new Error(`${this.file} is closed`);
    const len = length ?? e.size - start;
    if (start < 0 || len < 0 || start + len > e.size) {
      throw bad(this.file, `read of bytes [${start}, ${start + len}) runs past zip entry "${name}" (${e.size} bytes)`);
    }
    if (e.method === 0) return this.readAt(e.dataOffset + start, len, name);
    if (e.method === 8) return this.inflate(e).subarray(start, start + len);
    throw bad(this.file, `zip entry "${name}" uses compression method ${e.method} (only stored and deflate are supported)`);
  }

  /** How many times an entry was inflated (each deflated entry at most once). */
  get inflations(): number {
    return this.inflateCount;
  }

  close(): void {
    if (!this.closed) fs.closeSync(this.fd);
    this.closed = true;
    this.inflated.clear();
  }

  /**
   * Inflates a deflate entry into exactly its declared size, in slices, stopping as soon as the
   * stream produces more; a stream that ends early, is corrupt or fails its CRC is refused.
   */
  private inflate(e: Located): Uint8Array {
    const cached = this.inflated.get(e.name);
    if (cached) return cached;
    this.inflateCount++;
    const out = new Uint8Array(e.size);
    let written = 0;
    let ended = false;
    const inflater = new Inflate((chunk, final) => {
      if (written + chunk.length > e.size) throw bad(this.file, `zip entry "${e.name}" inflates to more than its declared ${e.size} bytes (sizes in the archive lie)`);
      out.set(chunk, written);
      written += chunk.length;
      if (final) ended = true;
    });
    const compressed = this.readAt(e.dataOffset, e.compressedSize, e.name);
    try {
      for (let at = 0; at < compressed.length; at += INFLATE_SLICE) {
        const end = Math.min(compressed.length, at + INFLATE_SLICE);
        inflater.push(compressed.subarray(at, end), end === compressed.length);
      }
      if (compressed.length === 0) inflater.push(new Uint8Array(0), true);
    } catch (err) {
      if (err instanceof BertfuseError) throw err;
      throw bad(this.file, `zip entry "${e.name}" is not a valid deflate stream (${(err as Error).message}; corrupt?)`);
    }
    if (!ended || written !== e.size) throw bad(this.file, `zip entry "${e.name}" inflates to ${written} bytes, but the archive declares ${e.size} (corrupt or lying sizes)`);
    if (crc32(out) !== e.crc32) throw bad(this.file, `zip entry "${e.name}" fails its CRC-32 check (corrupt)`);
    this.inflated.set(e.name, out);
    return out;
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

function readCentralDirectory(file: string, fd: number, fileSize: number): { entries: Map<string, ZipEntry>; cdOffset: number } {
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
  // Each central record takes at least 46 bytes: a count the directory cannot hold is a lie.
  if (count > MAX_ENTRIES || count * 46 > cdSize) throw bad(file, `zip claims ${count} entries in a ${cdSize}-byte central directory (at most ${Math.min(MAX_ENTRIES, Math.floor(cdSize / 46))})`);
  const cd = readBytes(fd, cdOffset, cdSize);
  const entries = new Map<string, ZipEntry>();
  let p = 0;
  for (let i = 0; i < count; i++) {
    if (p + 46 > cd.length || cd.readUInt32LE(p) !== SIG_CENTRAL) throw bad(file, `zip central directory entry ${i} is damaged`);
    const flags = cd.readUInt16LE(p + 8);
    const method = cd.readUInt16LE(p + 10);
    const crc = cd.readUInt32LE(p + 16);
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
    if (p + 46 + nameLen > cd.length) throw bad(file, `zip central directory entry ${i} is damaged`);
    if (entries.has(name)) throw bad(file, `zip has two entries named "${name}"`);
    entries.set(name, { name, method, compressedSize, size, localHeaderOffset, crc32: crc });
    p = xEnd + commentLen;
  }
  return { entries, cdOffset };
}

/**
 * Reads every entry's local header and checks what the central directory claims: the local header
 * names the same entry with the same method (and, unless sizes follow in a data descriptor, the
 * same sizes); entries lie one after another, never overlapping each other or the directory; and
 * the uncompressed sizes are possible (stored: equal; deflate: within 1032:1) and not a bomb.
 */
function locateEntries(file: string, fd: number, entries: Map<string, ZipEntry>, cdOffset: number, fileSize: number): Map<string, Located> {
  const located = new Map<string, Located>();
  let inflatedTotal = 0;
  for (const e of entries.values()) {
    const where = `zip entry "${e.name}"`;
    if (e.localHeaderOffset + LOCAL_HEADER > cdOffset) throw bad(file, `${where} has its local header at ${e.localHeaderOffset}, outside the entries (truncated or damaged)`);
    const h = readBytes(fd, e.localHeaderOffset, LOCAL_HEADER);
    if (h.length < LOCAL_HEADER || h.readUInt32LE(0) !== SIG_LOCAL) throw bad(file, `${where} has no local header at offset ${e.localHeaderOffset}`);
    const flags = h.readUInt16LE(6);
    const method = h.readUInt16LE(8);
    const nameLen = h.readUInt16LE(26);
    const extraLen = h.readUInt16LE(28);
    const localName = readBytes(fd, e.localHeaderOffset + LOCAL_HEADER, nameLen).toString('utf8');
    if (localName !== e.name) throw bad(file, `${where}: its local header names "${localName.slice(0, 80)}" (the archive disagrees with itself)`);
    if (method !== e.method) throw bad(file, `${where}: local header says compression method ${method}, central directory says ${e.method}`);
    if (!(flags & 8)) {
      const lc = h.readUInt32LE(18);
      const lu = h.readUInt32LE(22);
      // 0xffffffff: the real value is in the local zip64 extra field (checked through the central one).
      if ((lc !== 0xffffffff && lc !== e.compressedSize) || (lu !== 0xffffffff && lu !== e.size)) {
        throw bad(file, `${where}: local header says ${lc} compressed / ${lu} bytes, central directory says ${e.compressedSize} / ${e.size} (sizes lie)`);
      }
    }
    const dataOffset = e.localHeaderOffset + LOCAL_HEADER + nameLen + extraLen;
    if (dataOffset + e.compressedSize > cdOffset) throw bad(file, `${where} runs past the end of the entries (${dataOffset + e.compressedSize} > ${cdOffset}; truncated or lying sizes)`);
    if (e.method === 0 && e.compressedSize !== e.size) throw bad(file, `${where} is stored uncompressed but declares ${e.compressedSize} stored and ${e.size} uncompressed bytes`);
    if (e.method === 8) {
      if (e.size > DEFLATE_MAX_RATIO * e.compressedSize + 1024) throw bad(file, `${where} declares ${e.size} bytes from ${e.compressedSize} compressed: more than deflate can produce (sizes lie)`);
      if (e.size > BOMB_FREE_BYTES && e.size > BOMB_RATIO * e.compressedSize) throw bad(file, `${where} would inflate ${e.compressedSize} bytes to ${e.size} (ratio over ${BOMB_RATIO}:1): refusing a zip bomb`);
      if (e.size > MAX_INFLATED_ENTRY) throw bad(file, `${where} would inflate to ${e.size} bytes, more than one entry can hold in memory (${MAX_INFLATED_ENTRY}); store it uncompressed`);
      inflatedTotal += e.size;
    }
    located.set(e.name, { ...e, dataOffset });
  }
  const limit = Math.min(MAX_INFLATED_TOTAL, BOMB_RATIO * fileSize + 64 * 2 ** 20);
  if (inflatedTotal > limit) throw bad(file, `zip entries would inflate to ${inflatedTotal} bytes in total from a ${fileSize}-byte file (limit ${limit}): refusing a zip bomb`);
  // Sorted by position, each entry must end before the next one's header begins.
  const byOffset = [...located.values()].sort((a, b) => a.localHeaderOffset - b.localHeaderOffset);
  for (let i = 1; i < byOffset.length; i++) {
    const prev = byOffset[i - 1]!;
    const cur = byOffset[i]!;
    if (prev.dataOffset + prev.compressedSize > cur.localHeaderOffset) {
      throw bad(file, `zip entries "${prev.name}" and "${cur.name}" overlap in the file (a zip bomb trick or damage)`);
    }
  }
  return located;
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (IEEE, as zip uses). */
export function crc32(data: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = CRC_TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
