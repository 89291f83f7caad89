// The gateway: joins configuration, auth, delivery and the HTTP API on one uWS app, and owns
// its lifecycle (listen, readiness, graceful shutdown). The only module that knows every piece.
import uWS from 'uWebSockets.js';
import type { Config } from './config.js';
import type { Logger } from './log.js';
import { createForwardPipeline } from './identity/pipeline.js';
import { isModuleExporter, loadExporter } from './identity/exporters.js';
import { createDummyAuthenticator } from './identity/dummy.js';
import { createModeAuthenticator } from './identity/modes.js';
import { createTicketAuthenticator } from './identity/ticket.js';
import type { TicketStore } from './identity/ticket-store.js';
import { MemoryTickets } from './identity/memory-tickets.js';
import { RedisTickets } from './identity/redis-tickets.js';
import type { Authenticator } from './identity/authenticator.js';
import { versionInfo } from './version.js';
import { createHub } from './delivery/hub.js';
import { createDispatcher } from './delivery/dispatcher.js';
import type { Broker } from './delivery/broker.js';
import type { Hub } from './delivery/hub.js';
import { createMemoryBroker } from './delivery/memory-broker.js';
import { MemoryStore } from './delivery/memory-store.js';
import { createRedisBroker } from './delivery/redis-broker.js';
import { RedisStore } from './delivery/redis-store.js';
import { MemoryHistory, RedisHistory, type History } from './delivery/history.js';
import { connectRedis, type RedisConnection } from './redis/connect.js';
import { Keyspace } from './redis/keyspace.js';
import { checkStateFileWritable, markLoaded, readStateFile, saveStateOrFallback, type SaveOutcome } from './delivery/state-file.js';
import { createPublisherAuth } from './http/publisher-auth.js';
import { MemoryReplayGuard } from './http/memory-replay-guard.js';
import { RedisReplayGuard } from './http/redis-replay-guard.js';
import { createJwtVerifier } from './identity/jwt-verifier.js';
import { createJwtAuthenticator } from './identity/jwt.js';
import { createExpiryWheel } from './socket/expiry.js';
import { createRefresher } from './socket/refresh.js';
import { registerApi } from './http/api.js';
import { listen } from './listen.js';
import { createApp } from './tls.js';
import { createRateLimit } from './http/rate-limit.js';
import { createProxyMatcher } from './identity/proxies.js';
import { createUnroutedHandshakeHandler, createUpgradeHandler } from './socket/upgrade.js';
import { socketBehavior, type SocketActivity } from './socket/behavior.js';
import { CLOSE_CODES, OctowayError } from './errors.js';
import { createMetrics } from './metrics/registry.js';
import { basicAuth } from './http/credentials.js';
import type { AuthMeter } from './identity/metered.js';
import { countPublishes } from './metrics/publishes.js';
import { listenMetrics, serveOnApp, type MetricsServer } from './metrics/endpoint.js';

export interface Gateway {
  /** The port actually listened on (WS_PORT=0 picks a free one). */
  readonly port: number;
  /** Stops listening, closes sockets with 1001, saves held messages, releases everything. */
  close(): Promise<void>;
  /** For the WS_SHUTDOWN_TIMEOUT deadline, when close() has not finished and the process exits
   * next: saves this node's held messages at once, synchronously, as close() would (WS_STATE_FILE,
   * else a fallback file), unless close() already did. Undefined when nothing here is this node's to
   * save (with Redis they stay there); `file` undefined means lost (no WS_STATE_FILE, or no file
   * could be written), which the caller logs with the count. */
  saveNow(): SaveOutcome | undefined;
}

/** Close code for sockets closed because the gateway stops (RFC 6455 "going away"): reconnect. */
const CLOSE_GOING_AWAY = CLOSE_CODES.GOING_AWAY;
const SLOW_CONSUMER_SWEEP_MS = 1_000;
/** How often the aggregate `sockets` info line is written, when sockets opened or closed meanwhile. */
const ACTIVITY_LOG_MS = 60_000;

