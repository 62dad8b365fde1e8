import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BertfuseError } from '../errors.js';

/**
 * The one rule every writer follows before it replaces anything: bertfuse replaces a folder only
 * when bertfuse wrote it and nothing has been added or changed in it since. Every output folder
 * carries `bertfuse-files.json`, written last by the folder writer (util/atomic.ts) from what is
 * actually in the folder, so no writer can forget a file: each file's path and size, and the
 * sha256 of every file small enough to hash quickly (notes, cards, configs, tokenizers). A folder
 * whose record is missing or does not parse is not ours; so is one holding a file the record does
 * not list, a changed file, a symbolic link, the current directory or one of its parents.
 */
export const OWNERSHIP_FILE = 'bertfuse-files.json';
const FORMAT = 'bertfuse-files';
const VERSION = 1;
/** Files up to this size are hashed; larger ones (weights) are checked by size only. */
const HASH_LIMIT = 64 * 1024 * 1024;
/** How many offending names a refusal quotes before "and N more". */
const QUOTED = 3;

export interface OwnedFile {
  readonly path: string;
  readonly bytes: number;
  readonly sha256?: string;
}

export interface OwnershipRecord {
  readonly format: typeof FORMAT;
  readonly version: number;
  /** What wrote the folder: "combined", "merge", "random-checkpoint", ... */
  readonly kind: string;
  readonly files: readonly OwnedFile[];
}

function sha256File(file: string): string {
  const hash = crypto.createHash('sha256');
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      hash.update(buf.subarray(0, n));
    }
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest('hex');
}

type Entry = { rel: string; kind: 'file' | 'dir' | 'other'; bytes: number };

/** Every entry under `dir` (not following links), paths relative with '/' separators. */
function walk(dir: string, base = ''): Entry[] {
  const out: Entry[] = [];
  for (const name of fs.readdirSync(path.join(dir, base)).sort()) {
    const rel = base ? `${base}/${name}` : name;
    const st = fs.lstatSync(path.join(dir, rel));
    if (st.isDirectory()) {
      out.push({ rel, kind: 'dir', bytes: 0 });
      out.push(...walk(dir, rel));
    } else out.push({ rel, kind: st.isFile() ? 'file' : 'other', bytes: st.size });
  }
  return out;
}

/** The record of a freshly built folder (called on the temp folder before it is renamed into place). */
export function recordOwnership(dir: string, kind: string): OwnershipRecord {
  const files: OwnedFile[] = [];
  for (const e of walk(dir)) {
    if (e.kind === 'dir' || e.rel === OWNERSHIP_FILE) continue;
    if (e.kind === 'other') throw new Error(`${path.join(dir, e.rel)}: writers must not leave links or special files`);
    const file = path.join(dir, e.rel);
    files.push(e.bytes <= HASH_LIMIT ? { path: e.rel, bytes: e.bytes, sha256: sha256File(file) } : { path: e.rel, bytes: e.bytes });
  }
  const record: OwnershipRecord = { format: FORMAT, version: VERSION, kind, files };
  fs.writeFileSync(path.join(dir, OWNERSHIP_FILE), JSON.stringify(record, null, 2) + '\n');
  return record;
}

/** Parses a record; null when it is missing, unreadable or not one of ours. */
export function readOwnership(dir: string): OwnershipRecord | null {
  let raw: unknown;
  try {
    const file = path.join(dir, OWNERSHIP_FILE);
    if (!fs.lstatSync(file).isFile() || fs.statSync(file).size > 16 * 1024 * 1024) return null;
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return null;
  }
  if (typeof raw !== 'object' || raw === null) return null;
  const r = raw as Record<string, unknown>;
  if (r['format'] !== FORMAT || r['version'] !== VERSION || typeof r['kind'] !== 'string' || !Array.isArray(r['files'])) return null;
  const files = r['files'] as unknown[];
  const ok = files.every((f) => {
    if (typeof f !== 'object' || f === null) return false;
    const x = f as Record<string, unknown>;
    return typeof x['path'] === 'string' && Number.isSafeInteger(x['bytes']) && (x['sha256'] === undefined || typeof x['sha256'] === 'string');
  });
  return ok ? (raw as OwnershipRecord) : null;
}

