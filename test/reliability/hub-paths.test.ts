import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { resolveModelPath } from '../../src/checkpoint/hub.js';
import { isOneLineError, type CliResult } from '../helpers/cli.js';
import { fixture, tempDir } from '../helpers/fixtures.js';
import { cliInProcess } from './in-process.js';

/*
 * A hostile hub mirror (a fake one on 127.0.0.1) lists file names, shard names and commit hashes
 * that would land outside the cache once joined to the snapshot folder; a hostile cache holds links
 * that lead out of it. bertfuse must refuse each in one line, write nothing outside the cache, and
 * read nothing through such a link.
 */

const SHA = 'c'.repeat(40);
const root = tempDir('bertfuse-rel-hub-');
const BASE = ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json', 'vocab.txt'];

type Repo = { sha?: string; files: Record<string, Uint8Array> };

function fixtureFiles(): Record<string, Uint8Array> {
  return Object.fromEntries(BASE.map((f) => [f, fs.readFileSync(path.join(fixture('sst2-sibling-a'), f))]));
}

/** Enough of the Hub API for @huggingface/hub (modelInfo, pathsInfo, downloadFile), serving whatever names it is given. */
async function hostileHub(repos: Record<string, Repo>): Promise<{ app: FastifyInstance; url: string; fetched: string[] }> {
  // Close kept-alive client connections too, or close() waits for them.
  const app = Fastify({ forceCloseConnections: true });
  const fetched: string[] = [];
  const oid = (b: Uint8Array): string => crypto.createHash('sha256').update(b).digest('hex');
  app.get<{ Params: { org: string; name: string } }>('/api/models/:org/:name/revision/:rev', async (req, reply) => {
    const repo = repos[`${req.params.org}/${req.params.name}`];
    if (!repo) return reply.code(404).send({ error: 'Repository not found' });
    return { _id: '1', id: `${req.params.org}/${req.params.name}`, sha: repo.sha ?? SHA, siblings: Object.keys(repo.files).map((rfilename) => ({ rfilename })), private: false, downloads: 0, likes: 0, gated: false, lastModified: '2024-01-01T00:00:00Z' };
  });
  app.post<{ Params: { org: string; name: string }; Body: { paths: string[] } }>('/api/models/:org/:name/paths-info/:rev', async (req) => {
    const files = repos[`${req.params.org}/${req.params.name}`]!.files;
    return req.body.paths.filter((p) => files[p]).map((p) => ({ type: 'file', path: p, size: files[p]!.length, oid: oid(files[p]!).slice(0, 40), ...(p.endsWith('.json') || p.endsWith('.txt') ? {} : { lfs: { oid: oid(files[p]!), size: files[p]!.length, pointerSize: 130 } }) }));
  });
  app.get<{ Params: { org: string; name: string; '*': string } }>('/:org/:name/resolve/:rev/*', async (req, reply) => {
    const body = repos[`${req.params.org}/${req.params.name}`]?.files[req.params['*']];
    if (!body) return reply.code(404).header('X-Error-Code', 'EntryNotFound').send({ error: 'not found' });
    reply.header('ETag', `"${oid(body)}"`).header('Content-Type', 'application/octet-stream');
    const range = /^bytes=(\d+)-(\d+)$/.exec(String(req.headers.range ?? ''));
    if (range) {
      const [a, b] = [Number(range[1]), Math.min(Number(range[2]), body.length - 1)];
      return reply.code(206).header('Content-Range', `bytes ${a}-${b}/${body.length}`).send(Buffer.from(body.subarray(a, b + 1)));
    }
    fetched.push(req.params['*']);
    return reply.send(Buffer.from(body));
  });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, url, fetched };
}

/** Runs the CLI with the hub environment set, restoring it after. */
async function withHubEnv(env: Record<string, string>, args: string[]): Promise<CliResult> {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  try {
    return await cliInProcess(args);
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

/** Every file under `dir` with its bytes' hash, not following links. */
function tree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const name of fs.readdirSync(d).sort()) {
      const p = path.join(d, name);
      const st = fs.lstatSync(p);
      if (st.isDirectory()) walk(p);
      else out[path.relative(dir, p)] = st.isSymbolicLink() ? `link:${fs.readlinkSync(p)}` : crypto.createHash('sha256').update(fs.readFileSync(p)).digest('hex');
    }
  };
  walk(dir);
  return out;
}

/** The workspace around each case: a cache, and a folder outside it that must stay as it is. */
function workspace(name: string): { cache: string; outside: string; snapshotOf: (repo: string, sha?: string) => string } {
  const dir = path.join(root, name);
  const cache = path.join(dir, 'cache');
  const outside = path.join(dir, 'outside');
  fs.mkdirSync(cache, { recursive: true });
  fs.mkdirSync(outside, { recursive: true });
  fs.writeFileSync(path.join(outside, 'secret.json'), JSON.stringify({ model_type: 'bert', secret: 'not a model' }));
  return { cache, outside, snapshotOf: (repo, sha = SHA) => path.join(cache, `models--${repo.replace('/', '--')}`, 'snapshots', sha) };
}

