// The gateway's Prometheus metrics: one prom-client Registry per gateway (never the global default),
// the plain counters the working code bumps, and the collectors that turn both into metric families
// when /metrics is scraped. docs/operations.md lists every family and maps Goctopus's names to them.
//
// Cost: the hot paths (publish, fan-out, acknowledgements) only add to numbers in `counts` or in the
// hub; nothing here runs per frame. Gauges (connections, keys, held messages, queue load, Redis
// state) are read from their owners at scrape time. prom-client itself is called per auth backend
// call (the latency histogram), which costs well under a microsecond against a network round trip.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Authenticator } from '../identity/authenticator.js';
import type { AuthMeter } from '../identity/metered.js';
import type { HeldStore } from '../delivery/held-store.js';
import type { Hub } from '../delivery/hub.js';
import type { RedisConnection } from '../redis/connect.js';
import type { VersionInfo } from '../version.js';
import type { PublishCounts } from './publishes.js';

/** Tallies by error code or outcome: few distinct codes, so the map stays small. */
export class CodeCounts {
  readonly byCode = new Map<string, number>();
  /** Bound, so it can be handed out as a hook (a RefusalCount). */
  readonly add = (code: string): void => {
    this.byCode.set(code, (this.byCode.get(code) ?? 0) + 1);
  };
}

/** What the working code counts into, handed to each module at construction (server.ts). */
export interface Counts {
  readonly published: PublishCounts;
  readonly publishRefused: CodeCounts;
  readonly requestRefused: CodeCounts;
  readonly upgradeRefused: CodeCounts;
  readonly auth: AuthMeter;
}

/** What the gauges read on scrape, known once the gateway's parts exist. */
export interface Watched {
  readonly hub: Pick<Hub, 'size' | 'keyCount' | 'written'>;
  readonly store: Pick<HeldStore, 'stats'>;
  /** The authenticator's queue: calls waiting for a WS_WORKERS slot and calls in flight. */
  readonly authLoad: Authenticator['load'];
  /** Upgrades waiting for their auth answer. */
  readonly pendingUpgrades: () => number;
  readonly redis: RedisConnection | undefined;
  readonly ready: () => boolean;
  /** The seed listeners' open sockets, by listener name (none before they listen). */
  readonly listeners: () => ReadonlyArray<{ readonly name: string; sockets(): number }>;
}

export interface Metrics {
  readonly registry: Registry;
  readonly counts: Counts;
  /** Registers the gauges that read the gateway's parts; once, after they are built. */
  watch(parts: Watched): void;
}

/** Auth backend latency buckets, in seconds: a loopback backend answers in a millisecond or two,
 * a remote one in tens, and WS_AUTH_TIMEOUT caps it (5 s by default). */
const AUTH_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const P = 'octoway_';

