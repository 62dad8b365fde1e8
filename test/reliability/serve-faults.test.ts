import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { fixture } from '../helpers/fixtures.js';
import { serveCli, type ServeProcess } from '../helpers/serve.js';
import { knownIssue } from './known-issues.js';

/*
 * `bertfuse serve` as users run it (a child process on 127.0.0.1, port 0), fed malformed and
 * oversized bodies, stalled clients and a bounded burst of concurrent connections. After each
 * fault the same good request must still get the same answer; during the burst the server's RSS
 * (read from /proc/<pid>/status) must stay under a generous bound.
 */

const BODY_LIMIT = 64 * 1024;
const MAX_TEXTS = 16;
const MAX_CHARS = 2000;
const BURST = 200;

let server: ServeProcess;
let port = 0;
let reference = '';

function startServer(extra: readonly string[] = []): Promise<ServeProcess> {
  return serveCli([fixture('sst2-sibling-a'), '--body-limit', String(BODY_LIMIT), '--max-texts', String(MAX_TEXTS), '--max-chars', String(MAX_CHARS), '--threads', '1', ...extra]);
}

interface Reply {
  readonly status: number;
  readonly body: string;
}

/** One request on its own connection (no keep-alive), raw body bytes. */
function request(method: string, urlPath: string, body?: string | Buffer, headers: Record<string, string> = { 'content-type': 'application/json' }, p = port): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: p, method, path: urlPath, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

const GOOD = JSON.stringify({ texts: ['a gorgeous , witty , seductive movie .', 'one long string of cliches .'] });

async function assertStillServing(): Promise<void> {
  const r = await request('POST', '/v1/predict', GOOD);
  assert.equal(r.status, 200, r.body);
  assert.equal(r.body, reference, 'the same good request gets the same answer');
}

function errorCode(r: Reply): string {
  return (JSON.parse(r.body) as { error: { code: string } }).error.code;
}

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]) * 1024;
}

before(async () => {
  server = await startServer();
  port = server.port;
  const r = await request('POST', '/v1/predict', GOOD);
  assert.equal(r.status, 200, r.body);
  reference = r.body;
});

after(async () => {
  await server?.stop('SIGKILL');
});

interface BodyCase {
  readonly name: string;
  readonly body: string | Buffer;
  readonly headers?: Record<string, string>;
  readonly method?: string;
  readonly path?: string;
  readonly status: number;
  readonly code: string;
}

const nested = (depth: number): string => '['.repeat(depth) + ']'.repeat(depth);

const MALFORMED: readonly BodyCase[] = [
  { name: 'invalid JSON', body: '{"texts": ["a",', status: 400, code: 'bad_json' },
  { name: 'empty body', body: '', status: 400, code: 'bad_json' },
  { name: 'JSON array', body: '["a", "b"]', status: 400, code: 'bad_request' },
  { name: 'JSON string', body: '"a"', status: 400, code: 'bad_request' },
  { name: 'JSON null', body: 'null', status: 400, code: 'bad_request' },
  { name: 'texts is a string', body: '{"texts": "a"}', status: 400, code: 'bad_request' },
  { name: 'a text is a number', body: '{"texts": ["a", 5]}', status: 400, code: 'bad_request' },
  { name: 'a pair has three sides', body: '{"pairs": [["a", "b", "c"]]}', status: 400, code: 'bad_request' },
  { name: 'both texts and pairs', body: '{"texts": ["a"], "pairs": [["a", "b"]]}', status: 400, code: 'bad_request' },
  { name: 'an unknown field', body: '{"texts": ["a"], "labels": ["x"]}', status: 400, code: 'bad_request' },
  { name: '__proto__ key (prototype pollution attempt)', body: '{"texts": ["a"], "__proto__": {"polluted": true}}', status: 400, code: 'bad_json' },
  { name: 'JSON nested 30,000 deep (under the body limit)', body: `{"texts": ${nested(30_000)}}`, status: 400, code: 'bad_request' },
  { name: 'invalid UTF-8 bytes in a text', body: Buffer.concat([Buffer.from('{"texts": ["caf'), Buffer.from([0xe9, 0xff]), Buffer.from('"]}')]), status: 200, code: '' },
  { name: 'text/plain body', body: 'hello', headers: { 'content-type': 'text/plain' }, status: 415, code: 'unsupported_media_type' },
  { name: 'no content type', body: GOOD, headers: {}, status: 415, code: 'unsupported_media_type' },
  { name: 'GET on the predict route', body: '', method: 'GET', headers: {}, status: 404, code: 'not_found' },
  { name: 'an unknown route', body: GOOD, path: '/v1/classify', status: 404, code: 'not_found' },
  { name: 'members=maybe', body: GOOD, path: '/v1/predict?members=maybe', status: 400, code: 'bad_request' },
];