/** One line, exit ≠ 0, naming the hub problem; nothing outside the cache changed or appeared. */
function assertContained(r: CliResult, dir: string, before: Record<string, string>, pattern: RegExp): void {
  assert.ok(isOneLineError(r), `exit ${r.code}, stderr: ${r.stderr}`);
  assert.match(r.stderr, pattern);
  const now = tree(dir);
  const outsideCache = (t: Record<string, string>): Record<string, string> => Object.fromEntries(Object.entries(t).filter(([k]) => !k.startsWith(`cache${path.sep}`)));
  assert.deepEqual(outsideCache(now), outsideCache(before), 'nothing outside the cache was written');
}

describe('hub downloads stay inside the cache', () => {
  let hub: Awaited<ReturnType<typeof hostileHub>>;
  const abs = path.join(root, 'abs-target.json');
  const repos: Record<string, Repo> = {};
  // A bertfuse artifact repo is fetched whole: every sibling name is joined to the snapshot folder.
  const siblings: Array<[string, string]> = [
    ['dotdot', '../../../escape.json'],
    ['nested-dotdot', 'onnx/../../../../escape.json'],
    ['absolute', abs],
    ['backslash', 'onnx\\..\\..\\..\\escape.json'],
    ['drive', 'C:escape.json'],
    ['dot-segment', './config.json'],
    ['empty-segment', 'onnx//model.onnx'],
    ['nul', 'vocab.txt\u0000.json'],
  ];
  before(async () => {
    for (const [name, evil] of siblings) repos[`evil/${name}`] = { files: { ...fixtureFiles(), 'bertfuse.json': Buffer.from('{}'), [evil]: Buffer.from('{"pwned": true}') } };
    // A plain checkpoint repo: the hostile name is a sibling bertfuse would not even download.
    repos['evil/plain-sibling'] = { files: { ...fixtureFiles(), '../../../README.md': Buffer.from('x') } };
    const index = (shard: string): Uint8Array => Buffer.from(JSON.stringify({ metadata: {}, weight_map: { 'bert.embeddings.word_embeddings.weight': shard } }));
    const sharded = (shard: string): Repo => {
      const f = fixtureFiles();
      delete f['model.safetensors'];
      return { files: { ...f, 'model.safetensors.index.json': index(shard) } };
    };
    repos['evil/shard-dotdot'] = sharded('../../../escape.safetensors');
    repos['evil/shard-abs'] = sharded(path.join(root, 'abs-shard.safetensors'));
    repos['evil/shard-backslash'] = sharded('..\\..\\escape.safetensors');
    repos['evil/sha-dotdot'] = { sha: '../../../escape', files: fixtureFiles() };
    repos['evil/sha-abs'] = { sha: path.join(root, 'sha-target'), files: fixtureFiles() };
    repos['good/plain'] = { files: fixtureFiles() };
    repos['good/artifact-onnx'] = { files: { ...fixtureFiles(), 'bertfuse.json': Buffer.from('{}'), 'onnx/model.onnx': Buffer.from('x') } };
    hub = await hostileHub(repos);
  });
  after(async () => {
    await hub.app.close();
  });

  const inspect = (ws: { cache: string }, id: string): Promise<CliResult> => withHubEnv({ HF_HUB_CACHE: ws.cache, HF_ENDPOINT: hub.url, BERTFUSE_HUB_TIMEOUT_MS: '5000' }, ['inspect', id]);

  test('listed file names with .., absolute paths, backslashes, drive letters, ./, empty segments or NUL are refused', async () => {
    for (const [name, evil] of [...siblings, ['plain-sibling', '../../../README.md'] as [string, string]]) {
      const ws = workspace(`sibling-${name}`);
      const before = tree(path.dirname(ws.cache));
      const r = await inspect(ws, `evil/${name}`);
      assertContained(r, path.dirname(ws.cache), before, /the hub listed a file ".*", which is not a plain relative path inside the repository; refusing it/);
      assert.ok(!fs.existsSync(abs), 'the absolute target was not written');
      assert.ok(!hub.fetched.includes(evil), `${name}: the hostile file was never downloaded`);
    }
  });

  test('shard names in model.safetensors.index.json that leave the snapshot are refused', async () => {
    for (const name of ['shard-dotdot', 'shard-abs', 'shard-backslash']) {
      const ws = workspace(name);
      const before = tree(path.dirname(ws.cache));
      const r = await inspect(ws, `evil/${name}`);
      assertContained(r, path.dirname(ws.cache), before, /the hub listed a shard in model\.safetensors\.index\.json ".*", which is not a plain relative path/);
      assert.ok(!fs.existsSync(path.join(root, 'abs-shard.safetensors')));
    }
  });

  test('a commit hash that is not 40 hex digits is never used as a folder name', async () => {
    for (const name of ['sha-dotdot', 'sha-abs']) {
      const ws = workspace(name);
      const before = tree(path.dirname(ws.cache));
      const r = await inspect(ws, `evil/${name}`);
      assertContained(r, path.dirname(ws.cache), before, /did not report a commit hash/);
      assert.ok(!fs.existsSync(path.join(root, 'sha-target')));
    }
  });

  test('a revision with .. is not a hub id (it reads as a missing path)', async () => {
    const ws = workspace('revision');
    const before = tree(path.dirname(ws.cache));
    for (const id of ['good/plain@../../../x', 'good/plain@refs/../../x']) {
      const r = await inspect(ws, id);
      assertContained(r, path.dirname(ws.cache), before, /good\/plain@(refs\/)?\.\.\/.*: no such model folder/);
    }
  });

  test('links planted in the cache do not carry a download out of it (snapshot subfolder, blobs folder)', async () => {
    const ws = workspace('planted-onnx');
    const snap = ws.snapshotOf('good/artifact-onnx');
    fs.mkdirSync(snap, { recursive: true });
    fs.symlinkSync(ws.outside, path.join(snap, 'onnx'));
    const before = tree(path.dirname(ws.cache));
    assertContained(await inspect(ws, 'good/artifact-onnx'), path.dirname(ws.cache), before, /the folder of onnx\/model\.onnx leads outside .* refusing it/);
    assert.ok(!fs.existsSync(path.join(ws.outside, 'model.onnx')));

    const ws2 = workspace('planted-blobs');
    const folder = path.dirname(path.dirname(ws2.snapshotOf('good/plain')));
    fs.mkdirSync(folder, { recursive: true });
    fs.symlinkSync(ws2.outside, path.join(folder, 'blobs'));
    const before2 = tree(path.dirname(ws2.cache));
    assertContained(await inspect(ws2, 'good/plain'), path.dirname(ws2.cache), before2, /the blobs folder leads outside .* refusing it/);
  });

  test('a cached snapshot whose files link outside the cache is refused, not read', async () => {
    for (const [name, plant] of [
      ['config-link', (snap: string, outside: string) => fs.symlinkSync(path.join(outside, 'secret.json'), path.join(snap, 'config.json'))],
      ['relative-link', (snap: string, outside: string) => fs.symlinkSync(path.relative(snap, path.join(outside, 'secret.json')), path.join(snap, 'config.json'))],
      ['dir-link', (snap: string, outside: string) => fs.symlinkSync(outside, path.join(snap, 'extra'))],
    ] as const) {
      const ws = workspace(`cached-${name}`);
      const snap = ws.snapshotOf('test/cached');
      fs.mkdirSync(snap, { recursive: true });
      for (const [f, bytes] of Object.entries(fixtureFiles())) if (!(name !== 'dir-link' && f === 'config.json')) fs.writeFileSync(path.join(snap, f), bytes);
      plant(snap, ws.outside);
      fs.mkdirSync(path.join(path.dirname(path.dirname(snap)), 'refs'));
      fs.writeFileSync(path.join(path.dirname(path.dirname(snap)), 'refs', 'main'), SHA);
      const before = tree(path.dirname(ws.cache));
      const r = await withHubEnv({ HF_HUB_CACHE: ws.cache, HF_HUB_OFFLINE: '1' }, ['inspect', 'test/cached']);
      assertContained(r, path.dirname(ws.cache), before, /cached file (config\.json|extra) leads outside .* refusing it/);
      assert.ok(!r.stdout.includes('not a model'));
    }
  });

  test('refs/main holding ".." or a path is not followed', async () => {
    for (const [name, ref] of [['dots', '..'], ['slash', '../../outside']] as const) {
      const ws = workspace(`ref-${name}`);
      const folder = path.dirname(path.dirname(ws.snapshotOf('test/ref')));
      fs.mkdirSync(path.join(folder, 'refs'), { recursive: true });
      for (const [f, bytes] of Object.entries(fixtureFiles())) fs.writeFileSync(path.join(folder, f), bytes);
      fs.writeFileSync(path.join(folder, 'refs', 'main'), ref);
      const before = tree(path.dirname(ws.cache));
      const r = await withHubEnv({ HF_HUB_CACHE: ws.cache, HF_HUB_OFFLINE: '1' }, ['inspect', 'test/ref']);
      assertContained(r, path.dirname(ws.cache), before, /(is not in the Hugging Face cache|commit in .* refusing it)/);
    }
  });

  test('well-formed names still download (a nested onnx/model.onnx lands inside the snapshot)', async () => {
    const ws = workspace('good');
    const r = await inspect(ws, 'good/plain');
    assert.equal(r.code, 0, r.stderr);
    const snap = ws.snapshotOf('good/plain');
    for (const f of BASE) assert.ok(fs.realpathSync(path.join(snap, f)).startsWith(fs.realpathSync(ws.cache)), f);
    const art = await resolveModelPath('good/artifact-onnx', { cacheDir: ws.cache, endpoint: hub.url, timeoutMs: 5000 });
    assert.equal(fs.readFileSync(path.join(art, 'onnx', 'model.onnx'), 'utf8'), 'x');
    assert.ok(fs.realpathSync(path.join(art, 'onnx', 'model.onnx')).startsWith(fs.realpathSync(ws.cache)));
  });
});
