import { spawn, type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import { cliCommand } from './cli.js';
import { ROOT } from './fixtures.js';

/*
 * `bertfuse serve` as a user starts it: a child process that prints
 * "listening on http://127.0.0.1:<port> (…)" on stdout once it serves. Tests get its address, its
 * output so far and the child itself, and stop it to see how it ended.
 */

export interface ServeExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** How a server stopped by SIGTERM must end: drained, exit code 0. */
export const CLEAN_EXIT: ServeExit = { code: 0, signal: null };

export interface ServeProcess {
  readonly child: ChildProcess;
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  /** The "listening on …" line. */
  readonly listening: string;
  /** What the server has printed so far. */
  readonly stdout: string;
  readonly stderr: string;
  /**
   * Sends `signal` (default SIGTERM) at once and resolves with how the process ended, once its
   * output is read to the end. A process still running `timeoutMs` later is SIGKILLed, so a server
   * that does not stop shows as `signal: 'SIGKILL'` instead of hanging the test.
   */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<ServeExit>;
}

export interface ServeOptions {
  /** Set over process.env. */
  readonly env?: NodeJS.ProcessEnv;
  /** Default: the project root. */
  readonly cwd?: string;
  /** How long to wait for the listening line (default 180 s: models load slowly on a shared machine). */
  readonly listenTimeoutMs?: number;
}

/**
 * Servers still running when a test file's process exits (a test failed before stopping its server)
 * are SIGKILLed. While it listens, a server does not keep that process alive by itself (see holdOpen).
 */
const LIVE = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of LIVE) child.kill('SIGKILL');
});

/** Whether the child and its pipes keep this process's event loop alive: while starting and stopping, yes. */
function holdOpen(child: ChildProcess, hold: boolean): void {
  for (const h of [child, child.stdout as Socket, child.stderr as Socket]) {
    if (hold) h.ref();
    else h.unref();
  }
}

/** `bertfuse serve <args> --host 127.0.0.1 --port 0`, the CLI as test/helpers/cli.ts runs it (fresh dist/ or source). */
export function serveCli(args: readonly string[], opts: ServeOptions = {}): Promise<ServeProcess> {
  const cli = cliCommand(['serve', ...args, '--host', '127.0.0.1', '--port', '0']);
  return startServe(cli.command, cli.args, opts);
}

/**
 * Starts `command args` (one that ends up running `bertfuse serve`, e.g. a README line through
 * bash) and resolves once it prints that it listens on 127.0.0.1. Rejects with its output if it
 * exits first or is silent for `listenTimeoutMs`.
 */
export function startServe(command: string, args: readonly string[], opts: ServeOptions = {}): Promise<ServeProcess> {
  const child = spawn(command, args, { cwd: opts.cwd ?? ROOT, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  LIVE.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  // 'close', not 'exit': the output is complete by then.
  const exited = new Promise<ServeExit>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  void exited.then(() => LIVE.delete(child));
  const shown = (): string => `${command} ${args.join(' ')}\n--- stderr ---\n${stderr}--- stdout ---\n${stdout}`;
  const listenMs = opts.listenTimeoutMs ?? 180_000;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no "listening on http://127.0.0.1:<port>" line within ${listenMs / 1000} s: ${shown()}`));
    }, listenMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`exited (code ${code}, signal ${signal}) before listening: ${shown()}`));
    });
    const onData = (): void => {
      const m = /^listening on (http:\/\/127\.0\.0\.1:(\d+)) .*$/m.exec(stdout);
      if (!m) return;
      child.stdout.off('data', onData);
      clearTimeout(timer);
      holdOpen(child, false);
      resolve({
        child,
        url: m[1]!,
        port: Number(m[2]),
        listening: m[0],
        get stdout() {
          return stdout;
        },
        get stderr() {
          return stderr;
        },
        stop(sig: NodeJS.Signals = 'SIGTERM', timeoutMs = 60_000) {
          holdOpen(child, true);
          child.kill(sig);
          const killer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
          return exited.finally(() => clearTimeout(killer));
        },
      });
    };
    child.stdout.on('data', onData);
  });
}
