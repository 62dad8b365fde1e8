/** Runs the CLI's `main` in this process (much faster than spawning tsx), capturing what it prints. */
import { main } from '../../src/cli/main.js';
import type { CliResult } from '../helpers/cli.js';

type Write = typeof process.stdout.write;

export async function cliInProcess(args: readonly string[], opts: { cwd?: string } = {}): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const out = process.stdout.write.bind(process.stdout);
  const err = process.stderr.write.bind(process.stderr);
  // The CLI writes strings; the test runner's own reports (binary, to stdout) pass through untouched.
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: never[]) => (typeof chunk === 'string' ? ((stdout += chunk), true) : out(chunk, ...rest))) as Write;
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: never[]) => (typeof chunk === 'string' ? ((stderr += chunk), true) : err(chunk, ...rest))) as Write;
  const cwd = process.cwd();
  if (opts.cwd) process.chdir(opts.cwd);
  try {
    let code: number;
    try {
      code = await main(['node', 'bertfuse', ...args]);
    } catch (e) {
      // What the real CLI would do with a bug: print the stack (the tests assert there is none).
      stderr += `${(e as Error).stack ?? String(e)}\n`;
      code = 70;
    }
    return { code, stdout, stderr };
  } finally {
    process.chdir(cwd);
    process.stdout.write = out;
    process.stderr.write = err;
  }
}
