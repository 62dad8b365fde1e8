/**
 * Runs CLI commands in-process for `bounded.ts`, in a worker thread the test can terminate: a
 * hostile input that hangs (or allocates without bound) fails its case instead of the suite.
 * Output is captured per command; an exception that escapes `main` (a bug: the real CLI would print
 * its stack) is reported as exit 99 with the stack on stderr.
 */
import { parentPort } from 'node:worker_threads';
import { main } from '../../src/cli/main.js';

export interface BoundedRequest {
  readonly id: number;
  readonly argv: readonly string[];
}
export interface BoundedReply {
  readonly id: number;
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

let out = '';
let err = '';
const capture = (sink: (s: string) => void) =>
  ((chunk: string | Uint8Array, ...rest: unknown[]): boolean => {
    sink(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    const cb = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
    cb?.();
    return true;
  }) as typeof process.stdout.write;
process.stdout.write = capture((s) => (out += s));
process.stderr.write = capture((s) => (err += s));

parentPort!.on('message', async (req: BoundedRequest) => {
  out = '';
  err = '';
  let code: number;
  try {
    code = await main(['node', 'bertfuse', ...req.argv]);
  } catch (e) {
    code = 99;
    err += e instanceof Error ? `${e.stack ?? e.message}\n` : `${String(e)}\n`;
  }
  parentPort!.postMessage({ id: req.id, code, stdout: out, stderr: err } satisfies BoundedReply);
});
