// The HTTP API's routes: publish and admin on `/` (Basic auth), health probes and /version without it.
// One catch-all route so that unknown paths and methods get the same JSON errors as the rest.
import type { HttpRequest, HttpResponse, TemplatedApp } from 'uWebSockets.js';
import { OctowayError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Dispatcher } from '../delivery/dispatcher.js';
import type { HeldStore } from '../delivery/held-store.js';
import type { Message, PublishResult } from '../delivery/message.js';
import type { CredentialCheck } from './credentials.js';
import { begin, hasConflictingContentLength, readBody, reply, replyError, type Exchange, type RefusalCount } from './exchange.js';
import { parsePublish, type PublishLimits, type PublishRequest } from './publish.js';
import { listHeld, removeHeld } from './admin.js';
import type { VersionInfo } from '../version.js';

export interface ApiOptions {
  readonly dispatcher: Dispatcher;
  readonly store: HeldStore;
  readonly checkCredentials: CredentialCheck;
  readonly limits: PublishLimits & { readonly maxBodyBytes: number };
  /** Ready to accept traffic: listening, store reachable, not shutting down. */
  readonly readiness: () => { ready: boolean; reason?: string };
  readonly shuttingDown: () => boolean;
  /** `GET /version`'s answer. */
  readonly version: VersionInfo;
  /** Counts errors answered by code: to a POST on `/` (publishes), and to every other request. */
  readonly refused: { readonly publish: RefusalCount; readonly other: RefusalCount };
  readonly log: Logger;
}

export function registerApi(app: TemplatedApp, options: ApiOptions): void {
  app.any('/*', (res, req) => route(res, req, options));
}

function route(res: HttpResponse, req: HttpRequest, options: ApiOptions): void {
  const head = req.getMethod() === 'head'; // lower case, as uWS gives it
  const path = req.getUrl();
  const method = head ? 'get' : req.getMethod(); // HEAD is GET without the body, everywhere
  const exchange = begin(res, head, method === 'post' && path === '/' ? options.refused.publish : options.refused.other);
  const contentLength = req.getHeader('content-length');
  if (contentLength !== '' && hasConflictingContentLength(req, contentLength)) {
    return replyError(exchange, new OctowayError('INVALID_CONTENT_LENGTH'), options.log, { close: true });
  }
  if (path === '/healthz' || path === '/readyz' || path === '/version') {
    if (method !== 'get') return replyError(exchange, methodNotAllowed('GET, HEAD'), options.log);
    if (path === '/healthz') return reply(exchange, 200, { status: 'ok' });
    if (path === '/version') return reply(exchange, 200, options.version);
    const { ready, reason } = options.readiness();
    return reply(exchange, ready ? 200 : 503, ready ? { status: 'ready' } : { status: 'not ready', reason });
  }
  if (path !== '/') return replyError(exchange, new OctowayError('NOT_FOUND'), options.log);
  if (!options.checkCredentials(req.getHeader('authorization'))) {
    return replyError(exchange, new OctowayError('UNAUTHORIZED'), options.log, { close: method === 'post' });
  }
  switch (method) {
    case 'post':
      return publish(exchange, contentLength, options);
    case 'get':
      return answer(exchange, listHeld(options.store, new URLSearchParams(req.getQuery() ?? '')), 200, options.log);
    case 'delete':
      return answer(exchange, removeHeld(options.store, new URLSearchParams(req.getQuery() ?? '')), 200, options.log);
    default:
      return replyError(exchange, methodNotAllowed('GET, HEAD, POST, DELETE'), options.log);
  }
}

function publish(exchange: Exchange, contentLength: string, options: ApiOptions): void {
  const { log } = options;
  readBody(
    exchange,
    contentLength,
    options.limits.maxBodyBytes,
    (body) => {
      // Still inside uWS's onData callback: whatever can be answered now is, with no promise.
      try {
        publishBody(exchange, body, options);
      } catch (err) {
        replyError(exchange, err, log);
      }
    },
    log,
  );
}

/** Parses and publishes one request's messages, one after the other (publish order is delivery
 * order, per key). Each is published at once when the dispatcher can (the memory broker); from the
 * first that needs an await (Redis, a message_id), the rest follow asynchronously. */
function publishBody(exchange: Exchange, body: Buffer, options: ApiOptions): void {
  if (options.shuttingDown()) throw new OctowayError('SHUTTING_DOWN', undefined, { retryAfter: 1 });
  const request = parsePublish(body, options.limits);
  const { messages } = request;
  const results: PublishResult[] = [];
  for (let i = 0; i < messages.length; i++) {
    const result = options.dispatcher.publishNow(messages[i] as Message);
    if (result === undefined) {
      publishLater(exchange, request, i, results, options);
      return;
    }
    results.push(result);
  }
  reply(exchange, 202, request.batch ? { results } : results[0]);
}

function publishLater(exchange: Exchange, request: PublishRequest, from: number, results: PublishResult[], options: ApiOptions): void {
  const { dispatcher, log } = options;
  const rest = async (): Promise<unknown> => {
    for (let i = from; i < request.messages.length; i++) results.push(await dispatcher.publish(request.messages[i] as Message));
    return request.batch ? { results } : results[0];
  };
  rest().then(
    (result) => reply(exchange, 202, result, { later: true }),
    (err: unknown) => replyError(exchange, err, log, { later: true }),
  );
}

function answer(exchange: Exchange, work: Promise<unknown>, status: number, log: Logger): void {
  work.then(
    (result) => reply(exchange, status, result, { later: true }),
    (err: unknown) => replyError(exchange, err, log, { later: true }),
  );
}

function methodNotAllowed(allow: string): OctowayError {
  return new OctowayError('METHOD_NOT_ALLOWED', `method not allowed; allowed: ${allow}`, { allow });
}
