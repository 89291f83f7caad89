// The HTTP API's routes: publish and admin on `/` (WS_PUBLISH_AUTH), the control endpoints (admin
// credentials), health probes and /version without them.
// One catch-all route so that unknown paths and methods get the same JSON errors as the rest.
import type { HttpRequest, HttpResponse, TemplatedApp } from 'uWebSockets.js';
import { OctowayError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Dispatcher } from '../delivery/dispatcher.js';
import type { HeldStore } from '../delivery/held-store.js';
import type { Message, PublishResult } from '../delivery/message.js';
import { checkReach, type AuthStep, type Publisher, type PublisherAuth } from './publisher-auth.js';
import { answer, begin, hasConflictingContentLength, methodNotAllowed, readBody, reply, replyError, type Exchange, type RefusalCount } from './exchange.js';
import { parseBinaryPublish, parsePublish, type PublishLimits, type PublishRequest } from './publish.js';
import { isPresenceOrHistory, listHeld, listHistory, listPresence, removeHeld, type AdminScope } from './admin.js';
import { inApp } from './app-scope.js';
import { DEFAULT_APP } from '../socket/connection.js';
import type { History } from '../delivery/history.js';
import type { VersionInfo } from '../version.js';
import { routeTickets, type TicketApiOptions } from './tickets.js';
import type { RateLimit } from './rate-limit.js';
import { CONTROL_PATHS, routeControl, type ControlApiOptions } from './control-api.js';

export interface ApiOptions {
  readonly dispatcher: Dispatcher;
  readonly store: HeldStore;
  /** Open sockets per key or pattern: this node's, or the cluster's with Redis. */
  readonly presence: () => Promise<Map<string, number>>;
  readonly history: History | undefined;
  readonly publisherAuth: PublisherAuth;
  readonly limits: PublishLimits & { readonly maxBodyBytes: number };
  /** Ready to accept traffic: listening, store reachable, not shutting down. */
  readonly readiness: () => { ready: boolean; reason?: string };
  readonly shuttingDown: () => boolean;
  /** `GET /version`'s answer. */
  readonly version: VersionInfo;
  /** WS_RATE_LIMIT's per-address budget, or undefined when it is off. */
  readonly rateLimit?: RateLimit | undefined;
  /** Counts errors answered by code: to a POST on `/` (publishes), and to every other request. */
  readonly refused: { readonly publish: RefusalCount; readonly other: RefusalCount };
  readonly log: Logger;
  /** POST /disconnect, GET /connections, GET /presence. */
  readonly control: ControlApiOptions;
  /** `/tickets`, when WS_AUTH_MODE lists ticket. */
  readonly tickets?: TicketApiOptions | undefined;
  /** The app whose keys this API publishes to and lists (src/apps.ts); the default app when undefined. */
  readonly scope?: AdminScope | undefined;
}

const DEFAULT_SCOPE: AdminScope = { app: DEFAULT_APP, alone: true };

/** The API on `/` (base ''), or under an app's base (`/apps/blue`): `/apps/blue/` is its `/`,
 * `/apps/blue/tickets` its `/tickets`. */
export function registerApi(app: TemplatedApp, options: ApiOptions, base = ''): void {
  if (base === '') {
    app.any('/*', (res, req) => route(res, req, options, ''));
    return;
  }
  app.any(base, (res, req) => route(res, req, options, base));
  app.any(`${base}/*`, (res, req) => route(res, req, options, base));
}

function route(res: HttpResponse, req: HttpRequest, options: ApiOptions, base: string): void {
  const head = req.getMethod() === 'head'; // lower case, as uWS gives it
  const path = base === '' ? req.getUrl() : req.getUrl().slice(base.length) || '/';
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
  // After the probes (a load balancer's checks must never be refused), before credentials (Goctopus
  // answers 429 before 401). A POST's body is left unread: close after the answer, as for 401.
  const limited = options.rateLimit?.takeHttp(res, req);
  if (limited !== undefined) return replyError(exchange, limited, options.log, { close: method === 'post' });
  if (path === '/tickets') {
    if (options.tickets !== undefined) return routeTickets(exchange, req, method, contentLength, options.tickets, options.log);
    return replyError(exchange, new OctowayError('NOT_FOUND', 'no such endpoint: /tickets needs ticket in WS_AUTH_MODE'), options.log);
  }
  if (CONTROL_PATHS.has(path)) {
    return routeControl(exchange, path, method, adminQuery(req), contentLength, options.publisherAuth.begin(req, 'admin'), options.control, options.log);
  }
  if (path !== '/') return replyError(exchange, new OctowayError('NOT_FOUND'), options.log);
  const step = options.publisherAuth.begin(req, method === 'post' ? 'publish' : 'admin');
  // A refused POST leaves its body unread: close the connection after the answer.
  if (step.kind === 'refused') return replyError(exchange, step.error, options.log, { close: method === 'post' });
  switch (method) {
    case 'post':
      // A binary publish: the body is the message, its address in the query (publish.ts).
      return publish(exchange, contentLength, step, options, isBinary(req.getHeader('content-type')) ? adminQuery(req) : undefined);
    case 'get':
      return administer(exchange, step, adminQuery(req), (query) => read(query, options), options);
    case 'delete':
      return administer(exchange, step, adminQuery(req), (query) => removeHeld(options.store, query, options.scope ?? DEFAULT_SCOPE), options);
    default:
      return replyError(exchange, methodNotAllowed('GET, HEAD, POST, DELETE'), options.log);
  }
}

