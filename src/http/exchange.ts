// One HTTP request/response pair on uWS: abort tracking, body reading with a bound, JSON replies.
// uWS invalidates HttpRequest when the handler returns and throws on writes to an aborted
// response, so every handler copies what it needs first and writes only through reply().
import { STATUS_CODES } from 'node:http';
import type { HttpRequest, HttpResponse } from 'uWebSockets.js';
import { isOctowayError, OctowayError, type ErrorCode } from '../errors.js';
import type { Logger } from '../log.js';
import { WEBSOCKET_VERSION } from '../socket/handshake.js';

export interface Exchange {
  readonly res: HttpResponse;
  /** A HEAD request: answered with GET's status and headers, and no body (RFC 9110 §9.3.2). */
  readonly head: boolean;
  aborted: boolean;
  /** Told the code of every error answered (replyError): the metrics' count of refusals by code. */
  readonly refused: RefusalCount;
}

export type RefusalCount = (code: ErrorCode) => void;

export function begin(res: HttpResponse, head: boolean, refused: RefusalCount): Exchange {
  const exchange: Exchange = { res, head, aborted: false, refused };
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
  /** Write the answer but leave the response open, for refuseAndLinger to end. */
  readonly linger?: boolean;
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
  // Written as one chunk of a chunked response, so the response can stay open while the unread
  // body is drained; Connection: close tells the client this connection ends with it.
  if (options?.linger === true) res.writeHeader('Connection', 'close').write(text);
  else if (!head) res.end(text, close);
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

/** The one place an error becomes an HTTP answer, for the API and for refused upgrades alike:
 * `{error, message}` with the error's status and the headers it calls for. Anything not an
 * OctowayError is logged (it is a bug) and answered as INTERNAL_ERROR without its details. */
export function replyError(exchange: Exchange, err: unknown, log: Logger, options?: Omit<ReplyOptions, 'headers'>): void {
  let error: OctowayError;
  if (isOctowayError(err)) {
    error = err;
  } else {
    log.error({ err }, 'unexpected error while handling a request');
    error = new OctowayError('INTERNAL_ERROR');
  }
  exchange.refused(error.code);
  const headers: Record<string, string> = {};
  if (error.retryAfter !== undefined) headers['Retry-After'] = String(error.retryAfter);
  if (error.allow !== undefined) headers['Allow'] = error.allow;
  if (error.challenge !== undefined) headers['WWW-Authenticate'] = error.challenge;
  else if (error.code === 'UNAUTHORIZED') headers['WWW-Authenticate'] = 'Basic realm="octoway", charset="UTF-8"';
  // RFC 6455 §4.4: a version refusal names the versions the server speaks.
  if (error.code === 'UNSUPPORTED_WEBSOCKET_VERSION') headers['Sec-WebSocket-Version'] = WEBSOCKET_VERSION;
  reply(exchange, error.status, error.toJSON(), { ...options, headers });
}

/** Past the body limit the answer is written at once, then the rest of the body is read and
 * discarded (up to this many more bytes, for at most LINGER_MS) before the connection closes, as
 * nginx's lingering close does. Closing with the body unread makes the kernel answer the client's
 * next segments with a reset, and clients still uploading (Node's http, Python's requests) then
 * report EPIPE or ECONNRESET instead of reading the 413. */
const LINGER_BYTES = 64 * 1024 * 1024;
const LINGER_MS = 5_000;

/** Reads the whole body, refusing more than `limit` bytes (by Content-Length up front, or as it
 * streams for chunked bodies). Must be called before the handler returns.
 *
 * `onBody` runs inside the uWS onData callback that delivers the last chunk, so a handler that
 * answers there (with reply, not `later`) is corked by uWS and needs no promise. The Buffer is
 * valid only during that call: a single-chunk body is a view of uWS's own memory, not a copy.
 * A body over `limit` is answered here: 413 BODY_TOO_LARGE with a lingering close (see
 * LINGER_BYTES). Nothing runs for a request whose client went away mid-body: uWS then stops
 * calling onData and drops it. */
export function readBody(exchange: Exchange, contentLength: string, limit: number, onBody: (body: Buffer) => void, log: Logger): void {
  const declared = contentLength === '' ? undefined : Number(contentLength);
  if (declared !== undefined && declared > limit) {
    const err = new OctowayError('BODY_TOO_LARGE', `request body of ${declared} bytes is larger than WS_MAX_BODY (${limit} bytes)`);
    return refuseAndLinger(exchange, err, log);
  }
  let chunks: Buffer[] | undefined;
  let size = 0;
  exchange.res.onData((chunk, isLast) => {
    size += chunk.byteLength;
    if (size > limit) {
      chunks = undefined;
      refuseAndLinger(exchange, new OctowayError('BODY_TOO_LARGE', `request body is larger than WS_MAX_BODY (${limit} bytes)`), log, isLast);
      return;
    }
    if (isLast) {
      // The usual case, one chunk: read in place, no copy.
      if (chunks === undefined) return onBody(Buffer.from(chunk));
      chunks.push(Buffer.from(chunk));
      return onBody(Buffer.concat(chunks, size));
    }
    // uWS reuses the ArrayBuffer after this callback: keep a copy.
    (chunks ??= []).push(Buffer.from(new Uint8Array(chunk)));
  });
}

/** Answers `err` now (a chunked response with Connection: close, left open), then reads and drops
 * the rest of the body (replacing any onData handler). Once the body is over the response is ended
 * and the client, told Connection: close, closes the connection (uWS 20.30 cannot end a response
 * begun with write() and close as well: it writes the Connection header again into the body; and
 * an idle connection is closed by uWS's 10-second HTTP timeout anyway). Past LINGER_BYTES or
 * LINGER_MS the connection is closed at once: the client has had the status and the error.
 * `bodyOver`: the last chunk has already been read. Called from a uWS callback of this request. */
function refuseAndLinger(exchange: Exchange, err: OctowayError, log: Logger, bodyOver = false): void {
  replyError(exchange, err, log, { linger: true });
  let discarded = 0;
  let timer: NodeJS.Timeout | undefined;
  const finish = (complete: boolean): void => {
    clearTimeout(timer);
    timer = undefined;
    if (exchange.aborted) return;
    exchange.aborted = true; // ended or closed: uWS must not be called for this response again
    if (complete) exchange.res.cork(() => exchange.res.end());
    else exchange.res.close();
  };
  if (bodyOver) return finish(true);
  timer = setTimeout(() => finish(false), LINGER_MS);
  timer.unref();
  exchange.res.onData((chunk, isLast) => {
    if (timer === undefined) return;
    discarded += chunk.byteLength;
    if (isLast) finish(true);
    else if (discarded > LINGER_BYTES) finish(false);
  });
}

/** Answers `status` with the work's result, or its error through replyError, once it settles. */
export function answer(exchange: Exchange, work: Promise<unknown>, status: number, log: Logger): void {
  work.then(
    (result) => reply(exchange, status, result, { later: true }),
    (err: unknown) => replyError(exchange, err, log, { later: true }),
  );
}

/** 405 METHOD_NOT_ALLOWED with its Allow header (`allow`: "GET, HEAD", …). */
export function methodNotAllowed(allow: string): OctowayError {
  return new OctowayError('METHOD_NOT_ALLOWED', `method not allowed; allowed: ${allow}`, { allow });
}

/** Throws INVALID_QUERY for a parameter not in `allowed`, or one given twice: a mistyped selector
 * must not widen what an endpoint does (`DELETE /?ID=x` once removed every held message). */
export function checkParameters(query: URLSearchParams, allowed: readonly string[]): void {
  const seen = new Set<string>();
  for (const name of query.keys()) {
    if (!allowed.includes(name)) throw new OctowayError('INVALID_QUERY', `unknown query parameter ${JSON.stringify(name.slice(0, 100))}; this endpoint takes ${allowed.map((a) => `"${a}"`).join(' and ')}`);
    if (seen.has(name)) throw new OctowayError('INVALID_QUERY', `query parameter "${name}" is given twice`);
    seen.add(name);
  }
}

/** The TCP peer of a uWS request or upgrade, an IPv4-mapped IPv6 address written as IPv4. */
export function peerAddress(res: HttpResponse): string {
  const text = Buffer.from(res.getRemoteAddressAsText()).toString();
  return text.startsWith('::ffff:') ? text.slice(7) : text;
}