export async function startGateway(config: Config, log: Logger): Promise<Gateway> {
  const exporter = await loadExporter(config.authExporter);
  const version = versionInfo(process.env);
  const metrics = createMetrics(version);
  const { counts } = metrics;
  // With WS_REDIS_URL, held messages and delivery are shared by every node through Redis.
  const redis = config.redisUrl === undefined ? undefined : connectRedis({ url: config.redisUrl, cluster: config.redisCluster, sentinel: config.redisSentinel }, log.child({ component: 'redis' }));
  const keyspace = new Keyspace(config.redisPrefix);
  const store = redis === undefined
    ? new MemoryStore({ maxHeld: config.maxHeld, maxHeldPerKey: config.maxHeldPerKey, sweepIntervalMs: config.sweepIntervalMs }, log.child({ component: 'store' }))
    : new RedisStore({ client: redis.client, keyspace, cluster: redis.cluster, maxHeldPerKey: config.maxHeldPerKey }, log.child({ component: 'store' }));
  // Loaded before listening, so the first socket gets its held messages; marked loaded only once
  // listening, so a start that fails (port in use) leaves the file for the next one.
  const restored = config.stateFile !== undefined && store instanceof MemoryStore ? await restoreState(config.stateFile, store) : undefined;
  if (config.stateFile !== undefined && redis !== undefined) log.warn('WS_STATE_FILE is ignored with WS_REDIS_URL: held messages stay in Redis');

  // One JWT verifier, when a key is configured, for client `jwt`, socket refreshes and publisher `jwt`.
  const jwtVerifier = config.jwt === undefined ? undefined : createJwtVerifier(config.jwt, log.child({ component: 'jwt' }));
  // WS_AUTH_MODE: one authenticator per listed mode, chosen per upgrade by what it carries (modes.ts).
  const tickets: TicketStore | undefined = !config.authModes.includes('ticket') ? undefined
    : redis === undefined ? new MemoryTickets(config.ticketMax) : new RedisTickets(redis.client, keyspace, log.child({ component: 'tickets' }));
  const authenticator = createModeAuthenticator({
    modes: config.authModes,
    forward: forwardAuthenticator(config, exporter, log, counts.auth),
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

  const app = createApp(config.tls, log);
  const hub = createHub(app, config.maxBackpressureBytes, config.writeTimeoutMs, config.compress);
  const broker = createBroker(config, { hub, store, redis, keyspace }, log);
  const history = createHistory(config, redis, keyspace);
  const dispatcher = countPublishes(createDispatcher({
    hub, store, broker, mode: config.delivery, defaultIdempotencyTtlMs: config.msgExpireMs, maxAcksInFlight: config.maxAcksInFlight, history, log,
  }), counts.published);
  let listenSocket: uWS.us_listen_socket | undefined;
  let shuttingDown = false;
  /** How close() saved the held messages, once it has: saveNow must not save the store again
   * after close() released it. */
  let savedAtClose: SaveOutcome | undefined;

  // One budget per client address, shared by upgrades and API requests; undefined when off.
  const rateLimit = createRateLimit({ perSecond: config.rateLimit, burst: config.rateBurst, isTrusted: createProxyMatcher(config.trustedProxies) });
  // Publisher auth: the JWT verifier (above); a replay memory for hmac, shared through Redis when
  // the nodes share one, so a signed request accepted by one node is refused by every other.
  const { publishAuth } = config;
  const replayGuard = !publishAuth.modes.includes('hmac') ? undefined
    : redis === undefined ? new MemoryReplayGuard(publishAuth.hmacToleranceMs) : new RedisReplayGuard(redis.client, keyspace, publishAuth.hmacToleranceMs);
  const publisherAuth = createPublisherAuth(publishAuth, { credentials: config.credentials, verifier: jwtVerifier, guard: replayGuard });

  const upgrade = createUpgradeHandler({
    opening: hub.opening,
    rateLimit,
    authenticator,
    allowedOrigins: config.allowedOrigins,
    maxConnections: config.maxConnections,
    openSockets: () => hub.size,
    shuttingDown: () => shuttingDown,
    anyOpenSocket: () => hub.sockets().next().value,
    refused: counts.upgradeRefused.add,
    log,
  });
  const activity: SocketActivity = { opened: 0, closed: 0 };
  // Token expiry: one wheel for every socket; closes with TOKEN_EXPIRED (reconnect) at exp + leeway.
  const expiry = createExpiryWheel({
    leewayS: Math.ceil((config.jwt?.leewayMs ?? 0) / 1000),
    expire: (ws) => {
      ws.getUserData().closed = true;
      ws.end(CLOSE_CODES.TOKEN_EXPIRED.code, CLOSE_CODES.TOKEN_EXPIRED.reason);
    },
  });
  const behavior = socketBehavior({
    upgrade,
    activity,
    dispatcher,
    maxPayloadBytes: config.maxPayloadBytes,
    idleTimeoutS: config.idleTimeoutS,
    maxBackpressureBytes: config.maxBackpressureBytes,
    inbound: { framesPerSecond: config.maxInboundRate, burst: 2 * config.maxInboundRate },
    hub,
    clientPublish: { framesPerSecond: config.clientPublishRate, burst: config.clientPublishBurst },
    compress: config.compress,
    expiry,
    refresh: jwtVerifier === undefined || !config.authModes.includes('jwt') ? undefined : createRefresher(jwtVerifier, expiry, log.child({ component: 'jwt' })),
    log,
  });
  // Goctopus serves `/ws` and `/ws/`; its README's examples use `/`.
  const unrouted = createUnroutedHandshakeHandler(log, counts.upgradeRefused.add);
  for (const path of ['/ws', '/ws/', '/']) {
    app.ws(path, behavior);
    app.get(path, unrouted);
  }
  const readiness = (): { ready: boolean; reason?: string } => {
    if (shuttingDown) return { ready: false, reason: 'shutting down' };
    const reason = broker.unavailable();
    return reason === undefined ? { ready: listenSocket !== undefined } : { ready: false, reason };
  };
  registerApi(app, {
    dispatcher,
    store,
    presence: store instanceof RedisStore ? () => store.presence() : async () => hub.presence(),
    history,
    publisherAuth,
    limits: { maxBatch: config.maxBatch, defaultExpireMs: config.msgExpireMs, defaultExpire: config.msgExpire, maxBodyBytes: config.maxBodyBytes },
    readiness,
    shuttingDown: () => shuttingDown,
    version,
    rateLimit,
    refused: { publish: counts.publishRefused.add, other: counts.requestRefused.add },
    log,
    tickets: tickets === undefined ? undefined : {
      store: tickets,
      // Tickets are an admin endpoint: the admin credentials (Basic, or a bearer token), never a scoped publisher JWT.
      checkAdmin: (req) => {
        const step = publisherAuth.begin(req, 'admin');
        if (step.kind === 'accepted') return undefined;
        // A JWT (pending) is never an admin credential, valid or not.
        return step.kind === 'refused' ? step.error : new OctowayError('ADMIN_FORBIDDEN');
      },
      defaultTtlMs: config.ticketTtlMs,
      maxBodyBytes: config.maxBodyBytes,
    },
  });
  metrics.watch({ hub, store, authLoad: authenticator.load, pendingUpgrades: upgrade.pending, redis, ready: () => readiness().ready });
  const scrape = { registry: metrics.registry, checkCredentials: basicAuth(config.metrics.credentials), refused: counts.requestRefused.add, log };
  if (config.metrics.port === undefined) serveOnApp(app, scrape);

  // First, so a WS_METRICS_PORT in use stops the start before the gateway takes any traffic.
  const metricsServer: MetricsServer | undefined = config.metrics.port === undefined ? undefined : await listenMetrics(config.host, config.metrics.port, scrape);
  if (metricsServer !== undefined) log.info({ port: metricsServer.port }, 'metrics listening');
  listenSocket = await listen(app, config.host, config.port, config.reusePort);
  if (restored !== undefined) {
    await markLoaded(restored.path);
    log.info({ messages: restored.messages, file: restored.path }, 'held messages loaded');
  }
  const port = uWS.us_socket_local_port(listenSocket as unknown as uWS.us_socket);
  const sweep = setInterval(() => {
    const closed = hub.closeSlowConsumers();
    if (closed > 0) log.warn({ closed }, 'closed slow consumers past WS_MAX_BACKPRESSURE or WS_WRITE_TIMEOUT');
  }, SLOW_CONSUMER_SWEEP_MS);
  sweep.unref();
  // Per-socket open and close lines are debug; this one line says what a storm did.
  let reported = { opened: 0, closed: 0 };
  const activityLog = setInterval(() => {
    const opened = activity.opened - reported.opened;
    const closed = activity.closed - reported.closed;
    if (opened === 0 && closed === 0) return;
    reported = { ...activity };
    log.info({ opened, closed, open: hub.size, seconds: ACTIVITY_LOG_MS / 1000 }, 'sockets');
  }, ACTIVITY_LOG_MS);
  activityLog.unref();
  if (config.allowedOrigins.length === 0) log.warn('WS_ALLOWED_ORIGINS is empty or *: any website may open sockets with your users\' cookies');
  if (config.authorizer === 'dummy') log.warn({ key: config.authUrlText }, 'WS_AUTHORIZER=dummy: every socket is accepted under one key, with no authentication');
  if (config.trustAllProxies) log.warn('WS_TRUST_PROXY_HEADERS=true: X-Forwarded-For is believed from every peer, so any client can choose the address its rate limit and auth backend see; list your proxies in WS_TRUSTED_PROXIES instead');
  if (config.credentials === undefined && publishAuth.modes.includes('basic')) {
    // /tickets takes the same admin check: a ticket connects as whichever user and keys it names.
    log.warn(config.authModes.includes('ticket')
      ? 'WS_INSECURE_NO_AUTH=true: anyone who reaches the port can publish, read held messages and create tickets (connect as any user, to any keys)'
      : 'WS_INSECURE_NO_AUTH=true: anyone who reaches the port can publish and read held messages');
  }
  log.info({ host: config.host, port, delivery: config.delivery }, 'listening');

  return {
    port,
    async close() {
      if (shuttingDown) return;
      shuttingDown = true;
      clearInterval(sweep);
      clearInterval(activityLog);
      expiry.stop();
      if (listenSocket !== undefined) uWS.us_listen_socket_close(listenSocket);
      listenSocket = undefined;
      await metricsServer?.close();
      for (const ws of [...hub.sockets()]) ws.end(CLOSE_GOING_AWAY.code, CLOSE_GOING_AWAY.reason);
      await authenticator.close();
      await tickets?.close();
      await broker.close();
      if (config.stateFile !== undefined && store instanceof MemoryStore) {
        savedAtClose = saveStateOrFallback(config.stateFile, store.dump(), log);
      }
      await store.close();
      await redis?.close();
      if (savedAtClose?.error !== undefined) throw savedAtClose.error;
      log.info('stopped');
    },

    saveNow() {
      if (!(store instanceof MemoryStore)) return undefined;
      if (savedAtClose !== undefined) return savedAtClose;
      const messages = store.dump();
      if (config.stateFile === undefined) return { messages: messages.length, file: undefined, error: undefined };
      savedAtClose = saveStateOrFallback(config.stateFile, messages, log);
      return savedAtClose;
    },
  };
}

/** Forward auth as configured (the dummy authorizer stands in for it), or undefined when
 * WS_AUTH_MODE does not list forward. */
function forwardAuthenticator(config: Config, exporter: Awaited<ReturnType<typeof loadExporter>>, log: Logger, meter: AuthMeter): Authenticator | undefined {
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
  }, log.child({ component: 'auth' }));
}

