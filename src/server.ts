// The gateway: joins configuration, auth, delivery and the HTTP API on one uWS app, and owns
// its lifecycle (listen, readiness, graceful shutdown). The only module that knows every piece.
import uWS from 'uWebSockets.js';
import type { Config } from './config.js';
import { DEFAULT_APP, createConnections } from './socket/connection.js';
import type { AppConfig } from './config-apps.js';
import { mountApp, refuseUnknownApps, type MountedApp } from './apps.js';
import { createConcurrencyGate } from './identity/gate.js';
import type { SocketActivity } from './socket/behavior.js';
import { CLOSE_CODES } from './errors.js';
import type { Logger } from './log.js';
import { versionInfo } from './version.js';
import { createHub } from './delivery/hub.js';
import { createDispatcher } from './delivery/dispatcher.js';
import type { Broker } from './delivery/broker.js';
import type { Hub } from './delivery/hub.js';
import { createMemoryBroker } from './delivery/memory-broker.js';
import { MemoryStore } from './delivery/memory-store.js';
import { createRedisBroker } from './delivery/redis-broker.js';
import { RedisStore } from './delivery/redis-store.js';
import { MemoryHistory, type History } from './delivery/history.js';
import { RedisHistory } from './delivery/redis-history.js';
import { connectRedis, type RedisConnection } from './redis/connect.js';
import { Keyspace } from './redis/keyspace.js';
import { checkStateFileWritable, markLoaded, readStateFile, saveStateOrFallback, type SaveOutcome } from './delivery/state-file.js';
import { listen } from './listen.js';
import { createApp } from './tls.js';
import { createRateLimit } from './http/rate-limit.js';
import { createProxyMatcher } from './identity/proxies.js';
import { createMetrics } from './metrics/registry.js';
import { basicAuth } from './http/credentials.js';
import { countPublishes } from './metrics/publishes.js';
import { createNodeAnswer } from './control/node-answer.js';
import { withConnectionTargets } from './delivery/connection-targets.js';
import { createMemoryControl } from './control/control-memory.js';
import { createRedisControl } from './control/control-redis.js';
import { listenMetrics, serveOnApp, type MetricsServer } from './metrics/endpoint.js';
import { startSeedListeners } from './protocols/listeners.js';
import type { SeedListener } from './protocols/listener.js';
import { registerProbesOnly } from './http/probes.js';
import { MemoryTickets } from './identity/memory-tickets.js';
import { RedisTickets } from './identity/redis-tickets.js';

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
/** How long a control request (POST /disconnect, GET /connections, GET /presence) waits for the
 * other nodes' answers: a node slower than this is reported unanswered. */
const CONTROL_TIMEOUT_MS = 2_000;

