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

/** Status lines by code, built once: one is written per request. */
const statusLines = new Map<number, string>();

export function statusLine(status: number): string {
  let line = statusLines.get(status);
  if (line === undefined) statusLines.set(status, (line = `${status} ${STATUS_CODES[status] ?? ''}`));
  return line;
}

export interface ReplyOptions {
  readonly headers?: Readonly<Record<string, string>>;
  /** Close the connection after the answer (its request body was left unread). */
  readonly close?: boolean;
  /** Set when answering from a promise continuation rather than from a uWS callback of this
   * request (the route handler, onData): the writes are then corked by hand, so the status, headers
   * and body still leave in one write. Inside a uWS callback uWS corks them itself. */
  readonly later?: boolean;
}

/** Answers with `body` as JSON, unless the client is gone. */
export function reply(exchange: Exchange, status: number, body: unknown, options?: ReplyOptions): void {
  if (exchange.aborted) return;
  const text = JSON.stringify(body);
  if (options?.later === true) exchange.res.cork(() => write(exchange.res, status, text, options));
  else write(exchange.res, status, text, options);
}

function write(res: HttpResponse, status: number, text: string, options: ReplyOptions | undefined): void {
  res.writeStatus(statusLine(status)).writeHeader('Content-Type', 'application/json');
  const headers = options?.headers;
  if (headers !== undefined) for (const name in headers) res.writeHeader(name, headers[name] as string);
  res.end(text, options?.close === true);
}

/** Replies `{error, message}` with the error's status; anything not an OctowayError is logged
 * (it is a bug) and answered as INTERNAL_ERROR without its details. */
export function replyError(exchange: Exchange, err: unknown, log: Logger, options?: Omit<ReplyOptions, 'headers'>): void {
  let error: OctowayError;
  if (isOctowayError(err)) {
    error = err;
  } else {
    log.error({ err }, 'unexpected error while handling a request');
    error = new OctowayError('INTERNAL_ERROR');
  }
  const headers: Record<string, string> = {};
  if (error.retryAfter !== undefined) headers['Retry-After'] = String(error.retryAfter);
  if (error.allow !== undefined) headers['Allow'] = error.allow;
  if (error.code === 'UNAUTHORIZED') headers['WWW-Authenticate'] = 'Basic realm="octoway", charset="UTF-8"';
  reply(exchange, error.status, error.toJSON(), { ...options, headers });
}

/** Reads the whole body, refusing more than `limit` bytes (by Content-Length up front, or as it
 * streams for chunked bodies). Must be called before the handler returns.
 *
 * `onBody` runs inside the uWS onData callback that delivers the last chunk, so a handler that
 * answers there (with reply, not `later`) is corked by uWS and needs no promise. The Buffer is
 * valid only during that call: a single-chunk body is a view of uWS's own memory, not a copy.
 * `onTooLarge` runs once instead, from the route handler or from onData. Neither runs for a
 * request whose client went away mid-body: uWS then stops calling onData and drops it. */
export function readBody(
  exchange: Exchange,
  contentLength: string,
  limit: number,
  onBody: (body: Buffer) => void,
  onTooLarge: (err: OctowayError) => void,
): void {
  const declared = contentLength === '' ? undefined : Number(contentLength);
  if (declared !== undefined && declared > limit) {
    onTooLarge(new OctowayError('BODY_TOO_LARGE', `request body of ${declared} bytes is larger than WS_MAX_BODY (${limit} bytes)`));
    return;
  }
  let chunks: Buffer[] | undefined;
  let size = 0;
  let done = false;
  exchange.res.onData((chunk, isLast) => {
    if (done) return;
    size += chunk.byteLength;
    if (size > limit) {
      done = true;
      chunks = undefined;
      onTooLarge(new OctowayError('BODY_TOO_LARGE', `request body is larger than WS_MAX_BODY (${limit} bytes)`));
      return;
    }
    if (isLast) {
      done = true;
      // The usual case, one chunk: read in place, no copy.
      if (chunks === undefined) return onBody(Buffer.from(chunk));
      chunks.push(Buffer.from(chunk));
      return onBody(Buffer.concat(chunks, size));
    }
    // uWS reuses the ArrayBuffer after this callback: keep a copy.
    (chunks ??= []).push(Buffer.from(new Uint8Array(chunk)));
  });
}
