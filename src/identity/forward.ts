// Forward auth (WS_AUTH_URL): asks an HTTP backend about each upgrade and maps its answer to an
// identity through the exporter. The decision cache and the WS_WORKERS gate wrap it (pipeline.ts).
// This runs once per upgrade, so it is kept lean: one undici dispatch per call with a handler that
// is also the call's state (no stream, no per-call timer or AbortController: one shared sweep
// enforces the deadline, so undici keeps no timer per request either), no per-call Set entries
// (the calls under way are a list threaded through the calls themselves), and nothing logged on
// success. What a call in flight keeps alive matters: in a burst of upgrades it is what survives
// into V8's old space as garbage.
import type { Logger } from 'pino';
import { Pool } from 'undici';
import type { Dispatcher } from 'undici';
import { OctowayError, type ErrorCode } from '../errors.js';
import { clientGone, type AuthResult, type Authenticator, type CancelSignal, type UpgradeRequest } from './authenticator.js';
import { credentialKey } from './cache.js';
import { ExportShapeError, normalizeExport, type ExportResult, type Exporter } from './exporters.js';
import { createHeaderBuilder } from './headers.js';
import { identityFrom } from './identity.js';
import { createProxyMatcher } from './proxies.js';

export interface ForwardOptions {
  readonly url: URL;
  readonly timeoutMs: number;
  /** Connections to the backend: the gate's WS_WORKERS, so no call waits inside undici. */
  readonly connections: number;
  readonly forwardHeaders: readonly string[];
  readonly trustedProxies: readonly string[];
  readonly exporter: Exporter;
}

export interface ForwardAuthenticator extends Authenticator {
  /** A hash of what the backend's answer may depend on (cookies, Authorization, the URI, Origin, the
   * client's address, forwarded headers), for the decision cache; holds no credential in the clear. */
  cacheKey(request: UpgradeRequest): string;
}

/** An auth answer is a small JSON document; anything bigger is a misconfigured URL or an attack. */
const MAX_BODY_BYTES = 64 * 1024;
/** Error bodies up to this size are read and dropped so the connection stays pooled; past it, closing
 * the connection is cheaper than reading on. */
const MAX_DISCARD_BYTES = 256 * 1024;
/** Seconds a client is told to wait when the backend gives no usable Retry-After. */
const DEFAULT_RETRY_AFTER = 2;
const MAX_RETRY_AFTER = 300;
/** Our code for a whole exchange that outran WS_AUTH_TIMEOUT (see the sweep). */
const DEADLINE_CODE = 'OCTOWAY_AUTH_DEADLINE';
/** Codes that mean the backend was too slow: undici's connect timeout, its per-phase ones (unused
 * here, kept should they be set again), and our overall deadline. */
const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', DEADLINE_CODE]);
/** The deadline is checked this many times per WS_AUTH_TIMEOUT, so a call may run up to 1 + 1/N of
 * it in total (a connection attempt is bounded by undici's own connect timeout, on time). */
const DEADLINE_CHECKS_PER_TIMEOUT = 4;

/** What every call shares; built once. */
interface Shared {
  readonly pool: Pool;
  readonly path: string;
  readonly exporter: Exporter;
  readonly timeoutMs: number;
  readonly logger: Logger;
  /** Calls whose HTTP exchange is under way, oldest first, for the deadline; at most WS_WORKERS. */
  readonly exchanging: CallList;
  /** Calls started and not yet settled. */
  active: number;
}

/** A doubly-linked list threaded through the calls (their prev/next fields): adding and removing
 * allocate nothing, where a Set grew and shrank its table as a burst of calls came and went. */
class CallList {
  head: Call | undefined;
  private tail: Call | undefined;

  add(call: Call): void {
    call.prev = this.tail;
    call.next = undefined;
    if (this.tail === undefined) this.head = call;
    else this.tail.next = call;
    this.tail = call;
    call.listed = true;
  }

