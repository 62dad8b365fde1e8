import http from 'node:http';
import type { Socket } from 'node:net';
import { RequestError } from './request.js';

/*
 * Requests Node's HTTP parser refuses before fastify sees them (malformed request lines or headers,
 * headers over Node's size limit, a client too slow to send its request) get the API's error body
 * too, on the raw socket, then the connection closes.
 */

export function clientError(err: NodeJS.ErrnoException): RequestError {
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') return new RequestError(408, 'request_timeout', 'the request was not received in time (--request-timeout-ms)');
  if (err.code === 'HPE_HEADER_OVERFLOW') return new RequestError(431, 'headers_too_large', `request headers are larger than ${http.maxHeaderSize} bytes`);
  const why = err.code?.startsWith('HPE_') ? err.code.slice(4).toLowerCase().replace(/_/g, ' ') : 'unreadable request';
  return new RequestError(400, 'bad_http', `malformed HTTP request (${why})`);
}

export function onClientError(err: NodeJS.ErrnoException, socket: Socket, count?: (code: string) => void): void {
  // A reset connection has nobody to answer.
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const e = clientError(err);
  count?.(e.code);
  if (socket.writable) {
    const body = JSON.stringify(e.toJSON());
    socket.end(`HTTP/1.1 ${e.status} ${http.STATUS_CODES[e.status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  } else {
    socket.destroy();
  }
}
