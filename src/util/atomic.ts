import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';

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

/**
 * A run killed mid-write (kill -9, power loss) leaves its temp sibling behind; the next write to the
 * same destination removes those whose process is gone. Only `.bertfuse-tmp-*` (never-finished
 * output) is swept; a `.bertfuse-old-*` (the previous output, moved aside for a swap that was cut
 * short) is left for the user to recover.
 */
export function sweepStaleTemps(dest: string): string[] {
  const dir = path.dirname(path.resolve(dest));
  const prefix = `.bertfuse-tmp-${path.basename(dest)}-`;
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const m = /^(\d+)-[0-9a-f]{8}$/.exec(name.slice(prefix.length));
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || isAlive(pid)) continue;
    fs.rmSync(path.join(dir, name), { recursive: true, force: true });
    removed.push(name);
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
    throw e;
  }
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
    throw e;
  }
}

/**
 * Build a whole folder in a temp sibling and swap it in at the end. If `dest` already exists it is
 * replaced only after the new folder is complete.
 */
export async function withTempDir<T>(dest: string, build: (tmpDir: string) => Promise<T> | T): Promise<T> {
  const abs = path.resolve(dest);
  fs.mkdirSync(path.dirname(abs), { recursive: true });
  sweepStaleTemps(abs);
  const tmp = tempSibling(abs);
  fs.mkdirSync(tmp);
  try {
    const result = await build(tmp);
    if (fs.existsSync(abs)) {
      const old = tempSibling(abs, 'old');
      fs.renameSync(abs, old);
      fs.renameSync(tmp, abs);
      fs.rmSync(old, { recursive: true, force: true });
    } else {
      fs.renameSync(tmp, abs);
    }
    return result;
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}
