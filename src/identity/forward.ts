// Forward auth (WS_AUTH_URL): asks an HTTP backend about each upgrade and maps its answer to keys.
// This runs once per upgrade, so it is kept lean: one undici dispatch per call with a handler that
// is also the call's state (no stream, no per-call timer or AbortController: one shared sweep
// enforces the overall deadline), a counter and a FIFO in place of a queue library, and nothing
// logged on success.
import type { Logger } from 'pino';
import { Pool } from 'undici';
import type { Dispatcher } from 'undici';
import { OctowayError, type ErrorCode } from '../errors.js';
import type { AuthResult, Authenticator, CancelSignal, UpgradeRequest } from './authenticator.js';
import { createAuthCache, credentialKey, type AuthCache } from './cache.js';
import { ExportShapeError, normalizeExport, type ExportResult, type Exporter } from './exporters.js';
import { createHeaderBuilder } from './headers.js';
import { MAX_KEY_LENGTH, MAX_KEYS_PER_SOCKET, socketKeysLimit } from '../delivery/routing-key.js';
import { createProxyMatcher } from './proxies.js';

export interface ForwardAuthOptions {
  readonly url: URL;
  readonly timeoutMs: number;
  readonly workers: number;
  readonly queueLimit: number;
  readonly forwardHeaders: readonly string[];
  readonly trustedProxies: readonly string[];
  readonly cacheTtlMs: number;
  readonly cacheNegativeTtlMs: number;
  readonly cacheMax: number;
  readonly exporter: Exporter;
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
/** Codes that mean the backend was too slow: undici's per phase (connect, response headers, a
 * stalled body), and our overall deadline. */
const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', DEADLINE_CODE]);
/** The overall deadline is checked this many times per WS_AUTH_TIMEOUT, so a call may run up to
 * 1 + 1/N of it in total; undici's per-phase timeouts above still fire on time. */
const DEADLINE_CHECKS_PER_TIMEOUT = 4;

/** What every call shares; built once. */
interface Shared {
  readonly pool: Pool;
  readonly path: string;
  readonly exporter: Exporter;
  readonly cache: AuthCache | undefined;
  readonly timeoutMs: number;
  readonly logger: Logger;
  /** Calls whose HTTP exchange is under way, for the overall deadline; at most WS_WORKERS. */
  readonly exchanging: Set<Call>;
  /** Called once per call when it settles, with the state it left: frees its place or slot. */
  readonly release: (was: CallState) => void;
}

export function createForwardAuthenticator(options: ForwardAuthOptions, logger: Logger): Authenticator {
  const buildHeaders = createHeaderBuilder(options.forwardHeaders, createProxyMatcher(options.trustedProxies));
  // Tokens can ride in the query, so the URI is part of the credentials. Origin and the client's
  // address (X-Forwarded-For ends with it) are too: a backend may refuse other sites or networks,
  // and an answer given to the app's own page must not be reused for another site's.
  const keyNames = ['cookie', 'authorization', 'origin', 'x-forwarded-for', ...buildHeaders.extraNames, 'x-forwarded-uri'];
  const cache = createAuthCache({ ttlMs: options.cacheTtlMs, negativeTtlMs: options.cacheNegativeTtlMs, max: options.cacheMax });
  const workers = Math.max(1, options.workers);
  const pool = new Pool(options.url.origin, {
    // One call per connection at a time, and as many connections as calls in flight: no call waits
    // inside undici, so its timeouts below measure the backend only.
    connections: workers,
    pipelining: 1,
    connect: { timeout: options.timeoutMs },
    headersTimeout: options.timeoutMs,
    bodyTimeout: options.timeoutMs,
  });
  const waiting = new Waitlist();
  const exchanging = new Set<Call>();
  let inFlight = 0;
  let closed = false;
  // undici bounds each phase (connect, headers, each gap in the body), so a body trickled in one
  // byte at a time could hold a slot for ever; this sweep bounds the whole exchange.
  const sweep = setInterval(() => {
    const now = performance.now();
    for (const call of exchanging) if (now - call.startedAt > options.timeoutMs) call.deadlinePassed();
  }, Math.max(10, Math.ceil(options.timeoutMs / DEADLINE_CHECKS_PER_TIMEOUT)));
  sweep.unref();

  const shared: Shared = {
    pool,
    path: options.url.pathname + options.url.search,
    exporter: options.exporter,
    cache,
    timeoutMs: options.timeoutMs,
    logger,
    exchanging,
    release(was) {
      if (was === QUEUED) waiting.size--;
      if (was !== RUNNING) return;
      inFlight--;
      if (closed) return;
      // A freed slot goes to the longest waiting call, at once.
      const next = waiting.shift();
      if (next !== undefined) start(next);
    },
  };

  const start = (call: Call): void => {
    inFlight++;
    call.start();
  };

  function authenticate(request: UpgradeRequest, signal: CancelSignal): Promise<AuthResult> {
    if (closed) return Promise.resolve(fail('SHUTTING_DOWN'));
    const headers = buildHeaders(request);
    const key = cache === undefined ? undefined : credentialKey(headers, keyNames);
    const hit = key === undefined ? undefined : cache?.get(key);
    if (hit !== undefined) return Promise.resolve(hit);
    if (signal.aborted) return Promise.resolve(clientGone());
    if (inFlight < workers) {
      const call = new Call(shared, request, headers, key, signal);
      start(call);
      return call.promise;
    }
    if (waiting.size >= options.queueLimit) {
      logger.debug({ waiting: waiting.size }, 'auth queue full');
      return Promise.resolve(fail('AUTH_QUEUE_FULL', { retryAfter: 1 }));
    }
    const call = new Call(shared, request, headers, key, signal);
    waiting.push(call);
    return call.promise;
  }

  return {
    authenticate,
    load: {
      get waiting() { return waiting.size; },
      get inFlight() { return inFlight; },
    },
    async close() {
      closed = true;
      clearInterval(sweep);
      for (let call = waiting.shift(); call !== undefined; call = waiting.shift()) call.settle(fail('SHUTTING_DOWN'), false);
      await pool.close();
    },
  };
}

/** NEW: not yet started or queued (or just taken off the queue); QUEUED: waiting for a slot;
 * RUNNING: holds a slot; SETTLED: resolved, holds nothing. */
const NEW = 0;
const QUEUED = 1;
const RUNNING = 2;
const SETTLED = 3;
type CallState = typeof NEW | typeof QUEUED | typeof RUNNING | typeof SETTLED;

/** One backend call: its promise, its undici handler (legacy callbacks, which undici 7 calls without
 * a wrapper) and its client-abort listener (handleEvent) in one object. Settles exactly once. */
class Call implements Dispatcher.DispatchHandler {
  readonly promise: Promise<AuthResult>;
  state: CallState = NEW;
  private resolve!: (result: AuthResult) => void;
  private abortRequest: ((err?: Error) => void) | undefined;
  private status = 0;
  /** The decision an error status stands for, known from its headers. */
  private decided: AuthResult | undefined;
  private decidedCacheable = false;
  private body: Buffer | undefined;
  private chunks: Buffer[] | undefined;
  private size = 0;
  /** performance.now() when the HTTP exchange began, for the overall deadline. */
  startedAt = 0;