export function createMetrics(version: VersionInfo): Metrics {
  const registry = new Registry();
  const registers = [registry];
  // Process CPU, memory, file descriptors, GC, and event-loop lag (nodejs_eventloop_lag_*).
  collectDefaultMetrics({ register: registry });

  const published: PublishCounts = { delivered: 0, held: 0, duplicate: 0, discarded: 0, connectionGone: 0, acknowledged: 0 };
  const authOutcomes = new CodeCounts();
  const authSeconds = new Histogram({
    name: `${P}auth_call_duration_seconds`, help: 'Duration of auth backend calls (WS_AUTH_URL), from the start inside the WS_WORKERS gate to the answer.',
    buckets: AUTH_BUCKETS, registers,
  });
  const counts: Counts = {
    published,
    publishRefused: new CodeCounts(),
    requestRefused: new CodeCounts(),
    upgradeRefused: new CodeCounts(),
    auth: {
      call(outcome, seconds) {
        authOutcomes.add(outcome);
        authSeconds.observe(seconds);
      },
      cache: { hits: 0, misses: 0 },
    },
  };

  const info = new Gauge({ name: `${P}build_info`, help: 'Always 1; labelled with the version, commit and Node.js version.', labelNames: ['version', 'commit', 'node'], registers });
  info.set({ version: version.version, commit: version.commit, node: version.node }, 1);
  counter(registers, 'messages_published_total', 'Messages accepted from backends, by what happened to each: delivered (written to at least one open socket), held (none open; kept for later), duplicate (a repeated message_id), discarded (none open and expire 0).',
    ['result'], () => [
      [{ result: 'delivered' }, published.delivered], [{ result: 'held' }, published.held],
      [{ result: 'duplicate' }, published.duplicate], [{ result: 'discarded' }, published.discarded]]);
  byCode(registers, 'publishes_refused_total', 'POST / requests answered with an error, by error code (docs/errors.md), RATE_LIMITED included.', counts.publishRefused);
  byCode(registers, 'requests_refused_total', 'Other HTTP requests (admin, probes, /metrics, unknown paths) answered with an error, by error code.', counts.requestRefused);
  byCode(registers, 'upgrades_refused_total', 'WebSocket upgrades refused, by error code (handshake, origin, limits, RATE_LIMITED, auth).', counts.upgradeRefused);
  counter(registers, 'messages_connection_gone_total', 'Messages to a connection (`connection`) that was no longer open anywhere: dropped, never held.', [], () => [[{}, published.connectionGone]]);
  counter(registers, 'acknowledgements_total', 'Acknowledgements ({"id"} frames) received from sockets.', [], () => [[{}, published.acknowledged]]);
  byCode(registers, 'auth_calls_total', 'Auth backend calls, by outcome: allowed, or the error code of the refusal.', authOutcomes, 'outcome');
  counter(registers, 'auth_cache_hits_total', 'Upgrades decided from the auth decision cache (WS_AUTH_CACHE_TTL).', [], () => [[{}, counts.auth.cache.hits]]);
  counter(registers, 'auth_cache_misses_total', 'Upgrades the auth decision cache could not decide (with the cache on).', [], () => [[{}, counts.auth.cache.misses]]);

  return {
    registry,
    counts,
    watch(parts) {
      const { hub, store } = parts;
      gauge(registers, 'connections', 'Open WebSocket connections on this node.', [], () => [[{}, hub.size]]);
      gauge(registers, 'listener_connections', 'Open WebSocket connections on this node\'s seed listeners (dSock, Driplet, notiflux, Philote), by listener; counted in connections too.', ['listener'], () =>
        parts.listeners().map((l) => [{ listener: l.name }, l.sockets()]));
      gauge(registers, 'keys', 'Routing keys with at least one open socket on this node.', [], () => [[{}, hub.keyCount]]);
      counter(registers, 'messages_delivered_total', 'Frames written to sockets on this node (one per socket per message).', [], () => [[{}, hub.written]]);
      const stats = store.stats();
      if (stats.held >= 0) gauge(registers, 'held_messages', 'Held messages (one per message and key) in the memory store.', [], () => [[{}, store.stats().held]]);
      if (stats.keys !== undefined) gauge(registers, 'held_keys', 'Keys with held messages in the memory store.', [], () => [[{}, store.stats().keys ?? 0]]);
      if (stats.expired !== undefined) counter(registers, 'messages_expired_total', 'Held messages removed because they expired (memory store).', [], () => [[{}, store.stats().expired ?? 0]]);
      counter(registers, 'messages_dropped_total', 'Held messages dropped to make room: past WS_MAX_HELD_PER_KEY (per_key) or WS_MAX_HELD (total).', ['reason'], () => {
        const s = store.stats();
        return [[{ reason: 'per_key' }, s.droppedPerKey], [{ reason: 'total' }, s.droppedTotal]];
      });
      gauge(registers, 'auth_queue', 'Auth backend calls waiting for a WS_WORKERS slot (waiting) and in flight (in_flight).', ['state'], () => [
        [{ state: 'waiting' }, parts.authLoad.waiting], [{ state: 'in_flight' }, parts.authLoad.inFlight]]);
      gauge(registers, 'upgrades_pending', 'WebSocket upgrades waiting for their auth answer.', [], () => [[{}, parts.pendingUpgrades()]]);
      gauge(registers, 'ready', '1 when /readyz answers 200 (listening, store reachable, not shutting down).', [], () => [[{}, parts.ready() ? 1 : 0]]);
      const { redis } = parts;
      if (redis !== undefined) {
        const clients = [['commands', redis.client], ['bus', redis.subscriber]] as const;
        gauge(registers, 'redis_connected', '1 while the Redis connection is established, by connection (commands, bus).', ['connection'], () =>
          clients.map(([name, c]) => [{ connection: name }, c.status === 'connect' || c.status === 'ready' ? 1 : 0]));
        gauge(registers, 'redis_ready', '1 while the Redis connection is ready for commands, by connection (commands, bus).', ['connection'], () =>
          clients.map(([name, c]) => [{ connection: name }, c.status === 'ready' ? 1 : 0]));
      }
    },
  };
}

type Labels = Record<string, string>;
type Samples = ReadonlyArray<readonly [Labels, number]>;

/** A counter whose value is read from plain numbers at scrape time (never incremented here). */
function counter(registers: Registry[], name: string, help: string, labelNames: string[], read: () => Samples): void {
  new Counter({
    name: P + name, help, labelNames, registers,
    collect() {
      this.reset();
      for (const [labels, value] of read()) this.inc(labels, value);
    },
  });
}

function byCode(registers: Registry[], name: string, help: string, counts: CodeCounts, label = 'code'): void {
  counter(registers, name, help, [label], () => [...counts.byCode].map(([code, n]) => [{ [label]: code }, n] as const));
}

/** A gauge read from its owner at scrape time. */
function gauge(registers: Registry[], name: string, help: string, labelNames: string[], read: () => Samples): void {
  new Gauge({
    name: P + name, help, labelNames, registers,
    collect() {
      for (const [labels, value] of read()) this.set(labels, value);
    },
  });
}
