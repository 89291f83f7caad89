// Configuration: one defaults object, parsed once from the environment, every problem reported
// together, and the result frozen. Variable names follow Goctopus so its deployments carry over.
import { isIP } from 'node:net';
import { parseDuration, parseSize } from './units.js';
import { MAX_EXPIRE_MS, MAX_EXPIRE_TEXT } from './delivery/message.js';
import { authModes, parseAuthUrl, readJwt, readPublishAuth, type AuthMode, type JwtSettings, type PublishAuthSettings, type Readers } from './config-auth.js';
import { readSeedListeners, SEED_DEFAULTS, SEED_PORTS, SEED_SECRETS, type SeedListeners } from './config-seeds.js';

export { AUTH_MODES, PUBLISH_AUTH_MODES } from './config-auth.js';
export type { AuthMode, JwtSettings, PublishAuthMode, PublishAuthSettings } from './config-auth.js';

export type DeliveryMode = 'at-most-once' | 'at-least-once';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface Config {
  readonly host: string;
  readonly port: number;
  /** WS_REUSE_PORT: share the port with other processes that set it too (SO_REUSEPORT). */
  readonly reusePort: boolean;
  /** WS_AUTH_URL; undefined when WS_AUTH_MODE does not list forward (or with WS_AUTHORIZER=dummy). */
  readonly authUrl: URL | undefined;
  /** Publish credentials; undefined only with WS_INSECURE_NO_AUTH=true. */
  readonly credentials: { readonly login: string; readonly password: string } | undefined;
  readonly msgExpireMs: number;
  /** WS_MSG_EXPIRE as written: the `exp` the admin listing shows for messages posted without one. */
  readonly msgExpire: string;
  readonly workers: number;
  readonly authQueue: number;
  readonly authTimeoutMs: number;
  readonly authForwardHeaders: readonly string[];
  readonly trustedProxies: readonly string[];
  readonly authCacheTtlMs: number;
  readonly authCacheNegativeTtlMs: number;
  readonly authCacheMax: number;
  readonly authExporter: string;
  readonly logLevel: LogLevel;
  readonly maxBodyBytes: number;
  readonly maxPayloadBytes: number;
  readonly maxBatch: number;
  readonly idleTimeoutS: number;
  readonly allowedOrigins: readonly string[];
  readonly maxConnections: number;
  readonly maxBackpressureBytes: number;
  /** Inbound frames per second one socket may send on average (twice that at once). */
  readonly maxInboundRate: number;
  readonly maxAcksInFlight: number;
  /** v2 client publishes per second one socket may send on average, and at once (its burst). */
  readonly clientPublishRate: number;
  readonly clientPublishBurst: number;
  /** Topics one v2 socket may be subscribed to at once. */
  readonly maxTopicsPerSocket: number;
  readonly delivery: DeliveryMode;
  readonly maxHeld: number;
  readonly maxHeldPerKey: number;
  readonly stateFile: string | undefined;
  readonly shutdownTimeoutMs: number;
  readonly redisUrl: string | undefined;
  readonly redisCluster: boolean;
  /** WS_REDIS_SENTINEL: the master group name; WS_REDIS_URL then lists Sentinels. */
  readonly redisSentinel: string | undefined;
  readonly redisPrefix: string;
  /** How long a node's sockets keep counting in cluster-wide presence after its last heartbeat. */
  readonly presenceTtlMs: number;

  // Goctopus's settings with no Octoway name before (docs/goctopus.md).
  /** WS_WRITE_TIMEOUT: a socket whose send buffer has not shrunk for this long is closed as a slow consumer; 0 = never. */
  readonly writeTimeoutMs: number;
  /** WS_AUTHORIZER: `dummy` authorizes every socket under one key (WS_AUTH_URL's text); development only. */
  readonly authorizer: 'proxy' | 'dummy';
  /** WS_AUTH_URL as written: with WS_AUTHORIZER=dummy, the one key every socket gets. */
  readonly authUrlText: string;
  readonly logFormat: 'json' | 'text';
  /** WS_SWEEP_INTERVAL: how often the memory store reclaims expired messages nobody reads. */
  readonly sweepIntervalMs: number;
  /** GET /metrics: on WS_PORT unless `port` (WS_METRICS_PORT) is set; behind Basic `credentials`
   * (WS_METRICS_LOGIN/WS_METRICS_PASSWORD) when set. */
  readonly metrics: { readonly port: number | undefined; readonly credentials: { readonly login: string; readonly password: string } | undefined };

  // Client auth modes and tickets.
  /** WS_AUTH_MODE: the modes an upgrade may use, without repeats, in the order given. */
  readonly authModes: readonly AuthMode[];
  /** WS_TICKET_TTL: a ticket's lifetime when POST /tickets gives neither `ttl` nor `expires_at`. */
  readonly ticketTtlMs: number;
  /** WS_TICKET_MAX: most unused tickets held in memory (without Redis). */
  readonly ticketMax: number;
  // Edge: compression, TLS and per-address rate limits (Goctopus 2026's variables).
  /** WS_COMPRESS: permessage-deflate (uWS's shared compressor) with clients that offer it. */
  readonly compress: boolean;
  /** WS_TLS_CERT / WS_TLS_KEY: PEM files served directly as wss:// and https://; both or neither. */
  readonly tls: { readonly certFile: string; readonly keyFile: string } | undefined;
  /** WS_RATE_LIMIT: requests (upgrades and API calls) per second per client address; 0 = off. */
  readonly rateLimit: number;
  /** WS_RATE_BURST: how many at once (the bucket's size); at least 1 when rateLimit > 0. */
  readonly rateBurst: number;
  /** WS_TRUST_PROXY_HEADERS=true (Goctopus): every peer is a trusted proxy; trustedProxies then
   * lists every address, and the start logs a warning. */
  readonly trustAllProxies: boolean;
  /** Recent messages kept per key for `GET /?key=K&history` (0: off), and their longest age. */
  readonly historySize: number;
  readonly historyTtlMs: number;
  /** WS_JWT_*: how JWTs are verified; undefined when no key is configured. */
  readonly jwt: JwtSettings | undefined;
  /** WS_JWT_COOKIE: the cookie a client JWT may come in; undefined when unset. */
  readonly jwtCookie: string | undefined;
  /** WS_PUBLISH_AUTH and the settings of its modes. */
  readonly publishAuth: PublishAuthSettings;
  /** The seed protocols' listeners (config-seeds.ts); each undefined when its port is unset. */
  readonly seeds: SeedListeners;
  /** A seed port set with neither WS_AUTH_URL nor WS_LOGIN: the main port serves health, readiness,
   * version and metrics only (no app, no publish API, no sockets). */
  readonly seedOnly: boolean;
}

