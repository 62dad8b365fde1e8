import fs from 'node:fs';
import { BertfuseError } from '../errors.js';

/** Data and text inputs (predict --input, --data, --texts, eval JSON): far above any real file, far below a crash. */
export const MAX_INPUT_BYTES = 256 * 1024 * 1024;
/** Recipes are a screen of YAML. */
export const MAX_RECIPE_BYTES = 16 * 1024 * 1024;

const mib = (n: number): string => `${Math.round(n / (1024 * 1024))} MiB`;

/**
 * Reads a whole file, but never more than `limit` bytes: `/dev/zero`, `/dev/urandom`, a FIFO or a
 * huge file fail in one line instead of filling memory. `missing` is the message when it cannot
 * be opened at all (the callers' wording).
 */
export function readFileBounded(file: string, limit: number, missing: string): Buffer {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    throw new BertfuseError('E_MISSING_FILE', `${missing} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, file);
  }
  try {
    const st = fs.fstatSync(fd);
    if (st.isDirectory()) throw new BertfuseError('E_MISSING_FILE', `${missing} (it is a folder)`, file);
    if (st.isFile() && st.size > limit) throw new BertfuseError('E_TOO_LARGE', `is ${mib(st.size)}; bertfuse reads at most ${mib(limit)} from one input file (split it)`, file);
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const buf = Buffer.allocUnsafe(Math.min(1 << 20, limit + 1 - total));
      let n: number;
      try {
        n = fs.readSync(fd, buf, 0, buf.length, null);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EAGAIN') continue; // a non-blocking pipe with nothing yet
        throw new BertfuseError('E_MISSING_FILE', `${missing} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, file);
      }
      if (n === 0) break;
      chunks.push(buf.subarray(0, n));
      total += n;
      if (total > limit) throw new BertfuseError('E_TOO_LARGE', `holds more than ${mib(limit)} (or never ends, like /dev/zero); bertfuse reads at most ${mib(limit)} from one input file`, file);
    }
    return Buffer.concat(chunks, total);
  } finally {
    fs.closeSync(fd);
  }
}
