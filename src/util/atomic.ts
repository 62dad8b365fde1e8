import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';

/**
 * Writers never leave a half-written output: they write beside the destination (same filesystem, so
 * rename is atomic) and rename at the end. A crash leaves at most a `.bertfuse-tmp-*` sibling.
 */
function tempSibling(dest: string): string {
  const dir = path.dirname(path.resolve(dest));
  return path.join(dir, `.bertfuse-tmp-${path.basename(dest)}-${process.pid}-${crypto.randomBytes(4).toString('hex')}`);
}

export function writeFileAtomic(dest: string, data: string | Uint8Array): void {
  fs.mkdirSync(path.dirname(path.resolve(dest)), { recursive: true });
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
  const tmp = tempSibling(abs);
  fs.mkdirSync(tmp);
  try {
    const result = await build(tmp);
    if (fs.existsSync(abs)) {
      const old = tempSibling(abs);
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
