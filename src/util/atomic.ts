import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { BertfuseError } from '../errors.js';
import { assertReplaceable, recordOwnership } from './ownership.js';

/**
 * Writers never leave a half-written output: they write beside the destination (same filesystem, so
 * rename is atomic) and rename at the end. A crash leaves at most a `.bertfuse-tmp-*` sibling.
 */
function tempSibling(dest: string, kind: 'tmp' | 'old' = 'tmp'): string {
  const dir = path.dirname(path.resolve(dest));
  return path.join(dir, `.bertfuse-${kind}-${path.basename(dest)}-${process.pid}-${crypto.randomBytes(4).toString('hex')}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Errors that mean "the disk (or the folder) cannot take this write", not a bug. */
const WRITE_ERRORS: Readonly<Record<string, string>> = {
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EFBIG: 'file too large for this filesystem',
  EROFS: 'read-only filesystem',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EIO: 'input/output error',
};

/**
 * A failed write becomes one line naming the destination, saying the previous output (if any) is
 * untouched: every writer builds beside the destination, so a failure never reaches it.
 */
export function writeFailure(e: unknown, dest: string): unknown {
  // A file inside a folder being built failed: the folder's writer reports it under its own name.
  const code = e instanceof BertfuseError ? failedErrno.get(e) : (e as NodeJS.ErrnoException | null)?.code;
  if (typeof code !== 'string' || !Object.hasOwn(WRITE_ERRORS, code)) return e;
  const kept = fs.existsSync(dest) ? 'the previous output is kept' : 'nothing was written';
  const err = new BertfuseError('E_WRITE', `cannot write: ${WRITE_ERRORS[code]} (${code}); ${kept}`, dest);
  failedErrno.set(err, code);
  return err;
}
const failedErrno = new WeakMap<BertfuseError, string>();

function parsePid(rest: string): number | null {
  const m = /^(\d+)-[0-9a-f]{8}$/.exec(rest);
  return m ? Number(m[1]) : null;
}

/**
 * A run killed mid-write (kill -9, power loss) leaves its temp sibling behind; the next write to the
 * same destination removes those whose process is gone. A `.bertfuse-old-*` sibling is the previous
 * output, moved aside by a swap that was cut between its two renames (it was checked to be ours
 * before it was moved): if the destination is missing it is put back, otherwise the swap finished
 * and the old copy is removed. Only names our writers create are touched, and only for `dest`.
 */
export function sweepStaleTemps(dest: string): string[] {
  const abs = path.resolve(dest);
  const dir = path.dirname(abs);
  const base = path.basename(abs);
  let names: string[];
  try {
    names = fs.readdirSync(dir).sort();
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const kind of ['tmp', 'old'] as const) {
    const prefix = `.bertfuse-${kind}-${base}-`;
    for (const name of names) {
      if (!name.startsWith(prefix)) continue;
      const pid = parsePid(name.slice(prefix.length));
      if (pid === null || pid === process.pid || isAlive(pid)) continue;
      const p = path.join(dir, name);
      if (kind === 'old' && !fs.existsSync(abs)) {
        fs.renameSync(p, abs);
        continue;
      }
      fs.rmSync(p, { recursive: true, force: true });
      removed.push(name);
    }
  }
  return removed;
}

export function writeFileAtomic(dest: string, data: string | Uint8Array): void {
  fs.mkdirSync(path.dirname(path.resolve(dest)), { recursive: true });
  sweepStaleTemps(dest);
  const tmp = tempSibling(dest);
  try {
    fs.writeFileSync(tmp, data);
    fs.renameSync(tmp, dest);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw writeFailure(e, dest);
  }
}

/**
 * Replace a single user-named file (a report, a JSON result): only when it does not exist yet or
 * `isOurs` recognises what is there as something bertfuse wrote. Never a folder, a link, or a file
 * we cannot recognise.
 */
export function replaceFileAtomic(dest: string, data: string | Uint8Array, isOurs: (existing: string) => boolean): void {
  let st: fs.Stats | null = null;
  try {
    st = fs.lstatSync(dest);
  } catch {
    st = null;
  }
  if (st) {
    const why = st.isSymbolicLink() ? 'is a symbolic link' : !st.isFile() ? 'exists and is not a file' : !isOurs(dest) ? 'exists and was not written by bertfuse' : null;
    if (why) throw new BertfuseError('E_NOT_OURS', `${why}; refusing to replace it (choose another output or move it away)`, dest);
  }
  writeFileAtomic(dest, data);
}

/** Let `write` fill a temp file through a descriptor, then rename it into place. */
export function withTempFile<T>(dest: string, write: (fd: number, tmpPath: string) => T): T {
  fs.mkdirSync(path.dirname(path.resolve(dest)), { recursive: true });
  sweepStaleTemps(dest);
  const tmp = tempSibling(dest);
  const fd = fs.openSync(tmp, 'w');
  let closed = false;
  try {
    const result = write(fd, tmp);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    closed = true;
    fs.renameSync(tmp, dest);
    return result;
  } catch (e) {
    if (!closed) fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw writeFailure(e, dest);
  }
}

export interface TempDirOptions {
  /** What writes the folder ("combined", "merge", "random-checkpoint"): recorded in its bertfuse-files.json. */
  readonly kind?: string;
}

/**
 * Build a whole folder in a temp sibling and swap it in at the end. `dest` is replaced only when it
 * is ours (util/ownership.ts: checked before the build and again just before the swap) and only
 * after the new folder is complete; the new folder gets its bertfuse-files.json so the next run
 * can tell it is ours.
 */
export async function withTempDir<T>(dest: string, build: (tmpDir: string) => Promise<T> | T, opts: TempDirOptions = {}): Promise<T> {
  const abs = path.resolve(dest);
  sweepStaleTemps(abs);
  assertReplaceable(dest);
  const tmp = tempSibling(abs);
  try {
    fs.mkdirSync(path.dirname(abs), { recursive: true });
    fs.mkdirSync(tmp);
  } catch (e) {
    throw writeFailure(e, abs);
  }
  try {
    const result = await build(tmp);
    recordOwnership(tmp, opts.kind ?? 'output');
    assertReplaceable(dest);
    if (fs.existsSync(abs)) {
      const old = tempSibling(abs, 'old');
      fs.renameSync(abs, old);
      try {
        fs.renameSync(tmp, abs);
      } catch (e) {
        fs.renameSync(old, abs);
        throw e;
      }
      fs.rmSync(old, { recursive: true, force: true });
    } else {
      fs.renameSync(tmp, abs);
    }
    return result;
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw writeFailure(e, abs);
  }
}