  /** Safe to call for a call not in the list. */
  delete(call: Call): void {
    if (!call.listed) return;
    call.listed = false;
    if (call.prev === undefined) this.head = call.next;
    else call.prev.next = call.next;
    if (call.next === undefined) this.tail = call.prev;
    else call.next.prev = call.prev;
    call.prev = undefined;
    call.next = undefined;
  }
}

export function createForwardAuthenticator(options: ForwardOptions, logger: Logger): ForwardAuthenticator {
  const buildHeaders = createHeaderBuilder(options.forwardHeaders, createProxyMatcher(options.trustedProxies));
  // Tokens can ride in the query, so the URI is part of the credentials. Origin and the client's
  // address (X-Forwarded-For ends with it) are too: a backend may refuse other sites or networks,
  // and an answer given to the app's own page must not be reused for another site's.
  const keyNames = ['cookie', 'authorization', 'origin', 'x-forwarded-for', ...buildHeaders.extraNames, 'x-forwarded-uri'];
  const pool = new Pool(options.url.origin, {
    // One call per connection at a time, and as many connections as the gate lets calls run: no
    // call waits inside undici, so its timeouts below measure the backend only.
    connections: Math.max(1, options.connections),
    pipelining: 1,
    connect: { timeout: options.timeoutMs },
    // No per-request timers (undici's would be one object and one refresh per call): the sweep below
    // bounds the whole exchange, response headers and a body trickled in one byte at a time alike.
    headersTimeout: 0,
    bodyTimeout: 0,
  });
  const exchanging = new CallList();
  let closed = false;
  const sweep = setInterval(() => {
    const now = performance.now();
    // Oldest first: the first call still within its time ends the walk.
    for (let call = exchanging.head; call !== undefined; ) {
      const next = call.next;
      if (now - call.startedAt <= options.timeoutMs) break;
      call.deadlinePassed();
      call = next;
    }
  }, Math.max(10, Math.ceil(options.timeoutMs / DEADLINE_CHECKS_PER_TIMEOUT)));
  sweep.unref();

  const shared: Shared = {
    pool,
    path: options.url.pathname + options.url.search,
    exporter: options.exporter,
    timeoutMs: options.timeoutMs,
    logger,
    exchanging,
    active: 0,
  };

  return {
    authenticate(request, signal) {
      if (closed) return Promise.resolve(fail('SHUTTING_DOWN'));
      if (signal.aborted) return Promise.resolve(clientGone());
      const call = new Call(shared, request, buildHeaders(request), signal);
      call.start();
      return call.promise;
    },
    cacheKey: (request) => credentialKey(buildHeaders(request), keyNames),
    load: {
      get waiting() { return 0; },
      get inFlight() { return shared.active; },
    },
    async close() {
      closed = true;
      clearInterval(sweep);
      await pool.close();
    },
  };
}

/** One backend call: its promise, its undici handler (legacy callbacks, which undici 7 calls without
 * a wrapper) and its client-abort listener (handleEvent) in one object. Settles exactly once. */
class Call implements Dispatcher.DispatchHandler {
  readonly promise: Promise<AuthResult>;
  private settled = false;
  private resolve!: (result: AuthResult) => void;
  private abortRequest: ((err?: Error) => void) | undefined;
  private status = 0;
  /** The decision an error status stands for, known from its headers. */
  private decided: AuthResult | undefined;
  private body: Buffer | undefined;
  private chunks: Buffer[] | undefined;
  private size = 0;
  /** performance.now() when the HTTP exchange began, for the overall deadline. */
  startedAt = 0;
  /** Its place in Shared.exchanging (see CallList). */
  prev: Call | undefined = undefined;
  next: Call | undefined = undefined;
  listed = false;

  constructor(
    private readonly shared: Shared,
    private readonly request: UpgradeRequest,
    private readonly headers: Record<string, string>,
    private readonly signal: CancelSignal,
  ) {
    this.promise = new Promise((resolve) => { this.resolve = resolve; });
    signal.addEventListener('abort', this, { once: true });
  }

  start(): void {
    this.startedAt = performance.now();
    this.shared.active++;
    this.shared.exchanging.add(this);
    // Errors, synchronous ones included, come back through onError.
    this.shared.pool.dispatch({ path: this.shared.path, method: 'GET', headers: this.headers }, this);
  }