/** The admin query, without the `token` a bearer publisher may authenticate with. */
function adminQuery(req: HttpRequest): URLSearchParams {
  const query = new URLSearchParams(req.getQuery() ?? '');
  query.delete('token');
  return query;
}

/** GET /: held messages, or Goctopus 2026's `?presence` and `&history` views. */
function read(query: URLSearchParams, options: ApiOptions): Promise<unknown> {
  const scope = options.scope ?? DEFAULT_SCOPE;
  if (!isPresenceOrHistory(query)) return listHeld(options.store, query, scope);
  return query.has('presence') ? listPresence(options.presence, query, scope) : listHistory(options.history, query, scope);
}

function administer(exchange: Exchange, step: AuthStep, query: URLSearchParams, work: (query: URLSearchParams) => Promise<unknown>, options: ApiOptions): void {
  if (step.kind === 'accepted') return answer(exchange, work(query), 200, options.log);
  // Admin takes basic or bearer: a JWT settles as its refusal (ADMIN_FORBIDDEN when it is valid).
  if (step.kind === 'pending') {
    return answer(exchange, step.result.then((publisher) => {
      if (publisher instanceof OctowayError) throw publisher;
      return work(query);
    }), 200, options.log);
  }
  // 'signed': begin() reads no signature for admin endpoints.
  replyError(exchange, new OctowayError('INTERNAL_ERROR'), options.log);
}

/** `application/octet-stream`, whatever its parameters or case. */
function isBinary(contentType: string): boolean {
  return contentType.length >= 24 && contentType.slice(0, 24).toLowerCase() === 'application/octet-stream';
}

function publish(exchange: Exchange, contentLength: string, step: Exclude<AuthStep, { kind: 'refused' }>, options: ApiOptions, binary?: URLSearchParams): void {
  const { log } = options;
  readBody(
    exchange,
    contentLength,
    options.limits.maxBodyBytes,
    (body) => {
      // Still inside uWS's onData callback: whatever can be answered now is, with no promise.
      try {
        if (step.kind === 'accepted') return publishBody(exchange, body, step.publisher, options, false, binary);
        const decided = step.kind === 'signed' ? options.publisherAuth.finishSigned(step.signature, body) : step.result;
        if (!(decided instanceof Promise)) {
          if (decided instanceof OctowayError) throw decided;
          return publishBody(exchange, body, decided, options, false, binary);
        }
        // `body` may be a view of uWS's memory, valid only during this call: keep a copy.
        const copy = Buffer.from(body);
        decided.then((publisher) => {
          if (publisher instanceof OctowayError) throw publisher;
          publishBody(exchange, copy, publisher, options, true, binary);
        }).catch((err: unknown) => replyError(exchange, err, log, { later: true }));
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
function publishBody(exchange: Exchange, body: Buffer, publisher: Publisher, options: ApiOptions, later = false, binary?: URLSearchParams): void {
  if (options.shuttingDown()) throw new OctowayError('SHUTTING_DOWN', undefined, { retryAfter: 1 });
  const request = binary === undefined ? parsePublish(body, options.limits) : parseBinaryPublish(body, binary, options.limits);
  const denied = checkReach(publisher, request);
  if (denied !== undefined) throw denied;
  // Checked by name (a publisher's scope names keys), published by address.
  const app = options.scope?.app ?? DEFAULT_APP;
  const messages = app === DEFAULT_APP ? request.messages : request.messages.map((m) => inApp(app, m));
  const results: PublishResult[] = [];
  for (let i = 0; i < messages.length; i++) {
    const result = options.dispatcher.publishNow(messages[i] as Message);
    if (result === undefined) {
      publishLater(exchange, { batch: request.batch, messages }, i, results, options);
      return;
    }
    results.push(result);
  }
  reply(exchange, 202, request.batch ? { results } : results[0], later ? LATER : undefined);
}

const LATER = { later: true } as const;

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
