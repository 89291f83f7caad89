// Every Redis connection Octoway opens comes from here: one server (redis:// or rediss://, with its
// db), the master of a Sentinel group, or a Cluster from seeds, failing fast while down,
// reconnecting with capped backoff, and a log line on each change of state. The URL's credentials
// are never logged.
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import { OctowayError } from '../errors.js';
import type { Logger } from '../log.js';

export type RedisClient = Redis | Cluster;

export interface RedisSettings {
  /** WS_REDIS_URL: one URL, or a comma list of seeds when `cluster`, or of Sentinels with `sentinel`. */
  readonly url: string;
  readonly cluster: boolean;
  /** The Sentinel master group name: the client asks the Sentinels for its current master and
   * follows failovers. The URL's credentials and db are the master's. */
  readonly sentinel?: string | undefined;
}

export interface RedisConnection {
  /** Commands and scripts. Fails at once while disconnected, so a publish is refused, not delayed. */
  readonly client: RedisClient;
  /** The delivery bus: a connection in subscribe mode can run nothing else. Subscriptions are the
   * caller's to make on each 'ready' (they are not resent by themselves). */
  readonly subscriber: RedisClient;
  readonly cluster: boolean;
  /** Waits for the replies of commands already sent, then disconnects. */
  close(): Promise<void>;
}

/** A command with no reply by then fails (503), rather than holding the publisher forever. */
const COMMAND_TIMEOUT_MS = 5_000;
const CONNECT_TIMEOUT_MS = 3_000;
const MAX_BACKOFF_MS = 2_000;

const backoff = (attempt: number): number => Math.min(50 * 2 ** Math.min(attempt, 10), MAX_BACKOFF_MS);

interface Endpoint {
  readonly host: string;
  readonly port: number;
  readonly username: string | undefined;
  readonly password: string | undefined;
  readonly db: number;
  readonly tls: boolean;
}

export function connectRedis(settings: RedisSettings, log: Logger): RedisConnection {
  const endpoints = settings.url.split(',').map((u) => parseEndpoint(u.trim(), settings.cluster));
  const client = createClient(endpoints, settings, 'commands', log);
  const subscriber = createClient(endpoints, settings, 'bus', log);
  return {
    client,
    subscriber,
    cluster: settings.cluster,
    async close() {
      await Promise.all([client, subscriber].map((c: RedisClient) => c.quit().then(() => undefined, () => c.disconnect())));
    },
  };
}

/** One client with Octoway's options and state logging. `role` names it in logs and CLIENT LIST. */
function createClient(endpoints: readonly Endpoint[], { cluster, sentinel }: RedisSettings, role: 'commands' | 'bus', log: Logger): RedisClient {
  const first = endpoints[0] as Endpoint;
  const bus = role === 'bus';
  const base: RedisOptions = {
    connectionName: `octoway-${role}`,
    connectTimeout: CONNECT_TIMEOUT_MS,
    // A command in flight when the connection drops fails instead of being resent: resending a
    // publish could deliver it twice, and the publisher is told 503 and retries with its message_id.
    maxRetriesPerRequest: bus ? null : 0,
    autoResubscribe: false,
    ...(bus ? {} : { commandTimeout: COMMAND_TIMEOUT_MS, enableAutoPipelining: true }),
    ...(first.username === undefined ? {} : { username: first.username }),
    ...(first.password === undefined ? {} : { password: first.password }),
    ...(first.tls ? { tls: {} } : {}),
  };
  // Only the bus may queue (its SUBSCRIBE, while connecting); commands never wait.
  const single: RedisOptions = { ...base, db: first.db, enableOfflineQueue: bus, retryStrategy: backoff };
  const client: RedisClient = cluster
    ? new Cluster(endpoints.map(({ host, port }) => ({ host, port })), {
      enableOfflineQueue: bus,
      enableAutoPipelining: !bus,
      clusterRetryStrategy: backoff,
      redisOptions: base,
    } satisfies ClusterOptions)
    : new Redis(sentinel === undefined ? { ...single, host: first.host, port: first.port } : {
      ...single,
      sentinels: endpoints.map(({ host, port }) => ({ host, port })),
      name: sentinel,
      sentinelRetryStrategy: backoff,
      // Listens for the Sentinels' +switch-master, so a failover moves the connection at once
      // instead of when the old master (now a replica) refuses a write.
      failoverDetector: true,
      ...(first.tls ? { enableTLSForSentinelMode: true, sentinelTLS: {} } : {}),
    });
  watch(client, log.child({ role, endpoint: endpoints.map((e) => `${e.host}:${e.port}`).join(',') }));
  return client;
}

/** One line per change of state; during an outage the repeated attempts and errors go to debug. */
function watch(client: RedisClient, log: Logger): void {
  let state: 'connecting' | 'ready' | 'lost' = 'connecting';
  let attempts = 0;
  client.on('ready', () => {
    log.info({ afterAttempts: attempts }, 'redis ready');
    state = 'ready';
    attempts = 0;
  });
  client.on('close', () => {
    if (state !== 'ready') return;
    state = 'lost';
    log.warn('redis connection lost');
  });
  client.on('reconnecting', (delayMs: unknown) => {
    attempts++;
    const line = { attempt: attempts, delayMs: typeof delayMs === 'number' ? delayMs : undefined };
    if (attempts === 1) log.warn(line, 'redis reconnecting');
    else log.debug(line, 'redis reconnecting');
  });
  client.on('error', (err: Error) => {
    if (attempts <= 1) log.warn({ reason: err.message }, 'redis error');
    else log.debug({ reason: err.message }, 'redis error');
  });
  client.on('end', () => log.info('redis connection closed'));
}

function parseEndpoint(text: string, cluster: boolean): Endpoint {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw invalid('is not a URL');
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') throw invalid('must start with redis:// or rediss://');
  const path = url.pathname.replace(/^\//, '');
  const db = path === '' ? 0 : Number(path);
  if (!/^\d*$/.test(path) || !Number.isSafeInteger(db)) throw invalid('has a path that is not a database number');
  if (cluster && db !== 0) throw invalid('names a database, which Redis Cluster does not have');
  return {
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port: url.port === '' ? 6379 : Number(url.port),
    username: url.username === '' ? undefined : decodeURIComponent(url.username),
    password: url.password === '' ? undefined : decodeURIComponent(url.password),
    db,
    tls: url.protocol === 'rediss:',
  };
}

/** The message names the problem, never the URL: it may carry a password. */
function invalid(problem: string): OctowayError {
  return new OctowayError('CONFIG_INVALID', `WS_REDIS_URL ${problem}`);
}
