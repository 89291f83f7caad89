// One HTTP request/response pair on uWS: abort tracking, body reading with a bound, JSON replies.
// uWS invalidates HttpRequest when the handler returns and throws on writes to an aborted
// response, so every handler copies what it needs first and writes only through reply().
import { STATUS_CODES } from 'node:http';
import type { HttpResponse } from 'uWebSockets.js';
import { isOctowayError, OctowayError } from '../errors.js';
import type { Logger } from '../log.js';

export interface Exchange {
  readonly res: HttpResponse;
  aborted: boolean;
}

export function begin(res: HttpResponse): Exchange {
  const exchange: Exchange = { res, aborted: false };
  res.onAborted(() => {
    exchange.aborted = true;
  });
  return exchange;
}

export function statusLine(status: number): string {
  return `${status} ${STATUS_CODES[status] ?? ''}`;
}

export function reply(
  exchange: Exchange,
  status: number,
  body: unknown,
  headers?: Readonly<Record<string, string>>,
  closeConnection = false,
): void {
  if (exchange.aborted) return;
  const text = JSON.stringify(body);
  exchange.res.cork(() => {
    exchange.res.writeStatus(statusLine(status)).writeHeader('Content-Type', 'application/json');
    if (headers !== undefined) for (const name in headers) exchange.res.writeHeader(name, headers[name] as string);
    exchange.res.end(text, closeConnection);
  });
}

/** Replies `{error, message}` with the error's status; anything not an OctowayError is logged
 * (it is a bug) and answered as INTERNAL_ERROR without its details. */
export function replyError(exchange: Exchange, err: unknown, log: Logger, closeConnection = false): void {
  let error: OctowayError;
  if (isOctowayError(err)) {
    error = err;
  } else {
    log.error({ err }, 'unexpected error while handling a request');
    error = new OctowayError('INTERNAL_ERROR');
  }
  const headers: Record<string, string> = {};
  if (error.retryAfter !== undefined) headers['Retry-After'] = String(error.retryAfter);
  if (error.code === 'UNAUTHORIZED') headers['WWW-Authenticate'] = 'Basic realm="octoway", charset="UTF-8"';
  reply(exchange, error.status, error.toJSON(), headers, closeConnection);
}

/** Reads the whole body, refusing more than `limit` bytes (by Content-Length up front, or as it
 * streams for chunked bodies). Must be called before the handler returns. */
export function readBody(exchange: Exchange, contentLength: string, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = contentLength === '' ? undefined : Number(contentLength);
    if (declared !== undefined && declared > limit) {
      reject(new OctowayError('BODY_TOO_LARGE', `request body of ${declared} bytes is larger than WS_MAX_BODY (${limit} bytes)`));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    exchange.res.onData((chunk, isLast) => {
      if (done) return;
      size += chunk.byteLength;
      if (size > limit) {
        done = true;
        reject(new OctowayError('BODY_TOO_LARGE', `request body is larger than WS_MAX_BODY (${limit} bytes)`));
        return;
      }
      // The ArrayBuffer is only valid during this callback: copy it.
      chunks.push(Buffer.from(new Uint8Array(chunk)));
      if (isLast) {
        done = true;
        resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size));
      }
    });
  });
}
