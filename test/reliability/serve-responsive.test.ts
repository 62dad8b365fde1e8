import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DATA, fixture } from '../helpers/fixtures.js';
import { serveCli, type ServeProcess } from '../helpers/serve.js';

/*
 * `bertfuse serve` stays responsive (issue 10, item 4), run as users run it: a child process on
 * 127.0.0.1 with texts of up to 100,000 characters allowed. Long texts cost no more than their
 * first max_length tokens; /healthz answers while the heaviest in-limit request runs; clients
 * that hang up have their work dropped; requests Node's HTTP parser refuses get the API's error
 * JSON. Bounds on time are generous (the machine is shared): they catch a frozen server, not a
 * slow one. Latency itself is measured in bench/serve-load.ts.
 */

const MAX_CHARS = 100_000;
const MAX_TEXTS = 64;
/** Small runs (4 rows of 128 tokens), so a request is many runs and an abort has room to act. */
const MAX_TOKENS = 512;

let server: ServeProcess;
let port = 0;

const sentences = fs.readFileSync(path.join(DATA, 'sst2_dev.tsv'), 'utf8').split('\n').slice(1).map((l) => l.split('\t')[1] ?? '').filter((s) => s !== '');
function realText(chars: number, from = 0): string {
  let s = '';
  for (let i = from; s.length < chars; i++) s += sentences[i % sentences.length] + ' ';
  return s.slice(0, chars);
}

interface Reply {
  readonly status: number;
  readonly body: string;
  readonly ms: number;
}

function request(method: string, urlPath: string, body?: string, headers: Record<string, string> = { 'content-type': 'application/json' }): Promise<Reply> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: urlPath, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), ms: performance.now() - t0 }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Raw bytes on a fresh connection; resolves with everything the server sent before closing. */
function raw(data: string): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(data));
    let got = '';
    s.on('data', (d: Buffer) => (got += d.toString()));
    s.on('error', () => undefined);
    s.on('close', () => resolve(got));
    setTimeout(() => s.destroy(), 20_000);
  });
}

function probs(r: Reply): number[][] {
  assert.equal(r.status, 200, r.body);
  return (JSON.parse(r.body) as { predictions: { probs: Record<string, number> }[] }).predictions.map((p) => Object.values(p.probs));
}

async function metric(name: string): Promise<number> {
  const text = (await request('GET', '/metrics')).body;
  let sum = 0;
  const labels = name.includes('{') ? '' : '(?:\\{[^}]*\\})?';
  for (const m of text.matchAll(new RegExp(`^${name}${labels} (\\S+)$`, 'gm'))) sum += Number(m[1]);
  return sum;
}

before(async () => {
  server = await serveCli([fixture('sst2-sibling-a'), '--max-chars', String(MAX_CHARS), '--max-texts', String(MAX_TEXTS), '--max-tokens', String(MAX_TOKENS), '--body-limit', String(16 * 1024 * 1024), '--threads', '1']);
  port = server.port;
});

after(async () => {
  await server?.stop('SIGKILL');
});

describe('serve responsiveness: long texts cost only their first max_length tokens', () => {
  // The fixture reads 128 tokens; a 3,000-character prefix already has more, so a longer text
  // must be classified exactly like that prefix.
  const prefix = realText(3000);
  for (const chars of [10_000, 100_000]) {
    test(`a ${chars.toLocaleString('en')}-character text gets the answer of its first 3,000 characters`, async () => {
      const r = await request('POST', '/v1/predict', JSON.stringify({ texts: [realText(chars), prefix] }));
      const [long, short] = probs(r);
      assert.deepEqual(long, short);
    });
  }
  test('a pair of 100,000-character texts gets the answer of its prefixes (longest_first keeps both sides)', async () => {
    const r = await request('POST', '/v1/predict', JSON.stringify({ pairs: [[realText(100_000), realText(100_000, 40)], [prefix, realText(3000, 40)]] }));
    const [long, short] = probs(r);
    assert.deepEqual(long, short);
  });
  test(`${MAX_TEXTS} texts of ${MAX_CHARS.toLocaleString('en')} characters in one request: answered, each as its prefix`, { timeout: 120_000 }, async () => {
    const texts = Array.from({ length: MAX_TEXTS }, (_, i) => realText(MAX_CHARS, i * 7));
    const r = await request('POST', '/v1/predict', JSON.stringify({ texts }));
    const got = probs(r);
    const ref = probs(await request('POST', '/v1/predict', JSON.stringify({ texts: texts.map((t) => t.slice(0, 3000).replace(/\s+\S*$/, '')) })));
    assert.equal(got.length, MAX_TEXTS);
    assert.deepEqual(got, ref);
  });
});