/** Every default, as the operator would type it. The README's configuration table mirrors this. */
export const DEFAULTS = {
  WS_HOST: '0.0.0.0',
  WS_PORT: '7890',
  WS_REUSE_PORT: 'false',
  WS_AUTH_URL: '',
  WS_LOGIN: '',
  WS_PASSWORD: '',
  WS_INSECURE_NO_AUTH: 'false',
  WS_MSG_EXPIRE: '30m',
  WS_WORKERS: '128',
  WS_AUTH_QUEUE: '1024',
  WS_AUTH_TIMEOUT: '5s',
  WS_AUTH_FORWARD_HEADERS: '',
  WS_TRUSTED_PROXIES: '127.0.0.0/8,::1/128',
  WS_AUTH_CACHE_TTL: '0',
  WS_AUTH_CACHE_NEGATIVE_TTL: '0',
  WS_AUTH_CACHE_MAX: '10000',
  WS_AUTH_EXPORTER: 'goctopus',
  LOG_LEVEL: 'info',
  WS_MAX_BODY: '1MiB',
  WS_MAX_PAYLOAD: '64KiB',
  WS_MAX_BATCH: '1000',
  WS_IDLE_TIMEOUT: '60s',
  WS_ALLOWED_ORIGINS: '',
  WS_MAX_CONNECTIONS: '0',
  WS_MAX_BACKPRESSURE: '1MiB',
  WS_MAX_INBOUND_RATE: '1000',
  WS_MAX_ACKS_IN_FLIGHT: '2000',
  WS_CLIENT_PUBLISH_RATE: '10',
  WS_CLIENT_PUBLISH_BURST: '0',
  WS_MAX_TOPICS_PER_SOCKET: '100',
  WS_DELIVERY: 'at-most-once',
  WS_MAX_HELD: '1000000',
  WS_MAX_HELD_PER_KEY: '1000',
  WS_STATE_FILE: '',
  WS_SHUTDOWN_TIMEOUT: '10s',
  WS_REDIS_URL: '',
  WS_REDIS_CLUSTER: 'false',
  WS_REDIS_SENTINEL: '',
  WS_REDIS_PREFIX: 'octoway:',
  WS_PRESENCE_TTL: '10s',
  // Goctopus's settings (docs/goctopus.md says what each does here). WS_MAX_MESSAGE_SIZE and
  // WS_READ_TIMEOUT are its names for WS_MAX_BODY and WS_IDLE_TIMEOUT (config-sources.ts).
  WS_WRITE_TIMEOUT: '10s',
  WS_STORAGE: '',
  WS_AUTHORIZER: 'proxy',
  WS_LOG_FORMAT: 'json',
  WS_VERBOSE: 'false',
  WS_SWEEP_INTERVAL: '1s',
  /** Accepted and checked, with no effect: see docs/goctopus.md. */
  WS_PING_INTERVAL: '30s',
  WS_REDIS_KEY_TTL: '24h',
  WS_RECONCILE_INTERVAL: '0',
  // Client auth modes and tickets.
  WS_AUTH_MODE: 'forward',
  WS_TICKET_TTL: '60s',
  WS_TICKET_MAX: '100000',
  // Edge: compression, TLS and per-address rate limits.
  WS_COMPRESS: 'false',
  WS_TLS_CERT: '',
  WS_TLS_KEY: '',
  WS_RATE_LIMIT: '0',
  WS_RATE_BURST: '0',
  WS_TRUST_PROXY_HEADERS: 'false',
  WS_HISTORY_SIZE: '0',
  WS_HISTORY_TTL: '1h',
  // JWT verification
  WS_JWT_SECRET: '',
  WS_JWT_PUBLIC_KEY: '',
  WS_JWT_JWKS_URL: '',
  WS_JWT_JWKS_TIMEOUT: '5s',
  WS_JWT_JWKS_COOLDOWN: '30s',
  WS_JWT_ALGORITHMS: '',
  WS_JWT_AUDIENCE: '',
  WS_JWT_ISSUER: '',
  WS_JWT_LEEWAY: '0',
  WS_JWT_REQUIRE_EXP: 'false',
  WS_JWT_COOKIE: '',
  // Publisher auth
  WS_PUBLISH_AUTH: 'basic',
  WS_PUBLISH_TOKENS: '',
  WS_HMAC_SECRET: '',
  WS_HMAC_TOLERANCE: '5m',
  // GET /metrics (docs/operations.md): unset port = served on WS_PORT; unset login = no credentials.
  WS_METRICS_PORT: '',
  WS_METRICS_LOGIN: '',
  WS_METRICS_PASSWORD: '',
  // The seed protocols' listeners (config-seeds.ts).
  ...SEED_DEFAULTS,
} as const;