  constructor(
    private readonly shared: Shared,
    private readonly request: UpgradeRequest,
    private readonly headers: Record<string, string>,
    private readonly key: string | undefined,
    private readonly signal: CancelSignal,
  ) {
    this.promise = new Promise((resolve) => { this.resolve = resolve; });
    signal.addEventListener('abort', this, { once: true });
  }

  start(): void {
    this.state = RUNNING;
    this.startedAt = performance.now();
    this.shared.exchanging.add(this);
    // Errors, synchronous ones included, come back through onError.
    this.shared.pool.dispatch({ path: this.shared.path, method: 'GET', headers: this.headers }, this);
  }

  /** The client went away: the result is no longer wanted and the slot is freed now. */
  handleEvent(): void {
    // Settled first, so the abort's own onError finds nothing left to report.
    this.settle(clientGone(), false);
    this.abortRequest?.();
  }

  settle(result: AuthResult, cacheable: boolean): void {
    const was = this.state;
    if (was === SETTLED) return;
    this.state = SETTLED;
    this.shared.exchanging.delete(this);
    this.shared.release(was);
    this.signal.removeEventListener('abort', this);
    if (cacheable && this.key !== undefined) this.shared.cache?.set(this.key, result);
    this.resolve(result);
  }

  onConnect(abort: (err?: Error) => void): void {
    if (this.state === SETTLED) abort();
    else this.abortRequest = abort;
  }

