import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';

/** The commit every fake repository is at. */
export const HUB_SHA = 'a'.repeat(40);

/** Just enough of the Hub's HTTP API for @huggingface/hub's modelInfo, pathsInfo and downloadFile. */
export async function fakeHub(repos: Record<string, Record<string, Uint8Array>>): Promise<{ app: FastifyInstance; url: string; fetched: string[] }> {
  const app = Fastify();
  const fetched: string[] = [];
  const oid = (b: Uint8Array): string => crypto.createHash('sha256').update(b).digest('hex');
  app.get<{ Params: { org: string; name: string } }>('/api/models/:org/:name/revision/:rev', async (req, reply) => {
    const files = repos[`${req.params.org}/${req.params.name}`];
    if (!files) return reply.code(404).send({ error: 'Repository not found' });
    return { _id: '1', id: `${req.params.org}/${req.params.name}`, sha: HUB_SHA, siblings: Object.keys(files).map((rfilename) => ({ rfilename })), private: false, downloads: 0, likes: 0, gated: false, lastModified: '2024-01-01T00:00:00Z' };
  });
  app.post<{ Params: { org: string; name: string; rev: string }; Body: { paths: string[] } }>('/api/models/:org/:name/paths-info/:rev', async (req) => {
    const files = repos[`${req.params.org}/${req.params.name}`]!;
    assert.equal(req.params.rev, HUB_SHA, 'files are fetched at the resolved commit');
    return req.body.paths.filter((p) => files[p]).map((p) => ({ type: 'file', path: p, size: files[p]!.length, oid: oid(files[p]!).slice(0, 40), ...(p.endsWith('.json') || p.endsWith('.txt') ? {} : { lfs: { oid: oid(files[p]!), size: files[p]!.length, pointerSize: 130 } }) }));
  });
  app.get<{ Params: { org: string; name: string; '*': string } }>('/:org/:name/resolve/:rev/*', async (req, reply) => {
    const p = req.params['*'];
    const body = repos[`${req.params.org}/${req.params.name}`]?.[p];
    if (!body) return reply.code(404).header('X-Error-Code', 'EntryNotFound').send({ error: 'not found' });
    reply.header('ETag', `"${oid(body)}"`).header('Content-Type', 'application/octet-stream');
    const range = /^bytes=(\d+)-(\d+)$/.exec(String(req.headers.range ?? ''));
    if (range) {
      const [a, b] = [Number(range[1]), Math.min(Number(range[2]), body.length - 1)];
      return reply.code(206).header('Content-Range', `bytes ${a}-${b}/${body.length}`).send(Buffer.from(body.subarray(a, b + 1)));
    }
    fetched.push(p);
    return reply.send(Buffer.from(body));
  });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, url, fetched };
}