export type ConfigName = keyof typeof DEFAULTS;
type Env = Readonly<Record<string, string | undefined>>;

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(problems.join('\n'));
    this.name = 'ConfigError';
  }
}

/** Reads the configuration from `env`; throws one ConfigError listing every bad variable. */
export function loadConfig(env: Env): Config {
  const problems: string[] = [];
  const raw = (name: ConfigName): string => {
    const value = env[name];
    return value === undefined || value.trim() === '' ? DEFAULTS[name] : value.trim();
  };
  const bad = <T>(name: ConfigName, expected: string, fallback: T): T => {
    // An unset variable is said to be unset: `<hidden>` would claim a secret was given.
    const given = env[name] !== undefined && env[name].trim() !== '';
    problems.push(`${name}${given ? `=${JSON.stringify(isSecret(name) ? '<hidden>' : raw(name))}` : ' is not set'}: expected ${expected}`);
    return fallback;
  };
  const int = (name: ConfigName, min: number, max = Number.MAX_SAFE_INTEGER): number => {
    const text = raw(name);
    const n = Number(text);
    return /^\d+$/.test(text) && n >= min && n <= max ? n : bad(name, `a whole number from ${min} to ${max}`, min);
  };
  const duration = (name: ConfigName, minMs = 0, max?: { ms: number; text: string }): number => {
    const ms = parseDuration(raw(name));
    if (ms !== undefined && ms >= minMs && (max === undefined || ms <= max.ms)) return ms;
    const range = max === undefined ? (minMs > 0 ? ` of at least ${minMs}ms` : '') : (minMs > 0 ? ` of at least ${minMs}ms and at most ${max.text}` : ` of at most ${max.text}`);
    return bad(name, `a duration such as 300ms, 30s, 5m, 1h30m or 2d${range}`, minMs);
  };
  const size = (name: ConfigName, min = 1): number => {
    const bytes = parseSize(raw(name));
    return bytes !== undefined && bytes >= min ? bytes : bad(name, `a size of at least ${min} bytes, such as 1048576, 64KiB or 1MiB`, min);
  };
  const bool = (name: ConfigName): boolean => {
    const text = raw(name).toLowerCase();
    if (['true', '1', 'yes', 'on'].includes(text)) return true;
    if (['false', '0', 'no', 'off'].includes(text)) return false;
    return bad(name, 'true or false', false);
  };
  const list = (name: ConfigName): string[] => raw(name).split(',').map((s) => s.trim()).filter((s) => s !== '');

  const insecure = bool('WS_INSECURE_NO_AUTH');
  // Only seed listeners: a seed port set, and neither WS_AUTH_URL nor WS_LOGIN. The main
  // port then serves health, readiness, version and metrics only, so it needs neither.
  const seedOnly = SEED_PORTS.some((name) => raw(name) !== '') && raw('WS_AUTH_URL') === '' && (env.WS_LOGIN ?? '') === '' && !insecure;
  const goctopus = goctopusSettings(raw, bad, insecure);
  const modes = authModes(raw, bad, goctopus.authorizer);
  // WS_AUTH_URL is forward auth's (with the dummy authorizer, the one key): needed only with forward.
  const authUrl = modes.includes('forward') ? parseAuthUrl(raw('WS_AUTH_URL')) : undefined;
  if (!modes.includes('forward')) {
    // Nothing to check: WS_AUTH_URL, if given, is unused.
  } else if (goctopus.authorizer === 'dummy') {
    if (raw('WS_AUTH_URL') === '') bad('WS_AUTH_URL', 'the key every socket gets with WS_AUTHORIZER=dummy', 0);
  } else if (authUrl === undefined && !seedOnly) bad('WS_AUTH_URL', 'the http(s) URL of your auth endpoint, such as http://app:8000/api/is_authenticated (or a WS_AUTH_MODE without forward)', 0);

  const login = env.WS_LOGIN ?? '';
  const password = env.WS_PASSWORD ?? '';
  const readers: Readers = { env, problems, raw, bad, duration, bool, list };
  const publishAuth = readPublishAuth(readers, { insecure: insecure || seedOnly, login, password, toleranceMs: duration('WS_HMAC_TOLERANCE', 1_000, TIMER_MAX) });
  const { jwt, jwtCookie } = readJwt(readers, { clientJwt: modes.includes('jwt'), publisherJwt: publishAuth.modes.includes('jwt'), timerMax: TIMER_MAX });

  const trustedProxies = list('WS_TRUSTED_PROXIES');
  for (const entry of trustedProxies) {
    if (!isAddressOrCidr(entry)) bad('WS_TRUSTED_PROXIES', `IP addresses or CIDRs separated by commas ("${entry}" is neither)`, 0);
  }
  // `*` is Goctopus's "any origin", which an empty list already means here.
  const givenOrigins = list('WS_ALLOWED_ORIGINS');
  const origins = givenOrigins.includes('*') ? [] : givenOrigins.map((o) => o.replace(/\/+$/, '').toLowerCase());
  for (const origin of origins) {
    if (!/^https?:\/\/[^/\s]+$/.test(origin)) bad('WS_ALLOWED_ORIGINS', `origins such as https://app.example.com separated by commas ("${origin}" is not one)`, 0);
  }

  const delivery = raw('WS_DELIVERY');
  if (delivery !== 'at-most-once' && delivery !== 'at-least-once') bad('WS_DELIVERY', 'at-most-once or at-least-once', 0);
  // WS_VERBOSE=true is Goctopus's debug logging; an explicit LOG_LEVEL wins.
  const logLevel = env.LOG_LEVEL === undefined || env.LOG_LEVEL.trim() === '' ? (bool('WS_VERBOSE') ? 'debug' : DEFAULTS.LOG_LEVEL) : raw('LOG_LEVEL');
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel)) bad('LOG_LEVEL', 'one of fatal, error, warn, info, debug, trace, silent', 0);
  const redisUrl = goctopus.storage === 'memory' ? '' : raw('WS_REDIS_URL') || (goctopus.storage === 'redis' ? GOCTOPUS_REDIS_URL : '');
  if (redisUrl !== '' && !redisUrl.split(',').every((u) => /^rediss?:\/\/./.test(u.trim()))) bad('WS_REDIS_URL', 'a redis:// or rediss:// URL (a comma list of them with WS_REDIS_CLUSTER=true or WS_REDIS_SENTINEL)', 0);
  const redisCluster = bool('WS_REDIS_CLUSTER');
  const redisSentinel = raw('WS_REDIS_SENTINEL');
  if (redisCluster && redisSentinel !== '') bad('WS_REDIS_SENTINEL', 'empty with WS_REDIS_CLUSTER=true (a Redis Cluster has no Sentinel)', 0);
  if (redisUrl.includes(',') && !redisCluster && redisSentinel === '') {
    bad('WS_REDIS_URL', 'one URL (a comma list needs WS_REDIS_CLUSTER=true or WS_REDIS_SENTINEL)', 0);
  }

  // Edge: compression, TLS and per-address rate limits.
  const tlsCert = raw('WS_TLS_CERT');
  const tlsKey = raw('WS_TLS_KEY');
  if (tlsCert === '' && tlsKey !== '') bad('WS_TLS_CERT', 'the certificate file (PEM) that goes with WS_TLS_KEY', 0);
  if (tlsKey === '' && tlsCert !== '') bad('WS_TLS_KEY', 'the private key file (PEM) that goes with WS_TLS_CERT', 0);
  const rateText = raw('WS_RATE_LIMIT');
  const rateLimit = /^\d+(\.\d+)?$/.test(rateText) && Number(rateText) <= RATE_MAX ? Number(rateText) : bad('WS_RATE_LIMIT', `requests per second per client address, a number from 0 (off) to ${RATE_MAX}, such as 10 or 0.5`, 0);
  const burstGiven = int('WS_RATE_BURST', 0, RATE_MAX);
  const trustAllProxies = bool('WS_TRUST_PROXY_HEADERS');
  const edge = {
    compress: bool('WS_COMPRESS'),
    tls: tlsCert !== '' && tlsKey !== '' ? { certFile: tlsCert, keyFile: tlsKey } : undefined,
    rateLimit,
    // 0 (the default): twice the rate, the ratio WS_MAX_INBOUND_RATE's bucket uses too.
    rateBurst: burstGiven > 0 ? burstGiven : Math.max(1, Math.ceil(2 * rateLimit)),
    trustAllProxies,
    // Replaces WS_TRUSTED_PROXIES's list for every reader (forward auth's X-Forwarded-*, rate limits).
    ...(trustAllProxies ? { trustedProxies: TRUST_EVERY_PEER } : {}),
  };

  const publishRate = int('WS_CLIENT_PUBLISH_RATE', 0, 1_000_000);
  const config: Config = {
    host: raw('WS_HOST'),
    port: int('WS_PORT', 0, 65535),
    reusePort: bool('WS_REUSE_PORT'),
    authUrl,
    credentials: insecure && (login === '' || password === '') ? undefined : { login, password },
    msgExpireMs: duration('WS_MSG_EXPIRE', 0, { ms: MAX_EXPIRE_MS, text: MAX_EXPIRE_TEXT }),
    msgExpire: raw('WS_MSG_EXPIRE'),
    workers: int('WS_WORKERS', 1, 100_000),
    authQueue: int('WS_AUTH_QUEUE', 0),
    authTimeoutMs: duration('WS_AUTH_TIMEOUT', 1, TIMER_MAX),
    authForwardHeaders: list('WS_AUTH_FORWARD_HEADERS').map((h) => h.toLowerCase()),
    trustedProxies,
    authCacheTtlMs: duration('WS_AUTH_CACHE_TTL'),
    authCacheNegativeTtlMs: duration('WS_AUTH_CACHE_NEGATIVE_TTL'),
    authCacheMax: int('WS_AUTH_CACHE_MAX', 1),
    authExporter: raw('WS_AUTH_EXPORTER'),
    logLevel: logLevel as LogLevel,
    maxBodyBytes: size('WS_MAX_BODY', 64),
    maxPayloadBytes: size('WS_MAX_PAYLOAD', 64),
    maxBatch: int('WS_MAX_BATCH', 1, 100_000),
    idleTimeoutS: Math.round(duration('WS_IDLE_TIMEOUT', 8_000, IDLE_TIMEOUT_MAX) / 1000),
    allowedOrigins: origins,
    maxConnections: int('WS_MAX_CONNECTIONS', 0),
    maxBackpressureBytes: size('WS_MAX_BACKPRESSURE', 1024),
    maxInboundRate: int('WS_MAX_INBOUND_RATE', 1, 1_000_000),
    maxAcksInFlight: int('WS_MAX_ACKS_IN_FLIGHT', 1, 1_000_000),
    clientPublishRate: publishRate,
    // 0 (the default): twice the rate, the ratio WS_MAX_INBOUND_RATE's bucket uses too.
    clientPublishBurst: int('WS_CLIENT_PUBLISH_BURST', 0, 1_000_000) || 2 * publishRate,
    maxTopicsPerSocket: int('WS_MAX_TOPICS_PER_SOCKET', 1, 10_000),
    delivery: delivery as DeliveryMode,
    maxHeld: int('WS_MAX_HELD', 1),
    maxHeldPerKey: int('WS_MAX_HELD_PER_KEY', 1),
    stateFile: raw('WS_STATE_FILE') === '' ? undefined : raw('WS_STATE_FILE'),
    shutdownTimeoutMs: duration('WS_SHUTDOWN_TIMEOUT', 0, TIMER_MAX),
    redisUrl: redisUrl === '' ? undefined : redisUrl,
    redisCluster,
    redisSentinel: redisSentinel === '' ? undefined : redisSentinel,
    redisPrefix: raw('WS_REDIS_PREFIX'),
    presenceTtlMs: duration('WS_PRESENCE_TTL', 1_000, TIMER_MAX),
    writeTimeoutMs: duration('WS_WRITE_TIMEOUT', 0, TIMER_MAX),
    authorizer: goctopus.authorizer,
    authUrlText: raw('WS_AUTH_URL'),
    logFormat: goctopus.logFormat,
    sweepIntervalMs: duration('WS_SWEEP_INTERVAL', 100, TIMER_MAX),
    authModes: modes,
    ticketTtlMs: duration('WS_TICKET_TTL', 1, { ms: MAX_EXPIRE_MS, text: MAX_EXPIRE_TEXT }),
    ticketMax: int('WS_TICKET_MAX', 1),
    ...edge,
    historySize: int('WS_HISTORY_SIZE', 0, 10_000),
    historyTtlMs: duration('WS_HISTORY_TTL', 1_000, { ms: MAX_EXPIRE_MS, text: MAX_EXPIRE_TEXT }),
    jwt,
    jwtCookie,
    publishAuth,
    metrics: metricsSettings(env, raw, int, bad),
    seedOnly,
    seeds: readSeedListeners(readers, [{ name: 'WS_PORT', port: Number(raw('WS_PORT')) }, { name: 'WS_METRICS_PORT', port: raw('WS_METRICS_PORT') === '' ? undefined : Number(raw('WS_METRICS_PORT')) }]),
  };
  // Accepted so a Goctopus environment starts unchanged, checked, and otherwise unused.
  duration('WS_PING_INTERVAL');
  duration('WS_REDIS_KEY_TTL');
  duration('WS_RECONCILE_INTERVAL');
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(config);
}

