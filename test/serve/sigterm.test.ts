import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import type { PredictResponse } from '../../src/serve/server.js';
import { isOneLineError, runCli } from '../helpers/cli.js';
import { ROOT, fixture, reference } from '../helpers/fixtures.js';
import { serveCli } from '../helpers/serve.js';

test('bertfuse serve: SIGTERM lets the in-flight request finish, then exits 0', async () => {
  // A long max wait keeps the request queued in the micro-batcher until the drain flushes it.
  const server = await serveCli([fixture('sst2-sibling-a'), '--max-wait-ms', '5000']);
  const { url } = server;
  try {
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
    const exited = server.stop('SIGTERM');
    const res = await inFlight;
    assert.equal(res.status, 200);
    assert.ok(Date.now() - t0 < 4000, 'the drain flushed the queue instead of waiting out max-wait');
    const body = (await res.json()) as PredictResponse;
    body.predictions.forEach((p, i) => {
      assert.equal(p.label, ref[i]!.predicted_label);
      assert.ok(Math.abs(p.probs['positive']! - ref[i]!.probs![1]!) < 1e-4);
    });
    const { code, signal } = await exited;
    assert.equal(signal, null, server.stderr);
    assert.equal(code, 0, server.stderr);
    assert.match(server.stdout, /SIGTERM: draining in-flight requests\nstopped\n/);
    await assert.rejects(fetch(`${url}/healthz`), 'nothing listens any more');
  } finally {
    await server.stop('SIGKILL');
  }
});

test('bertfuse serve: a bad port or a missing model is one line on stderr', async () => {
  const port = await runCli(['serve', fixture('sst2-sibling-a'), '--port', '70000']);
  assert.ok(isOneLineError(port), port.stderr);
  assert.match(port.stderr, /--port must be an integer from 0 to 65535/);
  const missing = await runCli(['serve', path.join(ROOT, 'no-such-model')]);
  assert.ok(isOneLineError(missing), missing.stderr);
});
