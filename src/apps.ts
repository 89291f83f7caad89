// Apps (docs/apps.md): each app's client auth chain, publisher auth, tickets, upgrade handler, socket
// behaviour and API, mounted under /apps/{app}/ (and the default app on today's paths too). What the
// apps share is handed in: the hub, dispatcher, store and history (their addresses keep the apps
// apart: delivery/address.ts), Redis, the record builder (one node in every id), the WS_WORKERS
// gate (one auth concurrency bound for the gateway) and the per-address rate limit.
import type { TemplatedApp } from 'uWebSockets.js';
import type { AppConfig } from './config-apps.js';
import type { Config } from './config.js';
import type { Logger } from './log.js';
import { CLOSE_CODES, OctowayError } from './errors.js';
import type { Authenticator } from './identity/authenticator.js';
import { createDummyAuthenticator } from './identity/dummy.js';
import { isModuleExporter, loadExporter, type Exporter } from './identity/exporters.js';
import type { ConcurrencyGate } from './identity/gate.js';
import { createJwtAuthenticator } from './identity/jwt.js';
import { createJwtVerifier } from './identity/jwt-verifier.js';
import { MemoryTickets } from './identity/memory-tickets.js';
import type { AuthMeter } from './identity/metered.js';
import { createModeAuthenticator } from './identity/modes.js';
import { createForwardPipeline } from './identity/pipeline.js';
import { RedisTickets } from './identity/redis-tickets.js';
import { createTicketAuthenticator } from './identity/ticket.js';
import type { TicketStore } from './identity/ticket-store.js';
import type { Dispatcher } from './delivery/dispatcher.js';
import type { HeldStore } from './delivery/held-store.js';
import type { History } from './delivery/history.js';
import { registerApi } from './http/api.js';
import { begin, replyError } from './http/exchange.js';
import { MemoryReplayGuard } from './http/memory-replay-guard.js';
import { createPublisherAuth } from './http/publisher-auth.js';
import type { RateLimit } from './http/rate-limit.js';
import { RedisReplayGuard } from './http/redis-replay-guard.js';
import type { Counts } from './metrics/registry.js';
import type { RedisConnection } from './redis/connect.js';
import { Keyspace } from './redis/keyspace.js';
import { socketBehavior, type SocketActivity } from './socket/behavior.js';
import { DEFAULT_APP, type Connections, type Socket } from './socket/connection.js';
import { createExpiryWheel } from './socket/expiry.js';
import { createRefresher } from './socket/refresh.js';
import type { ControlPlane } from './control/control.js';
import type { Hub } from './delivery/hub.js';
import { createUnroutedHandshakeHandler, createUpgradeHandler } from './socket/upgrade.js';
import type { VersionInfo } from './version.js';

/** What every app of the gateway shares (server.ts builds it once). */
export interface AppShared {
  readonly uws: TemplatedApp;
  readonly dispatcher: Dispatcher;
  readonly hub: Hub;
  readonly store: HeldStore;
  readonly presence: () => Promise<Map<string, number>>;
  readonly history: History | undefined;
  readonly redis: RedisConnection | undefined;
  readonly keyspace: Keyspace;
  readonly gate: ConcurrencyGate;
  readonly connections: Connections;
  readonly rateLimit: RateLimit | undefined;
  readonly counts: Counts;
  readonly activity: SocketActivity;
  readonly readiness: () => { ready: boolean; reason?: string };
  readonly shuttingDown: () => boolean;
  readonly anyOpenSocket: () => Socket | undefined;
  /** The control plane (POST /disconnect, GET /connections, GET /presence), shared by every app. */
  readonly control: ControlPlane;
  readonly version: VersionInfo;
  /** Whether the gateway has this one app only (then `DELETE /` may clear the store in one call). */
  readonly alone: boolean;
  readonly log: Logger;
}

export interface MountedApp {
  readonly name: string;
  /** Its authenticator's calls waiting and in flight (for the metrics, summed over apps). */
  readonly authLoad: Authenticator['load'];
  /** Its upgrades waiting for their auth answer. */
  readonly pendingUpgrades: () => number;
  /** After its sockets are closed: stops its expiry wheel, closes its authenticators and tickets. */
  close(): Promise<void>;
}

/** Where an app lives: `/apps/{app}`. */
export const appBase = (name: string): string => `/apps/${name}`;