  onHeaders(status: number, rawHeaders: Buffer[]): boolean {
    this.status = status;
    if (status >= 200 && status < 300) {
      if (Number(header(rawHeaders, 'content-length')) > MAX_BODY_BYTES) this.refuseBody();
      return true;
    }
    const { logger } = this.shared;
    if (status === 401) this.decide(fail('AUTH_DENIED'), true);
    else if (status === 403) this.decide(fail('AUTH_FORBIDDEN'), true);
    else if (status === 429 || (status >= 500 && status < 600)) {
      logger.warn({ status }, 'auth backend unavailable');
      this.decide(fail('AUTH_BACKEND_UNAVAILABLE', { retryAfter: retryAfter(header(rawHeaders, 'retry-after')) }), false);
    } else if (status >= 400 && status < 500) {
      // Usually a wrong WS_AUTH_URL rather than a judgement on this client.
      logger.warn({ status }, 'auth backend answered with an unexpected client error');
      this.decide(fail('AUTH_FORBIDDEN'), false);
    } else {
      logger.warn({ status }, 'auth backend answered with a redirect or an unknown status');
      this.decide(fail('AUTH_BACKEND_INVALID'), false);
    }
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.size += chunk.length;
    if (this.decided !== undefined) {
      // An error body is read and dropped so the connection stays pooled, up to a point.
      if (this.size > MAX_DISCARD_BYTES) {
        this.settle(this.decided, this.decidedCacheable);
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
    if (this.state === SETTLED) return;
    // The exchange is over; an exporter promise has its own bound below.
    this.shared.exchanging.delete(this);
    if (this.decided !== undefined) return this.settle(this.decided, this.decidedCacheable);
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
    exported.then(
      (out) => { clearTimeout(timer); if (this.state !== SETTLED) this.exported(out); },
      (err: unknown) => { clearTimeout(timer); if (this.state !== SETTLED) this.exporterFailed(err); },
    );
  }

  onError(err: Error): void {
    if (this.state !== SETTLED) this.unavailable(errorCode(err));
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
    this.settle(fail('AUTH_BACKEND_UNAVAILABLE', { retryAfter: DEFAULT_RETRY_AFTER }), false);
  }

  private decide(result: AuthResult, cacheable: boolean): void {
    this.decided = result;
    this.decidedCacheable = cacheable;
  }

  /** Aborting closes the connection instead of reading on. */
  private refuseBody(): void {
    this.invalidBody();
    this.abortRequest?.();
  }

  private invalidBody(): void {
    this.shared.logger.warn({ status: this.status }, 'auth backend answered with a body that is not JSON or is too large');
    this.settle(fail('AUTH_BACKEND_INVALID'), false);
  }

  private exported(output: ExportResult): void {
    let keys: string[];
    let claims: Record<string, unknown> | undefined;
    try {
      ({ keys, claims } = normalizeExport(output));
    } catch (err) {
      return this.exporterFailed(err);
    }
    if (keys.length === 0) return this.settle(fail('AUTH_NO_KEYS'), true);
    // A socket under a key no publish can reach would wait for ever: the backend's answer is wrong.
    const limit = socketKeysLimit(keys);
    if (limit !== undefined) {
      // The keys themselves are the user's identity: only their number and sizes are logged.
      const longest = keys.reduce((n, key) => Math.max(n, key.length), 0);
      this.shared.logger.warn({ limit, keys: keys.length, longest, maxKeys: MAX_KEYS_PER_SOCKET, maxKeyLength: MAX_KEY_LENGTH }, 'auth answer has keys past the routing-key limits');
      return this.settle(fail('AUTH_INVALID_KEYS'), false);
    }
    const result: AuthResult = claims === undefined
      ? { ok: true, keys: Object.freeze(keys) }
      : { ok: true, keys: Object.freeze(keys), claims: Object.freeze(claims) };
    this.settle(result, true);
  }

  private exporterFailed(err: unknown): void {
    // A module exporter's own message may quote the auth body, so only our own errors are logged whole.
    const detail = err instanceof ExportShapeError || err instanceof ExporterTimeout ? err.message : err instanceof Error ? err.name : typeof err;
    this.shared.logger.error({ exporterError: detail }, 'auth exporter failed');
    this.settle(fail('EXPORTER_FAILED'), false);
  }
}

class ExporterTimeout extends Error {
  override readonly name = 'ExporterTimeout';
  constructor() {
    super('the exporter did not settle within WS_AUTH_TIMEOUT');
  }
}

/** Calls waiting for a slot, oldest first. A call that leaves while waiting stays in the array,
 * settled, and is skipped when its turn comes; `size` counts only the QUEUED ones (the caller
 * lowers it when one of them settles). */
class Waitlist {
  private items: (Call | undefined)[] = [];
  private head = 0;
  size = 0;

  push(call: Call): void {
    call.state = QUEUED;
    this.items.push(call);
    this.size++;
  }

  /** The oldest QUEUED call, taken off the queue (state NEW again), or undefined. */
  shift(): Call | undefined {
    while (this.head < this.items.length) {
      const call = this.items[this.head];
      this.items[this.head++] = undefined;
      if (call !== undefined && call.state === QUEUED) {
        call.state = NEW;
        this.size--;
        this.compact();
        return call;
      }
    }
    this.compact();
    return undefined;
  }

  private compact(): void {
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
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

/** The client left; nobody reads this result, but authenticate still resolves with one. */
function clientGone(): AuthResult {
  return { ok: false, error: new OctowayError('AUTH_BACKEND_UNAVAILABLE', 'the client went away before auth finished') };
}

function errorCode(err: unknown): string {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string') return err.code;
  return err instanceof Error ? err.name : typeof err;
}
