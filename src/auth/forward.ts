// Forward auth (WS_AUTH_URL): asks an HTTP backend about each upgrade and maps its answer to keys.
import type { Logger } from 'pino';
import PQueue from 'p-queue';
import { Pool } from 'undici';
import type { Dispatcher } from 'undici';
import { OctowayError, type ErrorCode } from '../errors.js';
import type { AuthResult, Authenticator, UpgradeRequest } from './authenticator.js';
import { createAuthCache, credentialKey } from './cache.js';
import { ExportShapeError, normalizeExport, type Exporter } from './exporters.js';
import { createHeaderBuilder } from './headers.js';
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

interface Outcome {
  readonly result: AuthResult;
  /** Only the backend's real decisions are cached; outages and bad answers are not. */
  readonly cacheable: boolean;
}

export function createForwardAuthenticator(options: ForwardAuthOptions, logger: Logger): Authenticator {
  const buildHeaders = createHeaderBuilder(options.forwardHeaders, createProxyMatcher(options.trustedProxies));
  // Tokens can ride in the query, so the URI is part of the credentials.
  const keyNames = ['cookie', 'authorization', ...buildHeaders.extraNames, 'x-forwarded-uri'];
  const cache = createAuthCache({ ttlMs: options.cacheTtlMs, negativeTtlMs: options.cacheNegativeTtlMs, max: options.cacheMax });
  const pool = new Pool(options.url.origin, { connections: options.workers });
  const queue = new PQueue({ concurrency: options.workers });
  const backend = backendCaller(pool, options, logger);
  let closed = false;

  async function authenticate(request: UpgradeRequest, signal: AbortSignal): Promise<AuthResult> {
    if (closed) return fail('SHUTTING_DOWN');
    const headers = buildHeaders(request);
    const key = cache === undefined ? undefined : credentialKey(headers, keyNames);
    const hit = key === undefined ? undefined : cache?.get(key);
    if (hit !== undefined) return hit;
    if (signal.aborted) return clientGone();
    if (queue.pending >= options.workers && queue.size >= options.queueLimit) {
      logger.debug({ waiting: queue.size }, 'auth queue full');
      return fail('AUTH_QUEUE_FULL', { retryAfter: 1 });
    }
    let outcome: Outcome;
    try {
      // p-queue drops the call from the queue, or releases its slot, as soon as `signal` aborts.
      outcome = await queue.add(() => backend(request, headers, signal), { signal });
    } catch (err) {
      if (signal.aborted) return clientGone();
      logger.error({ err }, 'auth queue failed');
      return fail('AUTH_BACKEND_UNAVAILABLE', { retryAfter: DEFAULT_RETRY_AFTER });
    }
    if (outcome.cacheable && key !== undefined) cache?.set(key, outcome.result);
    return outcome.result;
  }

  return {
    authenticate,
    load: {
      get waiting() { return queue.size; },
      get inFlight() { return queue.pending; },
    },
    async close() {
      closed = true;
      await pool.close();
    },
  };
}

type BackendCall = (request: UpgradeRequest, headers: Record<string, string>, signal: AbortSignal) => Promise<Outcome>;

/** One backend call under the timeout. Resolves on every path: a rejection would be an unhandled
 * error once p-queue has stopped waiting for an aborted call. */
function backendCaller(pool: Pool, options: ForwardAuthOptions, logger: Logger): BackendCall {
  const path = options.url.pathname + options.url.search;
  const interpret = responseInterpreter(options.exporter, logger);
  return async (request, headers, signal) => {
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => { timedOut = true; controller.abort(); }, options.timeoutMs);
    const onClientAbort = (): void => controller.abort();
    signal.addEventListener('abort', onClientAbort, { once: true });
    try {
      const response = await pool.request({ path, method: 'GET', headers, signal: controller.signal });
      return await interpret(response, request);
    } catch (err) {
      if (timedOut) {
        logger.warn({ timeoutMs: options.timeoutMs }, 'auth backend timed out');
      } else if (signal.aborted) {
        return { result: clientGone(), cacheable: false };
      } else {
        logger.warn({ code: errorCode(err) }, 'auth backend unreachable');
      }
      return { result: fail('AUTH_BACKEND_UNAVAILABLE', { retryAfter: DEFAULT_RETRY_AFTER }), cacheable: false };
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', onClientAbort);
    }
  };
}