/** Builds one app's parts and registers its routes on the shared uWS app. */
export async function mountApp({ name, config }: AppConfig, shared: AppShared): Promise<MountedApp> {
  const { uws, redis, counts } = shared;
  const log = name === DEFAULT_APP ? shared.log : shared.log.child({ app: name });
  const exporter = await loadExporter(config.authExporter);
  // One JWT verifier, when a key is configured, for client `jwt`, socket refreshes and publisher `jwt`.
  const jwtVerifier = config.jwt === undefined ? undefined : createJwtVerifier(config.jwt, log.child({ component: 'jwt' }));
  // An app's tickets connect to that app only: its own store (its own Redis names besides the default's).
  const keyspace = name === DEFAULT_APP ? shared.keyspace : new Keyspace(`${config.redisPrefix}app:${name}:`);
  const tickets: TicketStore | undefined = !config.authModes.includes('ticket') ? undefined
    : redis === undefined ? new MemoryTickets(config.ticketMax) : new RedisTickets(redis.client, keyspace, log.child({ component: 'tickets' }));
  // WS_AUTH_MODE: one authenticator per listed mode, chosen per upgrade by what it carries (modes.ts).
  const authenticator = createModeAuthenticator({
    modes: config.authModes,
    forward: forwardAuthenticator(config, exporter, log, counts.auth, shared.gate),
    jwt: !config.authModes.includes('jwt') || jwtVerifier === undefined ? undefined : createJwtAuthenticator({
      verifier: jwtVerifier,
      cookie: config.jwtCookie,
      // Only a module exporter reads claims; the built-ins read forward-auth answers (docs/authentication.md).
      exporter: isModuleExporter(config.authExporter) ? exporter : undefined,
      exporterTimeoutMs: config.authTimeoutMs,
    }, log.child({ component: 'auth' })),
    jwtCookie: config.jwtCookie,
    ticket: tickets === undefined ? undefined : createTicketAuthenticator(tickets, log.child({ component: 'auth' })),
  });

  // Publisher auth: the JWT verifier (above); a replay memory for hmac, shared through Redis when
  // the nodes share one, so a signed request accepted by one node is refused by every other.
  const { publishAuth } = config;
  const replayGuard = !publishAuth.modes.includes('hmac') ? undefined
    : redis === undefined ? new MemoryReplayGuard(publishAuth.hmacToleranceMs) : new RedisReplayGuard(redis.client, keyspace, publishAuth.hmacToleranceMs);
  const publisherAuth = createPublisherAuth(publishAuth, { credentials: config.credentials, verifier: jwtVerifier, guard: replayGuard });

  // WS_MAX_CONNECTIONS (max_connections) bounds the app's own sockets.
  let open = 0;
  const upgrade = createUpgradeHandler({
    opening: shared.hub.opening,
    rateLimit: shared.rateLimit,
    authenticator,
    allowedOrigins: config.allowedOrigins,
    maxConnections: config.maxConnections,
    openSockets: () => open,
    shuttingDown: shared.shuttingDown,
    anyOpenSocket: shared.anyOpenSocket,
    refused: counts.upgradeRefused.add,
    log,
    app: name,
    connections: shared.connections,
  });
  // Token expiry: one wheel per app (its WS_JWT_LEEWAY); closes with TOKEN_EXPIRED (reconnect) at exp + leeway.
  const expiry = createExpiryWheel({
    leewayS: Math.ceil((config.jwt?.leewayMs ?? 0) / 1000),
    expire: (ws) => {
      ws.getUserData().closed = true;
      ws.end(CLOSE_CODES.TOKEN_EXPIRED.code, CLOSE_CODES.TOKEN_EXPIRED.reason);
    },
  });
  const behavior = socketBehavior({
    upgrade,
    activity: shared.activity,
    dispatcher: shared.dispatcher,
    maxPayloadBytes: config.maxPayloadBytes,
    idleTimeoutS: config.idleTimeoutS,
    maxBackpressureBytes: config.maxBackpressureBytes,
    inbound: { framesPerSecond: config.maxInboundRate, burst: 2 * config.maxInboundRate },
    hub: shared.hub,
    history: shared.history,
    clientPublish: { framesPerSecond: config.clientPublishRate, burst: config.clientPublishBurst },
    maxTopicsPerSocket: config.maxTopicsPerSocket,
    compress: config.compress,
    expiry,
    refresh: jwtVerifier === undefined || !config.authModes.includes('jwt') ? undefined : createRefresher(jwtVerifier, expiry, log.child({ component: 'jwt' })),
    log,
  });
  const counted = {
    ...behavior,
    open: (ws: Parameters<NonNullable<typeof behavior.open>>[0]) => {
      open++;
      return behavior.open?.(ws);
    },
    close: (...args: Parameters<NonNullable<typeof behavior.close>>) => {
      open--;
      behavior.close?.(...args);
    },
  };

  // Goctopus serves `/ws` and `/ws/`; its README's examples use `/`. Every app, default included,
  // also has `/apps/{app}/ws`.
  const unrouted = createUnroutedHandshakeHandler(log, counts.upgradeRefused.add);
  const paths = [`${appBase(name)}/ws`, `${appBase(name)}/ws/`, ...(name === DEFAULT_APP ? ['/ws', '/ws/', '/'] : [])];
  for (const path of paths) {
    uws.ws(path, counted);
    uws.get(path, unrouted);
  }
  const api = {
    dispatcher: shared.dispatcher,
    store: shared.store,
    presence: shared.presence,
    history: shared.history,
    publisherAuth,
    limits: { maxBatch: config.maxBatch, defaultExpireMs: config.msgExpireMs, defaultExpire: config.msgExpire, maxBodyBytes: config.maxBodyBytes },
    readiness: shared.readiness,
    shuttingDown: shared.shuttingDown,
    version: shared.version,
    rateLimit: shared.rateLimit,
    refused: { publish: counts.publishRefused.add, other: counts.requestRefused.add },
    log,
    scope: { app: name, alone: shared.alone },
    control: { control: shared.control, store: shared.store, maxBodyBytes: config.maxBodyBytes, app: name },
    tickets: tickets === undefined ? undefined : {
      store: tickets,
      // Tickets are an admin endpoint: the admin credentials (Basic, or a bearer token), never a scoped publisher JWT.
      checkAdmin: (req: Parameters<typeof publisherAuth.begin>[0]) => {
        const step = publisherAuth.begin(req, 'admin');
        if (step.kind === 'accepted') return undefined;
        // A JWT (pending) is never an admin credential, valid or not.
        return step.kind === 'refused' ? step.error : new OctowayError('ADMIN_FORBIDDEN');
      },
      defaultTtlMs: config.ticketTtlMs,
      maxBodyBytes: config.maxBodyBytes,
    },
  };
  registerApi(uws, api, appBase(name));
  if (name === DEFAULT_APP) registerApi(uws, api);
  warnAboutAuth(config, log);

  return {
    name,
    authLoad: authenticator.load,
    pendingUpgrades: upgrade.pending,
    async close() {
      expiry.stop();
      await authenticator.close();
      await tickets?.close();
    },
  };
}