/** WS_METRICS_PORT (unset: /metrics is served on WS_PORT) and WS_METRICS_LOGIN/WS_METRICS_PASSWORD,
 * which come together or not at all. */
function metricsSettings(
  env: Env,
  raw: (name: ConfigName) => string,
  int: (name: ConfigName, min: number, max?: number) => number,
  bad: (name: ConfigName, expected: string, fallback: 0) => 0,
): Config['metrics'] {
  const login = env.WS_METRICS_LOGIN ?? '';
  const password = env.WS_METRICS_PASSWORD ?? '';
  if ((login === '') !== (password === '')) bad(login === '' ? 'WS_METRICS_LOGIN' : 'WS_METRICS_PASSWORD', 'set together with the other of WS_METRICS_LOGIN and WS_METRICS_PASSWORD, or neither', 0);
  if (login.includes(':')) bad('WS_METRICS_LOGIN', 'a login without ":" (Basic auth splits on it)', 0);
  const port = raw('WS_METRICS_PORT') === '' ? undefined : int('WS_METRICS_PORT', 0, 65535);
  if (port !== undefined && port !== 0 && String(port) === raw('WS_PORT')) bad('WS_METRICS_PORT', 'a port other than WS_PORT (or unset, to serve /metrics on WS_PORT)', 0);
  return {
    port,
    credentials: login === '' || password === '' ? undefined : { login, password },
  };
}