/** Maps a backend response to an outcome. Every body is read or dumped so the connection goes back
 * to the pool; a body read that fails throws to the caller, which owns timeouts and aborts. */
function responseInterpreter(exporter: Exporter, logger: Logger) {
  return async (response: Dispatcher.ResponseData, request: UpgradeRequest): Promise<Outcome> => {
    const status = response.statusCode;
    if (status >= 200 && status < 300) {
      const body = await readJson(response);
      if (body === undefined) {
        logger.warn({ status }, 'auth backend answered with a body that is not JSON or is too large');
        return { result: fail('AUTH_BACKEND_INVALID'), cacheable: false };
      }
      return runExporter(exporter, body.value, request, logger);
    }
    await response.body.dump({ limit: MAX_DISCARD_BYTES });
    if (status === 401) return { result: fail('AUTH_DENIED'), cacheable: true };
    if (status === 403) return { result: fail('AUTH_FORBIDDEN'), cacheable: true };
    if (status === 429 || (status >= 500 && status < 600)) {
      logger.warn({ status }, 'auth backend unavailable');
      return { result: fail('AUTH_BACKEND_UNAVAILABLE', { retryAfter: retryAfter(response.headers['retry-after']) }), cacheable: false };
    }
    if (status >= 400 && status < 500) {
      // Usually a wrong WS_AUTH_URL rather than a judgement on this client.
      logger.warn({ status }, 'auth backend answered with an unexpected client error');
      return { result: fail('AUTH_FORBIDDEN'), cacheable: false };
    }
    logger.warn({ status }, 'auth backend answered with a redirect or an unknown status');
    return { result: fail('AUTH_BACKEND_INVALID'), cacheable: false };
  };
}

async function runExporter(exporter: Exporter, body: unknown, request: UpgradeRequest, logger: Logger): Promise<Outcome> {
  let exported;
  try {
    exported = normalizeExport(await exporter(body, request));
  } catch (err) {
    // A module exporter's own message may quote the auth body, so only our shape errors are logged whole.
    const detail = err instanceof ExportShapeError ? err.message : err instanceof Error ? err.name : typeof err;
    logger.error({ exporterError: detail }, 'auth exporter failed');
    return { result: fail('EXPORTER_FAILED'), cacheable: false };
  }
  if (exported.keys.length === 0) return { result: fail('AUTH_NO_KEYS'), cacheable: true };
  const result: AuthResult = exported.claims === undefined
    ? { ok: true, keys: Object.freeze(exported.keys) }
    : { ok: true, keys: Object.freeze(exported.keys), claims: Object.freeze(exported.claims) };
  return { result, cacheable: true };
}

/** The parsed body, or undefined when it is not JSON or exceeds MAX_BODY_BYTES. */
async function readJson(response: Dispatcher.ResponseData): Promise<{ value: unknown } | undefined> {
  const declared = Number(response.headers['content-length']);
  if (declared > MAX_BODY_BYTES) {
    response.body.destroy();
    return undefined;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response.body) {
    size += (chunk as Buffer).length;
    // Leaving the loop destroys the body, which closes the connection instead of reading on.
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk as Buffer);
  }
  try {
    return { value: JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown };
  } catch (err) {
    if (err instanceof SyntaxError) return undefined;
    throw err;
  }
}

/** Seconds from a numeric Retry-After within reason; dates and nonsense get the default. */
function retryAfter(header: string | string[] | undefined): number {
  const value = Array.isArray(header) ? header[0] : header;
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
