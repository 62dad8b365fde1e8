import { spawn } from 'node:child_process';
import path from 'node:path';
import { ROOT } from './fixtures.js';

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Set by scripts/run-tests.mjs after it has compiled src/ into dist/ in the same run: the CLI is then
 * run as users run it (`bin/bertfuse.js`, compiled code), which starts in half the time of tsx —
 * the suite spawns the CLI ~200 times — and the declaration test reads dist/'s .d.ts files. A test
 * file run on its own (no runner) runs src/ through tsx, so an edited source is never tested
 * through a stale dist/.
 */
export const DIST_IS_FRESH = process.env['BERTFUSE_TEST_DIST_FRESH'] === '1';

/** Node arguments that start the CLI: the freshly built `bin/bertfuse.js`, or `--import tsx src/cli/run.ts`. */
export function cliEntry(): string[] {
  return DIST_IS_FRESH ? [path.join(ROOT, 'bin/bertfuse.js')] : ['--import', 'tsx', path.join(ROOT, 'src/cli/run.ts')];
}

/** The command that runs the CLI (see cliEntry): `node <entry> <args>`. */
export function cliCommand(args: readonly string[]): { readonly command: string; readonly args: string[] } {
  return { command: process.execPath, args: [...cliEntry(), ...args] };
}

/** Runs the CLI (cliEntry) as a child process (stdout/stderr are pipes, so no progress bars). */
export function runCli(args: readonly string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; input?: string } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const cli = cliCommand(args);
    const child = spawn(cli.command, cli.args, {
      cwd: opts.cwd ?? ROOT,
      env: { ...process.env, ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(opts.input ?? '');
  });
}

/** A user error: exit code non-zero, exactly one line on stderr, no stack trace. */
export function isOneLineError(r: CliResult): boolean {
  const lines = r.stderr.trim().split('\n');
  return r.code !== 0 && lines.length === 1 && lines[0]!.startsWith('bertfuse: ') && !/\n\s+at /.test(r.stderr);
}