/** Goctopus's default Redis, used when WS_STORAGE=redis names no WS_REDIS_URL. */
const GOCTOPUS_REDIS_URL = 'redis://localhost:6379/0';

/** Goctopus's WS_STORAGE, WS_AUTHORIZER and WS_LOG_FORMAT, checked; `default` is its name for
 * memory and proxy. The dummy authorizer lets anyone connect as one key, so it needs the same
 * explicit WS_INSECURE_NO_AUTH=true as unauthenticated publishing. */
function goctopusSettings(
  raw: (name: ConfigName) => string,
  bad: (name: ConfigName, expected: string, fallback: 0) => 0,
  insecure: boolean,
): { storage: 'memory' | 'redis' | undefined; authorizer: 'proxy' | 'dummy'; logFormat: 'json' | 'text' } {
  const storage = raw('WS_STORAGE').toLowerCase();
  if (!['', 'default', 'memory', 'redis'].includes(storage)) bad('WS_STORAGE', 'memory or redis (or unset: Redis when WS_REDIS_URL is set)', 0);
  const authorizer = raw('WS_AUTHORIZER').toLowerCase();
  if (!['default', 'proxy', 'dummy'].includes(authorizer)) bad('WS_AUTHORIZER', 'proxy (forward auth to WS_AUTH_URL) or dummy', 0);
  if (authorizer === 'dummy' && !insecure) bad('WS_AUTHORIZER', 'proxy; dummy lets anyone connect and needs WS_INSECURE_NO_AUTH=true (development only)', 0);
  const logFormat = raw('WS_LOG_FORMAT').toLowerCase();
  if (logFormat !== 'json' && logFormat !== 'text') bad('WS_LOG_FORMAT', 'json or text', 0);
  return {
    storage: storage === 'redis' ? 'redis' : storage === '' ? undefined : 'memory',
    authorizer: authorizer === 'dummy' ? 'dummy' : 'proxy',
    logFormat: logFormat === 'text' ? 'text' : 'json',
  };
}