  /** The client went away: the result is no longer wanted and the slot is freed now. */
  handleEvent(): void {
    // Settled first, so the abort's own onError finds nothing left to report.
    this.settle(clientGone());
    this.abortRequest?.();
  }

  settle(result: AuthResult): void {
    if (this.settled) return;
    this.settled = true;
    this.shared.exchanging.delete(this);
    this.shared.active--;
    this.signal.removeEventListener('abort', this);
    this.resolve(result);
  }

  onConnect(abort: (err?: Error) => void): void {
    if (this.settled) abort();
    else this.abortRequest = abort;
  }

  onHeaders(status: number, rawHeaders: Buffer[]): boolean {
    this.status = status;
    if (status >= 200 && status < 300) {
      if (Number(header(rawHeaders, 'content-length')) > MAX_BODY_BYTES) this.refuseBody();
      return true;
    }
    const { logger } = this.shared;
    if (status === 401) this.decided = decision('AUTH_DENIED');
    else if (status === 403) this.decided = decision('AUTH_FORBIDDEN');
    else if (status === 429 || (status >= 500 && status < 600)) {
      logger.warn({ status }, 'auth backend unavailable');
      this.decided = fail('AUTH_BACKEND_UNAVAILABLE', { retryAfter: retryAfter(header(rawHeaders, 'retry-after')) });
    } else if (status === 404) {
      // A wrong WS_AUTH_URL, not a judgement on this client: the operator must see it as such.
      logger.error({ status, code: 'AUTH_BACKEND_NOT_FOUND' }, 'auth backend answered 404: check WS_AUTH_URL');
      this.decided = fail('AUTH_BACKEND_NOT_FOUND');
    } else if (status >= 400 && status < 500) {
      logger.warn({ status }, 'auth backend answered with an unexpected client error');
      this.decided = fail('AUTH_FORBIDDEN');
    } else {
      logger.warn({ status }, 'auth backend answered with a redirect or an unknown status');
      this.decided = fail('AUTH_BACKEND_INVALID');
    }
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.size += chunk.length;
    if (this.decided !== undefined) {
      // An error body is read and dropped so the connection stays pooled, up to a point.
      if (this.size > MAX_DISCARD_BYTES) {
        this.settle(this.decided);
        this.abortRequest?.();
      }
      return true;
    }
    if (this.size > MAX_BODY_BYTES) {
      this.refuseBody();
      return true;
    }
    if (this.body === undefined) this.body = chunk;
    else (this.chunks ??= [this.body]).push(chunk);
    return true;
  }

  onComplete(): void {
    if (this.settled) return;
    // The exchange is over; an exporter promise has its own bound below.
    this.shared.exchanging.delete(this);
    if (this.decided !== undefined) return this.settle(this.decided);
    const body = parseJson(this.chunks === undefined ? this.body : Buffer.concat(this.chunks, this.size));
    if (body === undefined) return this.invalidBody();
    let exported: ExportResult | Promise<ExportResult>;
    try {
      exported = this.shared.exporter(body.value, this.request);
    } catch (err) {
      return this.exporterFailed(err);
    }
    if (!(exported instanceof Promise)) return this.exported(exported);
    // A module exporter that never settles would hold this call's WS_WORKERS slot until the client
    // gave up, so it is bounded too: by WS_AUTH_TIMEOUT of its own, after the HTTP call's.
    const timer = setTimeout(() => this.exporterFailed(new ExporterTimeout()), this.shared.timeoutMs);
    // Neither handler can throw (exported and exporterFailed catch what an exporter's odd values
    // could throw), so this chain cannot end in an unhandled rejection.
    exported.then(
      (out) => { clearTimeout(timer); if (!this.settled) this.exported(out); },
      (err: unknown) => { clearTimeout(timer); if (!this.settled) this.exporterFailed(err); },
    );
  }

  onError(err: Error): void {
    if (!this.settled) this.unavailable(errorCode(err));
  }

