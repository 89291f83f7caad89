// The HTTP API's routes: publish and admin on `/` (Basic auth), health probes without it.
// One catch-all route so that unknown paths and methods get the same JSON errors as the rest.
import type { HttpRequest, HttpResponse, TemplatedApp } from 'uWebSockets.js';
import { OctowayError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Dispatcher } from '../delivery/dispatcher.js';
import type { HeldStore } from '../delivery/held-store.js';
import type { PublishResult } from '../delivery/message.js';
import type { CredentialCheck } from './credentials.js';
import { begin, readBody, reply, replyError, type Exchange } from './exchange.js';
import { parsePublish, type PublishLimits } from './publish.js';
import { listHeld, removeHeld } from './admin.js';

export interface ApiOptions {
  readonly dispatcher: Dispatcher;
  readonly store: HeldStore;
  readonly checkCredentials: CredentialCheck;
  readonly limits: PublishLimits & { readonly maxBodyBytes: number };
  /** Ready to accept traffic: listening, store reachable, not shutting down. */
  readonly readiness: () => { ready: boolean; reason?: string };
  readonly shuttingDown: () => boolean;
  readonly log: Logger;
}

export function registerApi(app: TemplatedApp, options: ApiOptions): void {
  app.any('/*', (res, req) => route(res, req, options));
}

function route(res: HttpResponse, req: HttpRequest, options: ApiOptions): void {
  const exchange = begin(res);
  const path = req.getUrl();
  const method = req.getMethod().toUpperCase();
  if (path === '/healthz' || path === '/readyz') {
    if (method !== 'GET' && method !== 'HEAD') return replyError(exchange, methodNotAllowed('GET'), options.log);
    if (path === '/healthz') return reply(exchange, 200, { status: 'ok' });
    const { ready, reason } = options.readiness();
    return reply(exchange, ready ? 200 : 503, ready ? { status: 'ready' } : { status: 'not ready', reason });
  }
  if (path !== '/') return replyError(exchange, new OctowayError('NOT_FOUND'), options.log);
  if (!options.checkCredentials(req.getHeader('authorization'))) {
    return replyError(exchange, new OctowayError('UNAUTHORIZED'), options.log, method === 'POST');
  }
  switch (method) {
    case 'POST':
      return publish(exchange, req.getHeader('content-length'), options);
    case 'GET':
      return answer(exchange, listHeld(options.store, new URLSearchParams(req.getQuery() ?? '')), 200, options.log);
    case 'DELETE':
      return answer(exchange, removeHeld(options.store, new URLSearchParams(req.getQuery() ?? '')), 200, options.log);
    default:
      return replyError(exchange, methodNotAllowed('GET, POST, DELETE'), options.log);
  }
}

function publish(exchange: Exchange, contentLength: string, options: ApiOptions): void {
  const { dispatcher, limits, log } = options;
  const body = readBody(exchange, contentLength, limits.maxBodyBytes);
  const accepted = body.then(async (bytes) => {
    if (options.shuttingDown()) throw new OctowayError('SHUTTING_DOWN', undefined, { retryAfter: 1 });
    const request = parsePublish(bytes, limits);
    const results: PublishResult[] = [];
    // One after the other: publish order is delivery order, per key.
    for (const message of request.messages) results.push(await dispatcher.publish(message));
    return request.batch ? { results } : results[0];
  });
  accepted.then(
    (result) => reply(exchange, 202, result),
    // An unread or oversized body leaves the connection mid-request: close it after the answer.
    (err: unknown) => replyError(exchange, err, log, err instanceof OctowayError && err.code === 'BODY_TOO_LARGE'),
  );
}

function answer(exchange: Exchange, work: Promise<unknown>, status: number, log: Logger): void {
  work.then(
    (result) => reply(exchange, status, result),
    (err: unknown) => replyError(exchange, err, log),
  );
}

function methodNotAllowed(allow: string): OctowayError {
  return new OctowayError('METHOD_NOT_ALLOWED', `method not allowed; allowed: ${allow}`);
}
