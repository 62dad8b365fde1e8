/**
 * Hostile inputs must fail fast, in one line, and leave the user's files alone. `BoundedCli` runs
 * CLI commands in a worker thread with a deadline, so a regression to a hang (or to unbounded work)
 * fails that case, naming it, instead of freezing the suite; the worker is replaced after a timeout.
 */
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { hashTree } from '../helpers/corrupt.js';
import type { BoundedReply, BoundedRequest } from './bounded-worker.js';

/** Generous: the work a hostile file may cause is proportional to its size, and these files are small. */
export const HANG_MS = 60_000;

export interface BoundedResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

export class BoundedCli {
  private worker: Worker | null = null;
  private next = 0;

  private start(): Worker {
    // Worker threads do not inherit tsx's loader hooks: register them in the worker, then load it.
    const entry = new URL('./bounded-worker.ts', import.meta.url).href;
    const boot = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(entry)}); })`;
    const w = new Worker(boot, { eval: true, resourceLimits: { maxOldGenerationSizeMb: 2048 } });
    w.unref();
    return w;
  }

  run(argv: readonly string[], timeoutMs = HANG_MS): Promise<BoundedResult> {
    const worker = (this.worker ??= this.start());
    const id = ++this.next;
    const t0 = performance.now();
    return new Promise((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
      };
      const timer = setTimeout(() => {
        done();
        this.worker = null;
        void worker.terminate();
        reject(new Error(`bertfuse ${argv.join(' ')}: still running after ${timeoutMs} ms (hang or unbounded work)`));
      }, timeoutMs);
      const onMessage = (m: BoundedReply): void => {
        if (m.id !== id) return;
        done();
        resolve({ code: m.code, stdout: m.stdout, stderr: m.stderr, ms: performance.now() - t0 });
      };
      const onError = (e: Error): void => {
        done();
        this.worker = null;
        reject(new Error(`bertfuse ${argv.join(' ')}: the worker died (${e.message}; out of memory?)`));
      };
      const onExit = (code: number): void => {
        done();
        this.worker = null;
        reject(new Error(`bertfuse ${argv.join(' ')}: the worker exited with ${code}`));
      };
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
      worker.postMessage({ id, argv } satisfies BoundedRequest);
    });
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.worker = null;
    if (w) await w.terminate();
  }
}

export interface Expected {
  /** Text the one error line must contain (the file at fault). */
  readonly names: string;
  /** What it must say about the problem. */
  readonly pattern: RegExp;
}

/** Exit ≠ 0, exactly one `bertfuse: ` line on stderr, no stack trace, naming the file and the problem. */
export function assertOneLineRefusal(r: BoundedResult, e: Expected, context = ''): void {
  const where = context ? `${context}: ` : '';
  const lines = r.stderr.trimEnd().split('\n');
  assert.notEqual(r.code, 0, `${where}expected a refusal, got exit 0 (stdout ${r.stdout.slice(0, 300)})`);
  assert.notEqual(r.code, 99, `${where}an exception escaped (a bug, the CLI would print a stack):\n${r.stderr}`);
  assert.equal(lines.length, 1, `${where}one line expected:\n${r.stderr}`);
  assert.ok(lines[0]!.startsWith('bertfuse: '), `${where}${lines[0]}`);
  assert.ok(!/\n\s+at /.test(r.stderr), `${where}no stack trace`);
  assert.ok(lines[0]!.includes(e.names), `${where}the line should name ${e.names}: ${lines[0]}`);
  assert.match(lines[0]!, e.pattern, `${where}the line should say what is wrong`);
}

/** Runs `fn` and checks that the folder's files (names and bytes) are exactly as before. */
export async function unchanged<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  const before = await hashTree(dir);
  const result = await fn();
  assert.deepEqual(await hashTree(dir), before, `${dir} must be left exactly as it was`);
  return result;
}
