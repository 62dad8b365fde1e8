import assert from 'node:assert/strict';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { registerCombinedLoader } from '../../src/artifact/read.js';
import { writeCombined } from '../../src/artifact/write.js';
import { loadMembers } from '../../src/members/load.js';
import { loadClassifier, type Classifier } from '../../src/runtime/classifier.js';
import { createServer, type PredictResponse, type ServeOptions } from '../../src/serve/server.js';
import { fixture, reference, tempDir } from '../helpers/fixtures.js';
import { testWeightedMean } from '../members/shared.js';

interface Started {
  readonly app: FastifyInstance;
  readonly url: string;
}

async function start(model: Classifier, opts: ServeOptions = {}): Promise<Started> {
  const app = createServer(model, opts);
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, url };
}

async function post(url: string, body: unknown, query = ''): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${url}/v1/predict${query}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

/** Parses Prometheus text into `name{labels}` → value, checking every sample line's syntax on the way. */
function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('# HELP ') || line.startsWith('# TYPE ')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? (\S+)$/.exec(line);
    assert.ok(m, `not a Prometheus sample line: ${line}`);
    out.set(m[1]! + (m[2] ?? ''), m[3] === '+Inf' ? Infinity : Number(m[3]));
  }
  return out;
}

async function metrics(url: string): Promise<Map<string, number>> {
  const res = await fetch(`${url}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return parseMetrics(await res.text());
}

describe('serve: one classifier', () => {
  let a: Classifier;
  let b: Classifier;
  before(async () => {
    a = await loadClassifier(fixture('sst2-sibling-a'));
    b = await loadClassifier(fixture('sst2-stranger-b'));
  });
  after(async () => {
    await a.close();
    await b.close();
  });

  test('texts and pairs get the label and every label probability by name, as in reference.json', async () => {
    const notes: string[] = [];
    const s = await start(b, { onNote: (line) => notes.push(line) }); // stranger-b: index 0 is "positive", so names must do the mapping
    try {
      const ref = reference('sst2-stranger-b');
      const singles = ref.inputs.filter((x) => x.text_pair === null);
      const r = await post(s.url, { texts: singles.map((x) => x.text) });
      assert.equal(r.status, 200);
      const body = r.json as unknown as PredictResponse;
      assert.deepEqual(body.labels, ['positive', 'negative']);
      assert.equal(body.predictions.length, singles.length);
      body.predictions.forEach((p, i) => {
        const x = singles[i]!;
        assert.equal(p.label, x.predicted_label, x.id);
        assert.ok(Math.abs(p.probs['positive']! - x.probs![0]!) < 1e-4, x.id);
        assert.ok(Math.abs(p.probs['negative']! - x.probs![1]!) < 1e-4, x.id);
        assert.equal(p.score, Math.max(p.probs['positive']!, p.probs['negative']!));
      });
      const pair = ref.inputs.find((x) => x.text_pair !== null)!;
      // The pair's one spelling is text_pair (as in Hugging Face's inputs); the old "pairs" still works, noted once.
      const rp = await post(s.url, { texts: [pair.text, 'a plain text'], text_pair: [pair.text_pair, ''] });
      assert.equal(rp.status, 200);
      const pp = (rp.json as unknown as PredictResponse).predictions[0]!;
      assert.ok(Math.abs(pp.probs['positive']! - pair.probs![0]!) < 1e-4);
      assert.deepEqual(notes, []);
      for (let i = 0; i < 2; i++) {
        const old = await post(s.url, { pairs: [[pair.text, pair.text_pair]] });
        assert.equal(old.status, 200);
        assert.deepEqual((old.json as unknown as PredictResponse).predictions[0], pp);
      }
      assert.deepEqual(notes, ['a client sent "pairs": [[a, b], ...], which is deprecated: send "texts": [a, ...], "text_pair": [b, ...]']);
      assert.deepEqual((await post(s.url, { texts: [] })).json['predictions'], []);
      const health = await fetch(`${s.url}/healthz`);
      assert.equal(health.status, 200);
      assert.deepEqual(await health.json(), { status: 'ok', model: 'sst2-stranger-b', labels: ['positive', 'negative'], quantize: null });
    } finally {
      await s.app.close();
    }
  });

  test('concurrent requests are micro-batched (max batch respected) and each gets its own rows back', async () => {
    const s = await start(a, { maxBatch: 8, maxWaitMs: 300 });
    try {
      const ref = reference('sst2-sibling-a').inputs.slice(0, 12);
      const direct = await a.predictProba(ref.map((x) => ({ text: x.text })));
      const replies = await Promise.all(ref.map((x) => post(s.url, { texts: [x.text] })));
      replies.forEach((r, i) => {
        assert.equal(r.status, 200);
        const p = (r.json as unknown as PredictResponse).predictions[0]!;
        assert.ok(Math.abs(p.probs['positive']! - direct[i * 2 + 1]!) < 1e-5, ref[i]!.id);
      });
      let m = await metrics(s.url);
      const batches = m.get('bertfuse_batch_size_count')!;
      assert.equal(m.get('bertfuse_batch_size_sum'), 12);
      assert.ok(batches >= 2 && batches <= 4, `12 one-text requests ran in ${batches} batches`);
      assert.equal(m.get('bertfuse_batch_size_bucket{le="8"}'), batches, 'no batch above maxBatch');
      assert.equal(m.get('bertfuse_inputs_total'), 12);
      // One request larger than maxBatch runs alone, in pieces of at most maxBatch.
      const big = await post(s.url, { texts: reference('sst2-sibling-a').inputs.slice(0, 20).map((x) => x.text) });
      assert.equal(big.status, 200);
      m = await metrics(s.url);
      assert.equal(m.get('bertfuse_batch_size_count'), batches + 3);
      assert.equal(m.get('bertfuse_batch_size_sum'), 32);
      assert.equal(m.get('bertfuse_batch_size_bucket{le="8"}'), batches + 3);
      assert.equal(m.get('bertfuse_http_requests_total{method="POST",route="/v1/predict",status="200"}'), 13);
      assert.equal(m.get('bertfuse_http_request_duration_seconds_count{route="/v1/predict"}'), 13);
      assert.equal(m.get('bertfuse_inference_duration_seconds_count'), m.get('bertfuse_inference_duration_seconds_bucket{le="+Inf"}'));
    } finally {
      await s.app.close();
    }
  });

  test('limits answer 413/422 naming the limit; malformed JSON 400; every error is counted', async () => {
    const s = await start(a, { maxTexts: 3, maxChars: 50, bodyLimit: 2000 });
    try {
      const tooMany = await post(s.url, { texts: ['a', 'b', 'c', 'd'] });
      assert.equal(tooMany.status, 413);
      assert.deepEqual(tooMany.json['error'], { code: 'limit_exceeded', message: '4 texts in one request; the limit is 3 (maxTexts)', limit: 'maxTexts', max: 3, got: 4 });
      const tooLong = await post(s.url, { texts: ['short'], text_pair: ['x'.repeat(51)] });
      assert.equal(tooLong.status, 422);
      assert.deepEqual(tooLong.json['error'], { code: 'limit_exceeded', message: 'text_pair[0] has 51 characters; the limit is 50 (maxChars)', limit: 'maxChars', max: 50, got: 51 });
      const huge = await post(s.url, { texts: ['y'.repeat(2500)] });
      assert.equal(huge.status, 413);
      const he = huge.json['error'] as Record<string, unknown>;
      assert.equal(he['limit'], 'bodyLimit');
      assert.equal(he['max'], 2000);
      const malformed = await post(s.url, '{"texts": ["unterminated');
      assert.equal(malformed.status, 400);
      assert.equal((malformed.json['error'] as Record<string, unknown>)['code'], 'bad_json');
      for (const body of [{ texts: 'one' }, { texts: [1] }, { texts: ['a'], pairs: [['a', 'b']] }, { pairs: [['only one']] }, { texts: ['a', 'b'], text_pair: ['c'] }, { text_pair: ['c'] }, { texts: ['a'], text_pair: [1] }, { text: ['a'] }, [1, 2]]) {
        const r = await post(s.url, body);
        assert.equal(r.status, 400, JSON.stringify(body));
        assert.equal((r.json['error'] as Record<string, unknown>)['code'], 'bad_request');
      }
      const noMembers = await post(s.url, { texts: ['fine'] }, '?members=true');
      assert.equal(noMembers.status, 400);
      assert.match(String((noMembers.json['error'] as Record<string, unknown>)['message']), /model has no members/);
      const text = await fetch(`${s.url}/v1/predict`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hello' });
      assert.equal(text.status, 415);
      const missing = await fetch(`${s.url}/v2/nothing`);
      assert.equal(missing.status, 404);
      const m = await metrics(s.url);
      assert.equal(m.get('bertfuse_errors_total{code="limit_exceeded"}'), 3);
      assert.equal(m.get('bertfuse_errors_total{code="bad_json"}'), 1);
      assert.equal(m.get('bertfuse_errors_total{code="bad_request"}'), 9);
      assert.equal(m.get('bertfuse_errors_total{code="no_members"}'), 1);
      assert.equal(m.get('bertfuse_errors_total{code="unsupported_media_type"}'), 1);
      assert.equal(m.get('bertfuse_errors_total{code="not_found"}'), 1);
      assert.equal(m.get('bertfuse_http_requests_total{method="POST",route="/v1/predict",status="413"}'), 2);
      assert.equal(m.get('bertfuse_http_requests_total{method="POST",route="/v1/predict",status="422"}'), 1);
      assert.equal(m.get('bertfuse_inputs_total') ?? 0, 0, 'nothing reached the model');
      // Histogram buckets are cumulative and end at the count.
      const le = ['0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '5', '10', '+Inf'].map((b) => m.get(`bertfuse_http_request_duration_seconds_bucket{route="/v1/predict",le="${b}"}`)!);
      le.forEach((v, i) => assert.ok(i === 0 || v >= le[i - 1]!));
      assert.equal(le.at(-1), m.get('bertfuse_http_request_duration_seconds_count{route="/v1/predict"}'));
    } finally {
      await s.app.close();
    }
  });
});

test('a model that fails at run time answers 500 inference_failed, and the server keeps serving', async () => {
  const broken = await loadClassifier(fixture('sst2-sibling-a'));
  await broken.close(); // its onnxruntime session is gone: every run throws
  const s = await start(broken);
  try {
    for (let i = 0; i < 2; i++) {
      const r = await post(s.url, { texts: ['anything'] });
      assert.equal(r.status, 500);
      assert.equal((r.json['error'] as Record<string, unknown>)['code'], 'inference_failed');
    }
    assert.equal((await fetch(`${s.url}/healthz`)).status, 200);
    const m = await metrics(s.url);
    assert.equal(m.get('bertfuse_errors_total{code="inference_failed"}'), 2);
    assert.equal(m.get('bertfuse_http_requests_total{method="POST",route="/v1/predict",status="500"}'), 2);
  } finally {
    await s.app.close();
  }
});

test('a client that stalls mid-body gets a 408 and is disconnected after the request timeout', async () => {
  const model = await loadClassifier(fixture('sst2-sibling-a'));
  const s = await start(model, { requestTimeoutMs: 500 });
  try {
    const { port } = new URL(s.url);
    const t0 = Date.now();
    const reply = await new Promise<{ ms: number; data: string }>((resolve) => {
      const sock = net.connect(Number(port), '127.0.0.1', () => sock.write('POST /v1/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"texts"'));
      let data = '';
      sock.on('data', (d: Buffer) => (data += d.toString()));
      sock.on('error', () => undefined);
      sock.on('close', () => resolve({ ms: Date.now() - t0, data }));
      setTimeout(() => sock.destroy(), 10_000);
    });
    assert.match(reply.data, /^HTTP\/1\.1 408/);
    assert.ok(reply.ms >= 400 && reply.ms < 5000, `closed after ${reply.ms} ms`);
    assert.equal((await post(s.url, { texts: ['still serving'] })).status, 200);
  } finally {
    await s.app.close();
    await model.close();
  }
});

describe('serve: a combined model with ?members=true', () => {
  const out = path.join(tempDir(), 'combined');
  let combined: Classifier;
  let a: Classifier;
  let b: Classifier;
  const weights = [0.25, 0.75];
  before(async () => {
    registerCombinedLoader();
    const set = loadMembers([fixture('sst2-sibling-a'), fixture('sst2-stranger-b')]);
    try {
      await writeCombined(out, { set, method: testWeightedMean, options: {}, params: { weights }, metrics: null });
    } finally {
      set.close();
    }
    combined = await loadClassifier(out);
    a = await loadClassifier(fixture('sst2-sibling-a'));
    b = await loadClassifier(fixture('sst2-stranger-b'));
  });
  after(async () => {
    await combined.close();
    await a.close();
    await b.close();
  });

  test("members' probabilities by name, and the fused ones as their weighted mean", async () => {
    const s = await start(combined, { maxWaitMs: 1 });
    try {
      const texts = reference('sst2-sibling-a').inputs.slice(0, 6).map((x) => x.text);
      const pa = await a.predictProba(texts.map((text) => ({ text }))); // [negative, positive]
      const pb = await b.predictProba(texts.map((text) => ({ text }))); // [positive, negative]
      const r = await post(s.url, { texts }, '?members=true');
      assert.equal(r.status, 200);
      const body = r.json as unknown as PredictResponse;
      body.predictions.forEach((p, i) => {
        const ma = p.members!['sst2-sibling-a']!;
        const mb = p.members!['sst2-stranger-b']!;
        assert.ok(Math.abs(ma.probs['positive']! - pa[i * 2 + 1]!) < 1e-5);
        assert.ok(Math.abs(mb.probs['positive']! - pb[i * 2]!) < 1e-5);
        assert.ok(Math.abs(mb.probs['negative']! - pb[i * 2 + 1]!) < 1e-5);
        const fusedPos = weights[0]! * pa[i * 2 + 1]! + weights[1]! * pb[i * 2]!;
        assert.ok(Math.abs(p.probs['positive']! - fusedPos) < 1e-5, `fused ${p.probs['positive']} vs ${fusedPos}`);
        assert.equal(p.label, fusedPos > 0.5 ? 'positive' : 'negative');
      });
      const plain = await post(s.url, { texts });
      assert.ok((plain.json as unknown as PredictResponse).predictions.every((p) => p.members === undefined));
      assert.ok(Math.abs((plain.json as unknown as PredictResponse).predictions[0]!.probs['positive']! - body.predictions[0]!.probs['positive']!) < 1e-6);
    } finally {
      await s.app.close();
    }
  });
});
