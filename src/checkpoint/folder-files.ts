import fs from 'node:fs';
import path from 'node:path';
import { BertfuseError } from '../errors.js';

/*
 * A model folder may come from anywhere (a download, an archive, a shared drive), and its files may
 * be symlinks. One pointing outside the folder would make bertfuse read, hash, copy into an
 * artifact or quote in an error message a file the folder's author chose (`config.json ->
 * ~/.ssh/id_rsa`), and one pointing at a FIFO or /dev/zero would hang a reader. So every file a
 * loader opens from a folder must resolve, symlinks followed, to a regular file under the folder's
 * own real path. The one legitimate exception: a Hugging Face cache snapshot
 * (`<cache>/models--org--name/snapshots/<hash>/`) is made of symlinks into `../../blobs/`, so its
 * files may resolve anywhere inside that repo folder (not elsewhere in the cache).
 */

function realOrResolved(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return path.resolve(p);
  }
}

/** The real folder a model folder's files must stay in: itself, or its hub cache repo folder. */
export function allowedRoot(folder: string): string {
  for (const candidate of [path.resolve(folder), realOrResolved(folder)]) {
    const snapshots = path.dirname(candidate);
    const repo = path.dirname(snapshots);
    if (path.basename(snapshots) === 'snapshots' && path.basename(repo).startsWith('models--')) return realOrResolved(repo);
  }
  return realOrResolved(folder);
}

function isUnder(p: string, root: string): boolean {
  return p === root || p.startsWith(root.endsWith(path.sep) ? root : root + path.sep);
}

/**
 * Refuses `file` (a path inside `folder`) when, symlinks followed, it leaves the folder (or its
 * hub cache repo) or is not a regular file or directory. A missing file passes: its reader says so.
 */
export function assertInsideFolder(file: string, folder: string): void {
  let real: string;
  try {
    real = fs.realpathSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' && fs.lstatSync(file, { throwIfNoEntry: false })?.isSymbolicLink()) {
      throw new BertfuseError('E_UNSAFE_PATH', 'is a symlink to a file that does not exist', file);
    }
    return;
  }
  const root = allowedRoot(folder);
  if (!isUnder(real, root)) {
    throw new BertfuseError('E_UNSAFE_PATH', `resolves to ${real}, outside the model folder ${root}; refusing to follow a symlink out of the folder (copy the file in instead)`, file);
  }
  const st = fs.statSync(real);
  if (!st.isFile() && !st.isDirectory()) throw new BertfuseError('E_UNSAFE_PATH', 'is not a regular file (a device, FIFO or socket); refusing to read it', file);
}

/** `assertInsideFolder` for each path that exists (or is a dangling symlink). */
export function assertFilesInside(files: readonly string[], folder: string): void {
  for (const f of files) assertInsideFolder(f, folder);
}