describe('serve responsiveness: /healthz answers while the heaviest in-limit requests run', () => {
  // Two requests: one runs while the other waits in the queue. (Each costs ~10–25 s here: with
  // BERT's odd pair budget both 100,000-character sides must be word-pieced in full, see encode.)
  const HEAVY_REQUESTS = 2;
  test(`/healthz during ${HEAVY_REQUESTS} requests of ${MAX_TEXTS} pairs × 2 × ${MAX_CHARS.toLocaleString('en')} characters`, { timeout: 180_000 }, async () => {
    const side = (i: number): string => realText(MAX_CHARS, i);
    const worst = JSON.stringify({ pairs: Array.from({ length: MAX_TEXTS }, (_, i) => [side(i), side(i + 1)]) });
    let finished = 0;
    let left = HEAVY_REQUESTS;
    const heavy = Array.from({ length: HEAVY_REQUESTS }, () =>
      request('POST', '/v1/predict', worst).then((r) => {
        if (--left === 0) finished = performance.now();
        return r;
      }),
    );
    // Wait until the server is working on them, then ask for /healthz until they are done.
    while ((await metric('bertfuse_queue_inputs')) === 0 && finished === 0) await new Promise((r) => setTimeout(r, 5));
    const health: Reply[] = [];
    const answeredAt: number[] = [];
    while (finished === 0) {
      health.push(await request('GET', '/healthz'));
      answeredAt.push(performance.now());
    }
    for (const r of await Promise.all(heavy)) assert.equal(r.status, 200);
    const during = health.filter((_, i) => answeredAt[i]! < finished);
    assert.ok(during.length >= 2, `only ${during.length} /healthz answers while the heavy requests ran`);
    for (const h of during) {
      assert.equal(h.status, 200);
      // Generous: a frozen event loop shows up as the whole request time (seconds).
      assert.ok(h.ms < 1500, `/healthz took ${h.ms.toFixed(0)} ms during a heavy request`);
    }
  });
});

describe('serve responsiveness: work for clients that hung up is dropped', () => {
  test('6 heavy requests abandoned mid-flight: their queued work is dropped, the queue drains, the server still serves', { timeout: 120_000 }, async () => {
    const body = JSON.stringify({ texts: Array.from({ length: MAX_TEXTS }, (_, i) => realText(10_000, i)) });
    // 64 rows of 128 tokens in runs of 4 rows: 16 runs per request when nothing is dropped.
    const runsPerRequest = MAX_TEXTS / (MAX_TOKENS / 128);
    const runs0 = await metric('bertfuse_batch_size_count');
    const closed0 = await metric('bertfuse_errors_total\\{code="client_closed"\\}');
    const sockets: net.Socket[] = [];
    for (let i = 0; i < 6; i++) {
      const s = net.connect(port, '127.0.0.1', () => s.write(`POST /v1/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`));
      s.on('error', () => undefined);
      sockets.push(s);
    }
    for (let i = 0; (await metric('bertfuse_queue_inputs')) < 2 * MAX_TEXTS; i++) {
      assert.ok(i < 2000, 'the requests never reached the queue');
      await new Promise((r) => setTimeout(r, 5));
    }
    for (const s of sockets) s.destroy();
    // The queue empties at once (dropped, not run), and the runs stop soon after.
    for (let i = 0; (await metric('bertfuse_queue_inputs')) > 0; i++) {
      assert.ok(i < 200, 'queued work of gone clients was not dropped');
      await new Promise((r) => setTimeout(r, 10));
    }
    let runs = -1;
    for (let now = await metric('bertfuse_batch_size_count'); now !== runs; now = await metric('bertfuse_batch_size_count')) {
      runs = now;
      await new Promise((r) => setTimeout(r, 300));
    }
    assert.ok(runs - runs0 < 3 * runsPerRequest, `${runs - runs0} model runs for 6 abandoned requests (${6 * runsPerRequest} if none were dropped)`);
    assert.ok((await metric('bertfuse_errors_total\\{code="client_closed"\\}')) - closed0 >= 4, 'abandoned requests are counted as client_closed');
    const ok = await request('POST', '/v1/predict', JSON.stringify({ texts: ['a gorgeous , witty , seductive movie .'] }));
    assert.equal(ok.status, 200, ok.body);
  });
});

describe("serve responsiveness: requests Node's HTTP parser refuses get the API's error JSON", () => {
  const cases: { name: string; data: string; status: number; code: string }[] = [
    { name: 'garbage instead of a request line', data: 'HELLO THERE\r\n\r\n', status: 400, code: 'bad_http' },
    { name: 'a header without a colon', data: 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nbroken header\r\n\r\n', status: 400, code: 'bad_http' },
    { name: 'headers over the size limit', data: `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, status: 431, code: 'headers_too_large' },
    { name: 'a bad chunk size', data: 'POST /v1/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n', status: 400, code: 'bad_http' },
    { name: 'both Content-Length and chunked', data: 'POST /v1/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n{}', status: 400, code: 'bad_http' },
    { name: 'a malformed URL escape', data: 'GET /v1/predict/%E0%A4%A HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n', status: 400, code: 'bad_request' },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const got = await raw(c.data);
      const m = /^HTTP\/1\.1 (\d{3}) [^\r]*\r\n([\s\S]*?)\r\n\r\n([\s\S]*)$/.exec(got);
      assert.ok(m, `not an HTTP response: ${JSON.stringify(got.slice(0, 200))}`);
      assert.equal(Number(m[1]), c.status, got);
      assert.match(m[2]!, /content-type: application\/json/i);
      const e = (JSON.parse(m[3]!) as { error: { code: string; message: string } }).error;
      assert.equal(e.code, c.code);
      assert.ok(e.message.length > 0);
      assert.equal((await request('GET', '/healthz')).status, 200);
    });
  }
  test('bad JSON and a wrong content type: the same shape', async () => {
    const bad = await request('POST', '/v1/predict', '{"texts": [');
    assert.equal(bad.status, 400);
    assert.equal((JSON.parse(bad.body) as { error: { code: string } }).error.code, 'bad_json');
    const type = await request('POST', '/v1/predict', 'texts=a', { 'content-type': 'application/x-www-form-urlencoded' });
    assert.equal(type.status, 415);
    assert.equal((JSON.parse(type.body) as { error: { code: string } }).error.code, 'unsupported_media_type');
  });
});
