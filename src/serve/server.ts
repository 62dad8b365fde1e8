import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { isBertfuseError } from '../errors.js';
import type { Classifier } from '../runtime/classifier.js';
import { MicroBatcher } from './batcher.js';
import { onClientError } from './client-errors.js';
import { VERSION } from '../paths.js';
import { clientGone, inferenceError } from './inference.js';
import { registerOip } from './oip.js';
import { serverMetrics } from './metrics.js';
import { RequestError, parsePredictBody, type ServeLimits } from './request.js';
import { labelScores, memberScores, type LabelScores } from '../runtime/label-scores.js';

export type { LabelScores } from '../runtime/label-scores.js';

/*
 * The prediction server as a library: `createServer(model, opts)` returns a fastify instance that
 * is not yet listening, so the CLI, tests and benchmarks choose host and port. The model stays
 * owned by the caller (close it after `app.close()`).
 *
 *   POST /v1/predict[?members=true]  { "texts": [...], "text_pair"?: [...] } | Hugging Face's { "inputs": ... }
 *   GET  /healthz                    status, model name, labels, quantize (int8 or null)
 *   GET  /metrics                    Prometheus text format
 *   /v2/...                          the Open Inference Protocol (oip.ts)
 */

/** /v2 speaks the Open Inference Protocol, whose error body is `{"error": "message"}`. */
function isOip(url: string): boolean {
  return url === '/v2' || url.startsWith('/v2/') || url.startsWith('/v2?');
}

export interface ServeOptions extends Partial<ServeLimits> {
  /** Most inputs in one model run. */
  readonly maxBatch?: number;
  /** Longest time the first queued input waits for others before its run starts. */
  readonly maxWaitMs?: number;
  /** Most rows × padded tokens in one model run: bounds one run's time, so aborts and waiting requests are seen. */
  readonly maxTokens?: number;
  /** A client must send its whole request within this time, or gets a 408 and is disconnected (0 = no limit). */
  readonly requestTimeoutMs?: number;
  /** Hears, once per spelling, that a client used an old request field (the CLI prints it on stderr). */
  readonly onNote?: (line: string) => void;
}

export const SERVE_DEFAULTS = { maxBatch: 32, maxWaitMs: 5, maxTokens: 4096, maxTexts: 64, maxChars: 10_000, bodyLimit: 1024 * 1024, requestTimeoutMs: 30_000 } as const;

export interface PredictionJson extends LabelScores {
  /** Each member's answer; null for a member the cascade did not run on this row. */
  readonly members?: Readonly<Record<string, LabelScores | null>>;
}

export interface PredictResponse {
  readonly model: string;
  readonly labels: readonly string[];
  readonly predictions: readonly PredictionJson[];
}

function wantsMembers(q: unknown): boolean {
  const v = (q as Record<string, unknown> | undefined)?.['members'];
  if (v === undefined || v === 'false' || v === '0') return false;
  if (v === 'true' || v === '1' || v === '') return true;
  throw new RequestError(400, 'bad_request', `members must be true or false, got ${JSON.stringify(v)}`);
}

/** Fastify's own request errors, translated to ours so every error body has one shape. */
function translate(err: FastifyError, limits: ServeLimits, req: FastifyRequest): RequestError {
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE': {
      const got = Number(req.headers['content-length']);
      return new RequestError(413, 'limit_exceeded', `request body is larger than ${limits.bodyLimit} bytes (bodyLimit)`, { name: 'bodyLimit', max: limits.bodyLimit, ...(Number.isSafeInteger(got) ? { got } : {}) });
    }
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new RequestError(400, 'bad_json', `malformed JSON body (${err.message})`);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new RequestError(415, 'unsupported_media_type', 'send the body as application/json');
    default:
      if (err.statusCode === 400) return new RequestError(400, 'bad_request', err.message);
      if (err.statusCode === 413) return new RequestError(413, 'too_large', err.message);
      return new RequestError(500, 'internal', isBertfuseError(err) ? err.message : 'internal error');
  }
}

