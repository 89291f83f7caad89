// One HTTP request/response pair on uWS: abort tracking, body reading with a bound, JSON replies.
// uWS invalidates HttpRequest when the handler returns and throws on writes to an aborted
// response, so every handler copies what it needs first and writes only through reply().
import { STATUS_CODES } from 'node:http';
import type { HttpRequest, HttpResponse } from 'uWebSockets.js';
import { isOctowayError, OctowayError } from '../errors.js';
import type { Logger } from '../log.js';

export interface Exchange {
  readonly res: HttpResponse;
  /** A HEAD request: answered with GET's status and headers, and no body (RFC 9110 §9.3.2). */
  readonly head: boolean;
  aborted: boolean;
}

export function begin(res: HttpResponse, head: boolean): Exchange {
  const exchange: Exchange = { res, head, aborted: false };
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
  if (options?.later === true) exchange.res.cork(() => write(exchange, status, text, options));
  else write(exchange, status, text, options);
}

function write({ res, head }: Exchange, status: number, text: string, options: ReplyOptions | undefined): void {
  res.writeStatus(statusLine(status)).writeHeader('Content-Type', 'application/json');
  const headers = options?.headers;
  if (headers !== undefined) for (const name in headers) res.writeHeader(name, headers[name] as string);
  const close = options?.close === true;
  if (!head) res.end(text, close);
  // A body after a HEAD answer would be read as the start of the next response. uWS 20.30's
  // endWithoutBody(length, …) writes nothing and drops the connection, so the length is written
  // here and endWithoutBody() called bare. To close as well, end() with no body, which announces
  // Content-Length: 0 (harmless: nothing follows on that connection).
  else if (close) res.end(undefined, true);
  else res.writeHeader('Content-Length', String(Buffer.byteLength(text))).endWithoutBody();
}

/** Whether the request repeats Content-Length with different values, which makes its body's
 * length ambiguous (RFC 9112 §6.3: answer 400 and close). uWS reads only the first one, so a proxy
 * in front that read another would see a different request boundary: request smuggling.
 * Identical repeats are one value (RFC 9110 §8.6). Costs a walk over the headers, so callers
 * make it only for requests that declare a Content-Length. */
export function hasConflictingContentLength(req: HttpRequest, first: string): boolean {
  let conflicting = false;
  req.forEach((name, value) => {
    if (name === 'content-length' && value !== first) conflicting = true;
  });
  return conflicting;
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
  if (error.challenge !== undefined) headers['WWW-Authenticate'] = error.challenge;
  else if (error.code === 'UNAUTHORIZED') headers['WWW-Authenticate'] = 'Basic realm="octoway", charset="UTF-8"';
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