/** Durations that drive a timer: Node's timers take at most 2^31-1 ms and treat anything larger as
 * 1 ms (a shutdown deadline that fires at once, an auth sweep that spins). */
export const TIMER_MAX = { ms: 24 * 86_400_000, text: '24d' };
/** WS_RATE_LIMIT and WS_RATE_BURST at most: far above any one client's honest rate. */
const RATE_MAX = 1_000_000;
/** What WS_TRUST_PROXY_HEADERS=true makes WS_TRUSTED_PROXIES: every IPv4 and IPv6 address. */
const TRUST_EVERY_PEER: readonly string[] = Object.freeze(['0.0.0.0/0', '::/0']);
/** uWS aborts the process (not a catchable error) for an idle timeout over 960 s. */
const IDLE_TIMEOUT_MAX = { ms: 960_000, text: '960s' };

function isSecret(name: ConfigName): boolean {
  return name === 'WS_PASSWORD' || name === 'WS_REDIS_URL' || name === 'WS_JWT_SECRET' || name === 'WS_PUBLISH_TOKENS' || name === 'WS_HMAC_SECRET' || name === 'WS_METRICS_PASSWORD' || SEED_SECRETS.includes(name);
}


function isAddressOrCidr(entry: string): boolean {
  const [address, bits, extra] = entry.split('/');
  if (extra !== undefined || address === undefined) return false;
  const family = isIP(address);
  if (family === 0) return false;
  if (bits === undefined) return true;
  const n = Number(bits);
  return /^\d+$/.test(bits) && n <= (family === 4 ? 32 : 128);
}