describe('server faults: malformed bodies get 4xx and the server keeps serving', () => {
  for (const c of MALFORMED) {
    test(c.name, knownIssue(`serve: ${c.name}`), async () => {
      const r = await request(c.method ?? 'POST', c.path ?? '/v1/predict', c.method === 'GET' ? undefined : c.body, c.headers ?? { 'content-type': 'application/json' });
      assert.equal(r.status, c.status, r.body);
      if (c.code) assert.equal(errorCode(r), c.code, r.body);
      if (c.status >= 400) assert.ok((JSON.parse(r.body) as { error: { message: string } }).error.message.length > 0);
      await assertStillServing();
    });
  }
});

describe('server faults: oversized bodies are refused by limit, without reading them whole', () => {
  test(`a body over --body-limit (${BODY_LIMIT} bytes) gets 413 naming bodyLimit`, async () => {
    const body = JSON.stringify({ texts: ['x'.repeat(BODY_LIMIT)] });
    const r = await request('POST', '/v1/predict', body);
    assert.equal(r.status, 413, r.body);
    assert.match(r.body, /bodyLimit/);
    await assertStillServing();
  });

  test('a chunked body (no Content-Length) that grows past the limit gets 413', async () => {
    const r = await new Promise<Reply>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/v1/predict', headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' }, agent: false }, (res) => {
        let b = '';
        res.on('data', (d: Buffer) => (b += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: b }));
      });
      req.on('error', (e) => (e.message.includes('EPIPE') || e.message.includes('ECONNRESET') ? undefined : reject(e)));
      req.write('{"texts": ["');
      const chunk = 'y'.repeat(16 * 1024);
      // Up to 16x the limit; the server must answer long before the client is done.
      for (let i = 0; i < 64; i++) req.write(chunk);
      req.end('"]}');
    });
    assert.equal(r.status, 413, r.body);
    await assertStillServing();
  });

  test('a Content-Length of 10 GB is refused up front (the bytes are never sent)', async () => {
    const r = await new Promise<Reply>((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1', () => s.write('POST /v1/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 10737418240\r\nConnection: close\r\n\r\n{"texts":'));
      let b = '';
      s.on('data', (d: Buffer) => (b += d.toString()));
      s.on('close', () => resolve({ status: Number(/^HTTP\/1\.1 (\d+)/.exec(b)?.[1] ?? 0), body: b }));
      s.on('error', reject);
    });
    assert.equal(r.status, 413, r.body);
    await assertStillServing();
  });

  test(`${MAX_TEXTS + 1} texts gets 413 naming maxTexts; a text over ${MAX_CHARS} characters gets 422 naming maxChars`, async () => {
    const many = await request('POST', '/v1/predict', JSON.stringify({ texts: Array.from({ length: MAX_TEXTS + 1 }, () => 'fine') }));
    assert.equal(many.status, 413, many.body);
    assert.match(many.body, /maxTexts/);
    const long = await request('POST', '/v1/predict', JSON.stringify({ texts: ['z'.repeat(MAX_CHARS + 1)] }));
    assert.equal(long.status, 422, long.body);
    assert.match(long.body, /maxChars/);
    await assertStillServing();
  });
});