function quote(names: readonly string[]): string {
  const shown = names.slice(0, QUOTED).map((n) => JSON.stringify(n.length > 80 ? `${n.slice(0, 77)}...` : n));
  return names.length > QUOTED ? `${shown.join(', ')} and ${names.length - QUOTED} more` : shown.join(', ');
}

function realOrResolved(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return path.resolve(p);
  }
}

const within = (inner: string, outer: string): boolean => inner === outer || inner.startsWith(outer.endsWith(path.sep) ? outer : outer + path.sep);

/**
 * Why `dest` must not be replaced, or null when it may be: it does not exist, is an empty folder,
 * or is a complete bertfuse output nobody has touched since.
 */
export function whyNotOurs(dest: string): string | null {
  const abs = path.resolve(dest);
  let st: fs.Stats;
  try {
    st = fs.lstatSync(abs);
  } catch {
    return null;
  }
  if (st.isSymbolicLink()) return 'is a symbolic link; give the folder itself';
  if (!st.isDirectory()) return 'exists and is not a folder';
  // Resolve links in the parents too: `out/..`, a linked home, `--out .` from inside.
  const real = realOrResolved(abs);
  if (within(realOrResolved(process.cwd()), real)) return 'is the current folder or one of its parents';
  if (real === realOrResolved(os.homedir()) || real === path.parse(real).root) return 'is your home folder or the filesystem root';
  const entries = walk(abs);
  if (entries.length === 0) return null;
  const record = readOwnership(abs);
  if (!record) {
    const have = fs.existsSync(path.join(abs, OWNERSHIP_FILE));
    return have
      ? `its ${OWNERSHIP_FILE} does not parse, so it is not a bertfuse output`
      : `is not a bertfuse output (no ${OWNERSHIP_FILE}; it holds ${quote(entries.filter((e) => e.kind !== 'dir').map((e) => e.rel))})`;
  }
  const listed = new Map(record.files.map((f) => [f.path, f]));
  const dirs = new Set<string>();
  for (const f of record.files) for (let d = path.posix.dirname(f.path); d !== '.'; d = path.posix.dirname(d)) dirs.add(d);
  const extra: string[] = [];
  const changed: string[] = [];
  for (const e of entries) {
    if (e.rel === OWNERSHIP_FILE) continue;
    if (e.kind === 'dir') {
      if (!dirs.has(e.rel) && !entries.some((x) => x.kind !== 'dir' && x.rel.startsWith(`${e.rel}/`))) extra.push(`${e.rel}/`);
      continue;
    }
    const f = listed.get(e.rel);
    if (!f || e.kind === 'other') extra.push(e.rel);
    else if (f.bytes !== e.bytes || (f.sha256 !== undefined && f.sha256 !== sha256File(path.join(abs, e.rel)))) changed.push(e.rel);
  }
  if (extra.length) return `holds ${quote(extra)}, which bertfuse did not write`;
  if (changed.length) return `${quote(changed)} changed since bertfuse wrote ${changed.length === 1 ? 'it' : 'them'}`;
  return null;
}

/** Throws one line naming the folder and what in it is not ours; returns when `dest` may be replaced. */
export function assertReplaceable(dest: string): void {
  const why = whyNotOurs(dest);
  // `.` or `..` names nothing the user would recognise in a message: say which folder it is.
  const named = ['.', '..', ''].includes(path.basename(dest)) || /[\\/]\.{1,2}[\\/]?$/.test(dest) ? realOrResolved(dest) : dest;
  if (why) throw new BertfuseError('E_NOT_OURS', `${why}; refusing to replace it (choose another output or move it away)`, named);
}
