import type { ServerResponse } from 'node:http';
import type { FastifyRequest } from 'fastify';
import { isBertfuseError } from '../errors.js';
import { AbortedError } from '../runtime/aborted.js';
import { RequestError } from './request.js';

/* What /v1 and /v2 share around a model run: noticing a client that left, and reporting failures. */

/**
 * Aborts when the client hangs up before its response is written, so its queued work is dropped.
 * (A response's `close` also fires after a normal finish; `writableFinished` tells them apart.)
 */
export function clientGone(req: FastifyRequest, res: ServerResponse): AbortSignal {
  const ac = new AbortController();
  const onClose = (): void => {
    if (!res.writableFinished) ac.abort(new AbortedError());
  };
  if (req.raw.socket?.destroyed) onClose();
  else res.once('close', onClose);
  return ac.signal;
}

/** A failed model run as the API reports it. */
export function inferenceError(e: unknown): RequestError {
  if (e instanceof AbortedError) return new RequestError(499, 'client_closed', 'the client closed the connection; its work was dropped');
  return new RequestError(500, 'inference_failed', isBertfuseError(e) ? e.message : `inference failed: ${(e as Error).message}`);
}