function createBroker(config: Config, parts: { hub: Hub; store: MemoryStore | RedisStore; redis: RedisConnection | undefined; keyspace: Keyspace }, log: Logger): Broker {
  const { hub, store, redis, keyspace } = parts;
  if (store instanceof MemoryStore) return createMemoryBroker({ hub, store, mode: config.delivery });
  if (redis === undefined) throw new Error('a Redis store without a Redis connection');
  return createRedisBroker({
    connection: redis, keyspace, store, hub, mode: config.delivery, presenceTtlMs: config.presenceTtlMs, log: log.child({ component: 'broker' }),
  });
}

function createHistory(config: Config, redis: RedisConnection | undefined, keyspace: Keyspace): History | undefined {
  if (config.historySize === 0) return undefined;
  const limits = { size: config.historySize, ttlMs: config.historyTtlMs };
  // In memory, as many entries in all as WS_MAX_HELD allows held messages.
  return redis === undefined ? new MemoryHistory(limits, Math.floor(config.maxHeld / config.historySize)) : new RedisHistory(redis.client, keyspace, limits, redis.cluster);
}

async function restoreState(path: string, store: MemoryStore): Promise<{ path: string; messages: number }> {
  await checkStateFileWritable(path);
  const messages = await readStateFile(path);
  for (const message of messages) store.holdSync(message, [message.key]);
  return { path, messages: messages.length };
}