/** `/apps/{app}/...` of an app that does not exist: 404 APP_NOT_FOUND, before any credential is
 * read (uWS routes the apps' own, more specific, paths first). */
export function refuseUnknownApps(uws: TemplatedApp, refused: (code: string) => void, log: Logger): void {
  uws.any('/apps/*', (res, req) => {
    const head = req.getMethod() === 'head';
    // A POST's body is left unread: close after the answer.
    replyError(begin(res, head, refused), new OctowayError('APP_NOT_FOUND'), log, { close: req.getMethod() !== 'get' && !head });
  });
}

/** Forward auth as configured (the dummy authorizer stands in for it), or undefined when
 * WS_AUTH_MODE does not list forward. Its backend calls take slots of the gateway's one gate. */
function forwardAuthenticator(config: Config, exporter: Exporter, log: Logger, meter: AuthMeter, gate: ConcurrencyGate): Authenticator | undefined {
  if (!config.authModes.includes('forward')) return undefined;
  if (config.authorizer === 'dummy') return createDummyAuthenticator(config.authUrlText);
  if (config.authUrl === undefined) throw new Error('forward auth without WS_AUTH_URL');
  return createForwardPipeline({
    url: config.authUrl,
    timeoutMs: config.authTimeoutMs,
    workers: config.workers,
    queueLimit: config.authQueue,
    forwardHeaders: config.authForwardHeaders,
    trustedProxies: config.trustedProxies,
    cacheTtlMs: config.authCacheTtlMs,
    cacheNegativeTtlMs: config.authCacheNegativeTtlMs,
    cacheMax: config.authCacheMax,
    exporter,
    meter,
    gate,
  }, log.child({ component: 'auth' }));
}

/** The start-up warnings about an app's auth settings (logged with the app's name, but the default's). */
function warnAboutAuth(config: Config, log: Logger): void {
  if (config.allowedOrigins.length === 0) log.warn('WS_ALLOWED_ORIGINS is empty or *: any website may open sockets with your users\' cookies');
  if (config.authorizer === 'dummy') log.warn({ key: config.authUrlText }, 'WS_AUTHORIZER=dummy: every socket is accepted under one key, with no authentication');
  if (config.credentials === undefined && config.publishAuth.modes.includes('basic')) {
    // /tickets takes the same admin check: a ticket connects as whichever user and keys it names.
    log.warn(config.authModes.includes('ticket')
      ? 'WS_INSECURE_NO_AUTH=true: anyone who reaches the port can publish, read held messages and create tickets (connect as any user, to any keys)'
      : 'WS_INSECURE_NO_AUTH=true: anyone who reaches the port can publish and read held messages');
  }
}