  /** The whole exchange took longer than WS_AUTH_TIMEOUT (a body trickling in, say). */
  deadlinePassed(): void {
    this.unavailable(DEADLINE_CODE);
    // Closes the connection: what is left of this answer must not be read as the next one's.
    this.abortRequest?.();
  }

  /** The backend was too slow or could not be reached; logged by code only. */
  private unavailable(code: string): void {
    const { logger, timeoutMs } = this.shared;
    if (TIMEOUT_CODES.has(code)) logger.warn({ timeoutMs, code }, 'auth backend timed out');
    else logger.warn({ code }, 'auth backend unreachable');
    this.settle(fail('AUTH_BACKEND_UNAVAILABLE', { retryAfter: DEFAULT_RETRY_AFTER }));
  }

  /** Aborting closes the connection instead of reading on. */
  private refuseBody(): void {
    this.invalidBody();
    this.abortRequest?.();
  }

  private invalidBody(): void {
    this.shared.logger.warn({ status: this.status }, 'auth backend answered with a body that is not JSON or is too large');
    this.settle(fail('AUTH_BACKEND_INVALID'));
  }

  private exported(output: ExportResult): void {
    let identity: ReturnType<typeof identityFrom>;
    try {
      identity = identityFrom(normalizeExport(output), this.shared.logger);
    } catch (err) {
      return this.exporterFailed(err);
    }
    if (identity instanceof OctowayError) return this.settle({ ok: false, error: identity, decision: identity.code === 'AUTH_NO_KEYS' });
    this.settle({ ok: true, identity });
  }

  private exporterFailed(err: unknown): void {
    this.shared.logger.error({ exporterError: describeFailure(err) }, 'auth exporter failed');
    this.settle(fail('EXPORTER_FAILED'));
  }
}

/** What is logged of an exporter's failure. A module exporter's own message may quote the auth body,
 * so only our own errors are logged whole. Never throws: an exporter may throw anything, a revoked
 * Proxy included, on which even instanceof throws. */
function describeFailure(err: unknown): string {
  try {
    if (err instanceof ExportShapeError || err instanceof ExporterTimeout) return err.message;
    return err instanceof Error ? String(err.name) : typeof err;
  } catch {
    return 'an unreadable value';
  }
}

class ExporterTimeout extends Error {
  override readonly name = 'ExporterTimeout';
  constructor() {
    super('the exporter did not settle within WS_AUTH_TIMEOUT');
  }
}

/** A response header's value from undici's raw [name, value, …] list; names compared without case. */
function header(raw: Buffer[], name: string): string | undefined {
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const n = raw[i] as Buffer;
    if (n.length === name.length && n.toString('latin1').toLowerCase() === name) return (raw[i + 1] as Buffer).toString('latin1');
  }
  return undefined;
}

/** The parsed body, or undefined when it is not JSON. */
function parseJson(body: Buffer | undefined): { value: unknown } | undefined {
  try {
    return { value: JSON.parse(body === undefined ? '' : body.toString('utf8')) as unknown };
  } catch (err) {
    if (err instanceof SyntaxError) return undefined;
    throw err;
  }
}

/** Seconds from a numeric Retry-After within reason; dates and nonsense get the default. */
function retryAfter(value: string | undefined): number {
  if (value === undefined || !/^\s*\d{1,6}\s*$/.test(value)) return DEFAULT_RETRY_AFTER;
  const seconds = Number(value);
  return seconds <= MAX_RETRY_AFTER ? Math.max(1, seconds) : DEFAULT_RETRY_AFTER;
}

function fail(code: ErrorCode, options?: { retryAfter?: number }): AuthResult {
  return { ok: false, error: new OctowayError(code, undefined, options) };
}

/** A refusal that is the backend's judgement of these credentials: the decision cache may reuse it. */
function decision(code: ErrorCode): AuthResult {
  return { ok: false, error: new OctowayError(code), decision: true };
}

function errorCode(err: unknown): string {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string') return err.code;
  return err instanceof Error ? err.name : typeof err;
}
