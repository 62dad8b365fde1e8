import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WorkerClassifier } from '../../src/runtime/worker-classifier.js';
import { createServer } from '../../src/serve/server.js';
import { fixture } from '../helpers/fixtures.js';

// A server whose model worker died cannot answer anything: its health routes must say so (503) so
// that a load balancer or Kubernetes takes it out and restarts it, instead of "ok" beside 500s.
test('when the model worker dies, /healthz, /v2/health/live and /v2/health/ready answer 503 with the reason', async () => {
  const model = await WorkerClassifier.load(fixture('sst2-sibling-a'), { runtime: { threads: 1 } });
  const app = createServer(model, {});
  try {
    assert.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
    assert.equal(model.failure(), null);
    // Simulate a crash of the thread (a native abort in onnxruntime would look the same from here).
    await (Reflect.get(model, 'worker') as { terminate(): Promise<number> }).terminate();
    await new Promise((r) => setTimeout(r, 50));
    assert.match(model.failure() ?? '', /worker/);
    const h = await app.inject({ method: 'GET', url: '/healthz' });
    assert.equal(h.statusCode, 503);
    assert.equal((h.json() as { status: string }).status, 'failed');
    assert.equal((await app.inject({ method: 'GET', url: '/v2/health/live' })).statusCode, 503);
    assert.deepEqual((await app.inject({ method: 'GET', url: '/v2/health/ready' })).json(), { ready: false });
    const p = await app.inject({ method: 'POST', url: '/v1/predict', payload: { texts: ['fine'] } });
    assert.ok(p.statusCode >= 500, `predict after the crash: ${p.statusCode}`);
  } finally {
    await app.close();
  }
});