/** `apps`: every app (src/config-apps.ts), the default first; the default app alone when undefined. */
export async function startGateway(config: Config, log: Logger, apps: readonly AppConfig[] = [{ name: DEFAULT_APP, config }]): Promise<Gateway> {
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

  const app = createApp(config.tls, log);
  const hub = createHub(app, config.maxBackpressureBytes, config.writeTimeoutMs, config.compress);
  const broker = createBroker(config, { hub, store, redis, keyspace }, log);
  const history = createHistory(config, redis, keyspace);
  // The control plane: this node's sockets answer through it; with Redis, every node's do.
  const answerHere = createNodeAnswer({ hub, topicsOf: (ws) => { const state = hub.nativeOf(ws); return state === undefined ? [] : [...state.subscribed]; } });
  const control = redis === undefined ? createMemoryControl(answerHere) : createRedisControl({
    connection: redis, channel: keyspace.channel, answer: answerHere, timeoutMs: CONTROL_TIMEOUT_MS, unavailable: () => broker.unavailable(), log: log.child({ component: 'control' }),
  });
  const dispatcher = countPublishes(withConnectionTargets(createDispatcher({
    hub, store, broker, mode: config.delivery, defaultIdempotencyTtlMs: config.msgExpireMs, maxAcksInFlight: config.maxAcksInFlight, history, log,
  }), control), counts.published);
  let listenSocket: uWS.us_listen_socket | undefined;
  let seedListeners: SeedListener[] | undefined;
  let shuttingDown = false;
  /** How close() saved the held messages, once it has: saveNow must not save the store again
   * after close() released it. */
  let savedAtClose: SaveOutcome | undefined;

  // One budget per client address, shared by upgrades and API requests; undefined when off.
  const rateLimit = createRateLimit({ perSecond: config.rateLimit, burst: config.rateBurst, isTrusted: createProxyMatcher(config.trustedProxies) });
  const activity: SocketActivity = { opened: 0, closed: 0 };
  const readiness = (): { ready: boolean; reason?: string } => {
    if (shuttingDown) return { ready: false, reason: 'shutting down' };
    const reason = broker.unavailable();
    // Ready once every listener listens: the main one, then the seed listeners (seedListeners set).
    return reason === undefined ? { ready: listenSocket !== undefined && seedListeners !== undefined } : { ready: false, reason };
  };
  // Apps (docs/apps.md): one WS_WORKERS gate and one record builder for all of them.
  const gate = createConcurrencyGate({ workers: config.workers, queueLimit: config.authQueue }, log.child({ component: 'auth' }));
  const connections = createConnections();
  const shared = {
    uws: app, dispatcher, hub, store, history, redis, keyspace, gate, connections, rateLimit, counts, activity, readiness, version, log,
    presence: store instanceof RedisStore ? () => store.presence() : async () => hub.presence(),
    shuttingDown: () => shuttingDown,
    anyOpenSocket: () => hub.sockets().next().value,
    control,
    alone: apps.length === 1,
  };
  const mounted: MountedApp[] = [];
  if (config.seedOnly) {
    registerProbesOnly(app, { readiness, version, refused: counts.requestRefused.add, log });
  } else {
    for (const appConfig of apps) mounted.push(await mountApp(appConfig, shared));
    refuseUnknownApps(app, counts.requestRefused.add, log);
  }
  const authLoad = {
    get waiting() { return mounted.reduce((n, m) => n + m.authLoad.waiting, 0); },
    get inFlight() { return mounted.reduce((n, m) => n + m.authLoad.inFlight, 0); },
  };
  metrics.watch({ hub, store, authLoad, pendingUpgrades: () => mounted.reduce((n, m) => n + m.pendingUpgrades(), 0), redis, ready: () => readiness().ready, listeners: () => seedListeners ?? [] });
  const scrape = { registry: metrics.registry, checkCredentials: basicAuth(config.metrics.credentials), refused: counts.requestRefused.add, log };
  if (config.metrics.port === undefined) serveOnApp(app, scrape);

  // First, so a WS_METRICS_PORT in use stops the start before the gateway takes any traffic.
  const metricsServer: MetricsServer | undefined = config.metrics.port === undefined ? undefined : await listenMetrics(config.host, config.metrics.port, scrape);
  if (metricsServer !== undefined) log.info({ port: metricsServer.port }, 'metrics listening');
  listenSocket = await listen(app, config.host, config.port, config.reusePort);
  // The seed protocols' listeners: their own ports, this node's hub and dispatcher.
  seedListeners = await startSeedListeners(config.seeds, {
    hub, dispatcher, connections, activity, version, log, shuttingDown: () => shuttingDown, control, redis, keyspace,
    // A listener's tickets open its sockets only: Redis names of their own, apart from every app's (apps.ts).
    tickets: (name) => redis === undefined ? new MemoryTickets(config.ticketMax) : new RedisTickets(redis.client, new Keyspace(`${config.redisPrefix}listener:${name}:`), log.child({ component: 'tickets', listener: name })),
    host: config.host, reusePort: config.reusePort, tls: config.tls,
    limits: { maxPayloadBytes: config.maxPayloadBytes, maxBackpressureBytes: config.maxBackpressureBytes, maxBodyBytes: config.maxBodyBytes, inbound: { framesPerSecond: config.maxInboundRate, burst: 2 * config.maxInboundRate } },
  });
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
  if (config.trustAllProxies) log.warn('WS_TRUST_PROXY_HEADERS=true: X-Forwarded-For is believed from every peer, so any client can choose the address its rate limit and auth backend see; list your proxies in WS_TRUSTED_PROXIES instead');
  log.info({ host: config.host, port, node: connections.node, delivery: config.delivery, apps: config.seedOnly ? [] : apps.map((a) => a.name), listeners: seedListeners.map((l) => l.name) }, 'listening');

  return {
    port,
    async close() {
      if (shuttingDown) return;
      shuttingDown = true;
      clearInterval(sweep);
      clearInterval(activityLog);
      if (listenSocket !== undefined) uWS.us_listen_socket_close(listenSocket);
      listenSocket = undefined;
      for (const listener of seedListeners ?? []) listener.close();
      await metricsServer?.close();
      for (const ws of [...hub.sockets()]) ws.end(CLOSE_GOING_AWAY.code, CLOSE_GOING_AWAY.reason);
      for (const one of mounted) await one.close();
      control.close();
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

function createBroker(config: Config, parts: { hub: Hub; store: MemoryStore | RedisStore; redis: RedisConnection | undefined; keyspace: Keyspace }, log: Logger): Broker {
  const { hub, store, redis, keyspace } = parts;
  if (store instanceof MemoryStore) return createMemoryBroker({ hub, store, mode: config.delivery });
  if (redis === undefined) throw new Error('a Redis store without a Redis connection');
  return createRedisBroker({
    connection: redis, keyspace, store, hub, mode: config.delivery, presenceTtlMs: config.presenceTtlMs, log: log.child({ component: 'broker' }),
    history: config.historySize === 0 ? undefined : { size: config.historySize, ttlMs: config.historyTtlMs },
  });
}

function createHistory(config: Config, redis: RedisConnection | undefined, keyspace: Keyspace): History | undefined {
  if (config.historySize === 0) return undefined;
  const limits = { size: config.historySize, ttlMs: config.historyTtlMs };
  // In memory, as many entries in all as WS_MAX_HELD allows held messages.
  return redis === undefined ? new MemoryHistory(limits, Math.floor(config.maxHeld / config.historySize)) : new RedisHistory(redis.client, redis.subscriber, keyspace, limits);
}

async function restoreState(path: string, store: MemoryStore): Promise<{ path: string; messages: number }> {
  await checkStateFileWritable(path);
  const messages = await readStateFile(path);
  for (const message of messages) store.holdSync(message, [message.key]);
  return { path, messages: messages.length };
}