export function createServer(model: Classifier, opts: ServeOptions = {}): FastifyInstance {
  const limits: ServeLimits = {
    maxTexts: opts.maxTexts ?? SERVE_DEFAULTS.maxTexts,
    maxChars: opts.maxChars ?? SERVE_DEFAULTS.maxChars,
    bodyLimit: opts.bodyLimit ?? SERVE_DEFAULTS.bodyLimit,
  };
  const maxBatch = opts.maxBatch ?? SERVE_DEFAULTS.maxBatch;
  const maxWaitMs = opts.maxWaitMs ?? SERVE_DEFAULTS.maxWaitMs;
  let batcher: MicroBatcher | null = null;
  const m = serverMetrics(model, () => batcher?.pending ?? 0);
  batcher = new MicroBatcher(model, { maxBatch, maxWaitMs, maxTokens: opts.maxTokens ?? SERVE_DEFAULTS.maxTokens, onBatch: (n) => m.batchSize.observe(n), onRun: (s) => m.inference.observe(s) });
  const queue = batcher;

  // A client that stalls mid-request would otherwise hold its connection forever. Node checks the
  // deadline every connectionsCheckingInterval, so that interval follows the timeout.
  const requestTimeout = opts.requestTimeoutMs ?? SERVE_DEFAULTS.requestTimeoutMs;
  const http = requestTimeout > 0 ? { requestTimeout, headersTimeout: Math.min(60_000, requestTimeout), connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(requestTimeout / 2))) } : {};
  // The library never prints: no fastify logger.
  const app = Fastify({
    logger: false,
    bodyLimit: limits.bodyLimit,
    return503OnClosing: true,
    requestTimeout,
    http,
    // Node's own refusals (bad HTTP, oversized headers, timeouts) and fastify's bad URLs: our error shape too.
    clientErrorHandler: (err, socket) => onClientError(err, socket, (code) => m.errors.inc({ code })),
    frameworkErrors: (err, req, reply) => {
      const e = new RequestError(400, 'bad_request', err.message);
      m.errors.inc({ code: e.code });
      void (reply as FastifyReply).code(e.status).type('application/json').send(e.toJSON());
    },
  });
  // Only JSON bodies: anything else is a 415, not a string that fails validation later.
  app.removeContentTypeParser('text/plain');
  const started = new WeakMap<FastifyRequest, bigint>();
  app.addHook('onRequest', async (req) => {
    started.set(req, process.hrtime.bigint());
  });
  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    m.requests.inc({ route, method: req.method, status: String(reply.statusCode) });
    const t0 = started.get(req);
    if (t0 !== undefined) m.latency.observe(Number(process.hrtime.bigint() - t0) / 1e9, { route });
  });
  // Draining: stop waiting for more requests to batch with; in-flight ones finish, then the model may close.
  // Their responses close the connection, or a client's keep-alive socket would hold the server open.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
    queue.flush();
  });
  app.addHook('onSend', async (_req, reply) => {
    if (closing) void reply.header('connection', 'close');
  });
  app.addHook('onClose', async () => queue.idle());

  app.setErrorHandler((err: FastifyError, req, reply) => {
    const e = err instanceof RequestError ? err : translate(err, limits, req);
    m.errors.inc({ code: e.code });
    void reply.code(e.status).type('application/json').send(isOip(req.url) ? { error: e.message } : e.toJSON());
  });
  app.setNotFoundHandler((req, reply) => {
    m.errors.inc({ code: 'not_found' });
    const e = new RequestError(404, 'not_found', `no route ${req.method} ${req.url}`);
    void reply.code(404).send(isOip(req.url) ? { error: e.message } : e.toJSON());
  });

  // A model whose worker died cannot answer: health says so (503), so an orchestrator restarts us.
  app.get('/healthz', async (_req, reply) => {
    const failed = model.failure?.() ?? null;
    if (failed) return reply.code(503).send({ status: 'failed', model: model.name, reason: failed });
    return { status: 'ok', model: model.name, labels: model.labels, quantize: model.quantize ?? null };
  });

  registerOip(app, { model, queue, limits, serverVersion: VERSION, live: () => !model.failure?.(), ready: () => !closing && !model.failure?.(), onInputs: (n) => m.inputs.inc({}, n) });

  app.get('/metrics', async (_req, reply) => reply.type('text/plain; version=0.0.4; charset=utf-8').send(m.registry.render()));

  const noted = new Set<string>();
  const deprecated = (old: string, now: string): void => {
    if (noted.has(old)) return;
    noted.add(old);
    opts.onNote?.(`a client sent ${old}, which is deprecated: send ${now}`);
  };
  app.post('/v1/predict', async (req, reply): Promise<PredictResponse> => {
    const members = wantsMembers(req.query);
    if (members && !model.predictDetailed) throw new RequestError(400, 'no_members', 'model has no members (members=true needs a combined bertfuse model)');
    const inputs = parsePredictBody(req.body, limits, deprecated);
    if (inputs.length === 0) return { model: model.name, labels: model.labels, predictions: [] };
    let result;
    try {
      result = await queue.submit(inputs, members, clientGone(req, reply.raw));
    } catch (e) {
      throw inferenceError(e);
    }
    m.inputs.inc({}, inputs.length);
    const predictions = inputs.map((_, i): PredictionJson => {
      const fused = labelScores(model.labels, result.probs, i);
      if (!result.members) return fused;
      return { ...fused, members: memberScores({ fused: result.probs, members: result.members, ...(result.ran ? { ran: result.ran } : {}) }, model.labels, i) };
    });
    return { model: model.name, labels: model.labels, predictions };
  });

  return app;
}
