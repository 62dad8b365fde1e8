import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import type { PredictResponse } from '../../src/serve/server.js';
import { isOneLineError, runCli } from '../helpers/cli.js';
import { ROOT, fixture, reference } from '../helpers/fixtures.js';

test('bertfuse serve: SIGTERM lets the in-flight request finish, then exits 0', async () => {
  // A long max wait keeps the request queued in the micro-batcher until the drain flushes it.
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli/run.ts'), 'serve', fixture('sst2-sibling-a'), '--port', '0', '--max-wait-ms', '5000'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const killTimer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  try {
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString();
        const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout);
        if (m) resolve(m[1]!);
      });
      void exited.then(() => reject(new Error(`server exited before listening: ${stderr}`)));
    });
    const ref = reference('sst2-sibling-a').inputs.slice(0, 3);
    const inFlight = fetch(`${url}/v1/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ texts: ref.map((x) => x.text) }) });
    // Wait until the server holds the request (3 inputs queued), then ask it to stop.
    for (let i = 0; ; i++) {
      const m = await (await fetch(`${url}/metrics`)).text();
      if (/^bertfuse_queue_inputs 3$/m.test(m)) break;
      assert.ok(i < 100, 'request never reached the queue');
      await new Promise((r) => setTimeout(r, 20));
    }
    const t0 = Date.now();
    child.kill('SIGTERM');
    const res = await inFlight;
    assert.equal(res.status, 200);
    assert.ok(Date.now() - t0 < 4000, 'the drain flushed the queue instead of waiting out max-wait');
    const body = (await res.json()) as PredictResponse;
    body.predictions.forEach((p, i) => {
      assert.equal(p.label, ref[i]!.predicted_label);
      assert.ok(Math.abs(p.probs['positive']! - ref[i]!.probs![1]!) < 1e-4);
    });
    const { code, signal } = await exited;
    assert.equal(signal, null, stderr);
    assert.equal(code, 0, stderr);
    assert.match(stdout, /SIGTERM: draining in-flight requests\nstopped\n/);
    await assert.rejects(fetch(`${url}/healthz`), 'nothing listens any more');
  } finally {
    clearTimeout(killTimer);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
});

test('bertfuse serve: a bad port or a missing model is one line on stderr', async () => {
  const port = await runCli(['serve', fixture('sst2-sibling-a'), '--port', '70000']);
  assert.ok(isOneLineError(port), port.stderr);
  assert.match(port.stderr, /--port must be an integer from 0 to 65535/);
  const missing = await runCli(['serve', path.join(ROOT, 'no-such-model')]);
  assert.ok(isOneLineError(missing), missing.stderr);
});
