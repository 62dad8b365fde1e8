import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { PredictResponse } from '../../src/serve/server.js';
import { DATA, ROOT } from '../helpers/fixtures.js';

/* `bertfuse serve` as a user starts it (the CLI from source, a child process on 127.0.0.1, port 0), and its clients. */

export interface CliServer {
  readonly url: string;
  /** The "listening on …" line. */
  readonly listening: string;
  /** SIGTERM, then the exit code once it has stopped. */
  stop(): Promise<number | null>;
}

export function serveCli(args: readonly string[]): Promise<CliServer> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli/run.ts'), 'serve', ...args, '--host', '127.0.0.1', '--port', '0'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  // A server that never stops must not hold the test run open.
  const killTimer = setTimeout(() => child.kill('SIGKILL'), 120_000);
  void exited.then(() => clearTimeout(killTimer));
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      const m = /^listening on (http:\/\/127\.0\.0\.1:\d+) .*$/m.exec(stdout);
      if (m) resolve({ url: m[1]!, listening: m[0], stop: () => (child.kill('SIGTERM'), exited) });
    });
    void exited.then((code) => reject(new Error(`bertfuse serve ${args.join(' ')} exited (${code}) before listening: ${stderr}`)));
  });
}

/** POST /v1/predict, `texts` sent in requests of at most `perRequest` (default: the default --max-texts, 64), answers in order. */
export async function predictOver(url: string, texts: readonly string[], perRequest = 64): Promise<PredictResponse> {
  let first: PredictResponse | null = null;
  const predictions: PredictResponse['predictions'][number][] = [];
  for (let at = 0; at < texts.length; at += perRequest) {
    const res = await fetch(`${url}/v1/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ texts: texts.slice(at, at + perRequest) }) });
    assert.equal(res.status, 200, await res.clone().text());
    const body = (await res.json()) as PredictResponse;
    first ??= body;
    predictions.push(...body.predictions);
  }
  assert.ok(first);
  return { model: first.model, labels: first.labels, predictions };
}

export async function getJson(url: string): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(url);
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

/** The `bertfuse_model_info` sample line of /metrics. */
export async function modelInfo(url: string): Promise<string> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('bertfuse_model_info{'));
  assert.ok(line, text);
  return line;
}

/** The 872 SST-2 dev sentences (data/sst2_dev.tsv: label, text). */
export function sst2DevTexts(): string[] {
  return fs.readFileSync(path.join(DATA, 'sst2_dev.tsv'), 'utf8').split('\n').slice(1).filter((l) => l !== '').map((l) => l.split('\t')[1]!);
}

/** log(p1 / p0) of a two-label answer: the logit margin, which int8 error bounds are stated on. */
export function margin(probs: Readonly<Record<string, number>>, labels: readonly string[]): number {
  return Math.log(probs[labels[1]!]! / probs[labels[0]!]!);
}