describe('server faults: slow clients', () => {
  test('20 clients stalled mid-headers and mid-body do not stop others being served', async () => {
    const stalled: net.Socket[] = [];
    for (let i = 0; i < 10; i++) {
      const a = net.connect(port, '127.0.0.1', () => a.write('POST /v1/predict HTTP/1.1\r\nHost: 127.0.0.1\r\n'));
      const b = net.connect(port, '127.0.0.1', () => b.write('POST /v1/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"texts"'));
      for (const s of [a, b]) {
        s.on('error', () => undefined);
        stalled.push(s);
      }
    }
    await new Promise((r) => setTimeout(r, 200));
    const t0 = Date.now();
    await assertStillServing();
    assert.ok(Date.now() - t0 < 10_000, `a good request took ${Date.now() - t0} ms while 20 clients stalled`);
    for (const s of stalled) s.destroy();
  });

  test('a client that stalls mid-body is cut off by the request timeout (--request-timeout-ms)', knownIssue('serve: request timeout'), async () => {
    const timed = await startServer(['--request-timeout-ms', '1500']);
    const p = timed.port;
    try {
      const t0 = Date.now();
      const closed = await new Promise<{ ms: number; data: string }>((resolve) => {
        const s = net.connect(p, '127.0.0.1', () => s.write('POST /v1/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"texts"'));
        let data = '';
        s.on('data', (d: Buffer) => (data += d.toString()));
        s.on('error', () => undefined);
        s.on('close', () => resolve({ ms: Date.now() - t0, data }));
        setTimeout(() => s.destroy(), 15_000);
      });
      assert.ok(closed.ms < 10_000, `the stalled connection stayed open ${closed.ms} ms`);
      assert.match(closed.data, /^HTTP\/1\.1 408/);
    } finally {
      await timed.stop('SIGKILL');
    }
  });
});

describe('server faults: a bounded burst of concurrent connections on 127.0.0.1', () => {
  test(`${BURST} concurrent connections (good, malformed and oversized mixed): every one answered as due, RSS bounded`, { timeout: 180_000 }, async () => {
    const pid = server.child.pid!;
    const baseline = rssBytes(pid);
    let peak = baseline;
    const sampler = setInterval(() => {
      try {
        peak = Math.max(peak, rssBytes(pid));
      } catch {
        // the process is gone: the assertions below will say so
      }
    }, 10);
    const texts = Array.from({ length: 8 }, (_, i) => `request text number ${i} , a fairly ordinary sentence about a movie .`);
    const kinds = ['good', 'good', 'good', 'malformed', 'oversized'] as const;
    const t0 = Date.now();
    const replies = await Promise.all(
      Array.from({ length: BURST }, async (_, i) => {
        const kind = kinds[i % kinds.length]!;
        const body = kind === 'good' ? JSON.stringify({ texts }) : kind === 'malformed' ? '{"texts": [' : JSON.stringify({ texts: ['w'.repeat(BODY_LIMIT + 10)] });
        try {
          return { kind, reply: await request('POST', '/v1/predict', body) };
        } catch (e) {
          return { kind, reply: { status: -1, body: (e as Error).message } };
        }
      }),
    );
    const seconds = (Date.now() - t0) / 1000;
    clearInterval(sampler);
    const expected = { good: 200, malformed: 400, oversized: 413 } as const;
    const wrong = replies.filter((r) => r.reply.status !== expected[r.kind]);
    assert.deepEqual(wrong.slice(0, 3), [], `${wrong.length} of ${BURST} answered wrongly`);
    for (const r of replies.filter((x) => x.kind === 'good')) {
      const preds = (JSON.parse(r.reply.body) as { predictions: unknown[] }).predictions;
      assert.equal(preds.length, texts.length);
    }
    const grownMb = (peak - baseline) / 2 ** 20;
    if (process.env['BERTFUSE_SERVE_VERBOSE']) console.log(`burst of ${BURST} in ${seconds.toFixed(2)} s; RSS baseline ${(baseline / 2 ** 20).toFixed(0)} MB, peak ${(peak / 2 ** 20).toFixed(0)} MB (+${grownMb.toFixed(0)} MB)`);
    // Generous: the burst may grow buffers and batches, but not by a body's worth per connection.
    assert.ok(grownMb < 400, `RSS grew by ${grownMb.toFixed(0)} MB during the burst (baseline ${(baseline / 2 ** 20).toFixed(0)} MB)`);
    assert.ok(peak < 1.5 * 2 ** 30, `RSS peaked at ${(peak / 2 ** 20).toFixed(0)} MB`);
    await assertStillServing();
    const health = await request('GET', '/healthz', undefined, {});
    assert.equal(health.status, 200);
  });
});
