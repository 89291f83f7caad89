// reconnect-storm: every socket of a full gateway comes back at once after a restart, through forward auth.
import { createInterface } from 'node:readline';
import { assertOpened, openMany, WsConn, type FrameSink } from '../client/ws-client.js';
import { HttpConn } from '../client/http-publisher.js';
import { percentiles } from '../stats.js';
import { nowUs, serverRss, sleep, wsPath } from './common.js';
import type { Ctx, Metrics, Scenario } from './types.js';

const SOCKETS = 18_000;
const WORKERS = 128;
/** The auth mock answers each call this much later: a backend with some latency, so the calls the
 * gateway keeps in flight at once are visible to it. */
const AUTH_DELAY_MS = 2;
/** The JS SDK's reconnect schedule (clients/js: minDelay, maxDelay): attempt n (0-based) waits
 * uniformly within [0, min(cap, base * 2^n)), the first one included. A refusal's Retry-After, which
 * a browser never sees but a server-side client does, is honoured instead: Retry-After seconds plus
 * up to one more. */
const BACKOFF_BASE_MS = 500;
const BACKOFF_CAP_MS = 30_000;
const HANDSHAKE_TIMEOUT_MS = 5000;
/** A socket not back by then counts as lost and fails the run. */
const GIVE_UP_MS = 60_000;

const backoff = (attempt: number): number => Math.random() * Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.min(attempt, 16));

const path = (i: number): string => `${wsPath(`k${i}`)}&delay=${AUTH_DELAY_MS}`;

async function authStats(ctx: Ctx, reset = false): Promise<{ requests: number; maxInFlight: number }> {
  const c = new HttpConn(ctx.host, ctx.authPort);
  try {
    const r = await c.request('GET', reset ? '/__stats?reset=1' : '/__stats');
    return JSON.parse(r.body) as { requests: number; maxInFlight: number };
  } finally {
    c.close();
  }
}

/** Why an attempt failed, as counted: the HTTP status of a refusal, else the kind of connection error. */
function classify(conn: WsConn): { kind: string; retryAfterS: number | undefined } {
  const head = conn.refusedHead;
  if (head !== null) {
    const status = /^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 'bad-status';
    const ra = /\r\nretry-after:\s*(\d+)/i.exec(head)?.[1];
    return { kind: ra === undefined ? `http-${status}` : `http-${status}+retry-after`, retryAfterS: ra === undefined ? undefined : Number(ra) };
  }
  const e = conn.error ?? 'unknown';
  const kind = e.includes('ECONNREFUSED') ? 'connect-refused' : e.includes('ECONNRESET') ? 'reset' : e.includes('timed out') ? 'timeout' : e.includes('closed during handshake') ? 'closed-during-handshake' : 'other';
  return { kind, retryAfterS: undefined };
}

async function run(ctx: Ctx): Promise<Metrics> {
  let frames = 0;
  const sink: FrameSink = { onText: () => void frames++ };
  const opened = await openMany({ host: ctx.host, port: ctx.port, count: SOCKETS, path, inFlight: 200, sink, totalTimeoutMs: 180_000 });
  assertOpened(opened, 'reconnect-storm (before the restart)');
  await sleep(1000);

  // The new gateway's pid arrives on stdin once it answers /readyz; RSS is sampled from then on.
  let newPid = 0;
  const pidKnown = new Promise<void>((resolve) => {
    createInterface({ input: process.stdin }).on('line', (l) => {
      if (!l.startsWith('@@PID ')) return;
      newPid = Number(l.slice(6));
      ctx.serverPid = newPid;
      resolve();
    });
  });
  await authStats(ctx, true);
  const before = await authStats(ctx);

  const droppedAt = new Float64Array(SOCKETS);
  const backAt = new Float64Array(SOCKETS);
  const attempts = new Uint32Array(SOCKETS);
  const failures = new Map<string, number>();
  const retryAfters = new Map<number, number>();
  let back = 0;
  let allBack!: () => void;
  const done = new Promise<void>((resolve) => (allBack = resolve));

  const attempt = (i: number): void => {
    attempts[i]!++;
    const conn = new WsConn(i, sink);
    void conn.open(ctx.host, ctx.port, path(i), HANDSHAKE_TIMEOUT_MS).then((err) => {
      if (err === null) {
        backAt[i] = nowUs();
        if (++back === SOCKETS) allBack();
        return;
      }
      const { kind, retryAfterS } = classify(conn);
      failures.set(kind, (failures.get(kind) ?? 0) + 1);
      if (retryAfterS !== undefined) retryAfters.set(retryAfterS, (retryAfters.get(retryAfterS) ?? 0) + 1);
      const delay = retryAfterS !== undefined ? (retryAfterS + Math.random()) * 1000 : backoff(attempts[i]!);
      setTimeout(attempt, delay, i);
    });
  };
  for (const conn of opened.conns) {
    const i = conn.index;
    conn.socket!.once('close', () => {
      droppedAt[i] = nowUs();
      setTimeout(attempt, backoff(0), i);
    });
  }

  const restartAt = nowUs();
  process.stdout.write('@@RESTART\n');
  await pidKnown;
  const readyAt = nowUs();
  let peakRss = 0;
  const sampler = setInterval(() => {
    try {
      peakRss = Math.max(peakRss, serverRss(ctx));
    } catch {
      /* between the old process's exit and the new one's: nothing to read */
    }
  }, 50);
  const timeout = sleep(GIVE_UP_MS).then(() => 'timeout' as const);
  const outcome = await Promise.race([done, timeout]);
  clearInterval(sampler);
  const after = await authStats(ctx);
  if (outcome === 'timeout') {
    throw new Error(`${SOCKETS - back} of ${SOCKETS} sockets not back ${GIVE_UP_MS / 1000} s after the restart; failures: ${JSON.stringify(Object.fromEntries(failures))}`);
  }
  if (frames > 0) throw new Error(`${frames} unexpected frames on connect-only sockets`);

  const perSocketS = Float64Array.from(backAt, (t, i) => (t - droppedAt[i]!) / 1e6);
  const [p50S, p99S, maxS] = percentiles(perSocketS, SOCKETS, [50, 99, 100]);
  const firstDrop = droppedAt.reduce((a, b) => Math.min(a, b), Infinity);
  const lastBack = backAt.reduce((a, b) => Math.max(a, b), 0);
  const count = (kind: string): number => failures.get(kind) ?? 0;
  const refusedOther = [...failures].filter(([k]) => k.startsWith('http-') && k !== 'http-503+retry-after').reduce((n, [, v]) => n + v, 0);
  ctx.log(`reconnect-storm failures by kind: ${JSON.stringify(Object.fromEntries(failures))}; Retry-After values (s: refusals): ${JSON.stringify(Object.fromEntries([...retryAfters].sort((a, b) => a[0] - b[0])))}`);
  return {
    allBackS: (lastBack - firstDrop) / 1e6,
    restartToAllBackS: (lastBack - restartAt) / 1e6,
    restartS: (readyAt - restartAt) / 1e6,
    openBeforeS: (opened.endUs - opened.startUs) / 1e6,
    p50S: p50S!,
    p99S: p99S!,
    maxS: maxS!,
    maxAuthInFlight: after.maxInFlight,
    authCallsPerSocket: (after.requests - before.requests) / SOCKETS,
    attemptsPerSocket: attempts.reduce((n, a) => n + a, 0) / SOCKETS,
    refused503RetryAfter: count('http-503+retry-after'),
    refusedOther,
    connectErrors: [...failures].filter(([k]) => !k.startsWith('http-')).reduce((n, [, v]) => n + v, 0),
    peakRssMB: peakRss / 1e6,
  };
}

export const reconnectStorm: Scenario = {
  name: 'reconnect-storm',
  description:
    `${SOCKETS.toLocaleString('en-US')} sockets (one key each) open through forward auth with WS_WORKERS=${WORKERS} (cache off; the auth mock answers ` +
    `each call ${AUTH_DELAY_MS} ms late, so calls in flight overlap); then the gateway is restarted (SIGTERM, started again on the same port) and ` +
    `every client reconnects at once on the JS SDK's schedule: attempt n after a uniform delay within [0, min(${BACKOFF_CAP_MS / 1000} s, ` +
    `${BACKOFF_BASE_MS} ms × 2^n)) (full jitter), the first one within ${BACKOFF_BASE_MS} ms of the drop; a refusal's Retry-After (seen by server-side ` +
    'clients, not browsers) is honoured instead, plus up to 1 s. ' +
    'Reported: per socket, the time from its drop to its new 101 (p50, p99, max); the first drop → the last 101 (all back); the most auth calls ' +
    'the mock had in flight at once (must never exceed WS_WORKERS); refused attempts by kind (only 503 with Retry-After is expected, ' +
    'past WS_AUTH_QUEUE; connection errors while no gateway listens are counted apart); the restarted gateway\'s peak RSS (sampled every 50 ms). ' +
    `A socket not back within ${GIVE_UP_MS / 1000} s fails the run. Octoway only: the references have no auth to storm.`,
  targets: ['octoway'],
  variants: () => [{ name: '', env: { WS_WORKERS: String(WORKERS), WS_AUTH_CACHE_TTL: '0', WS_MAX_CONNECTIONS: '20000' } }],
  metrics: [
    { key: 'allBackS', label: 'first drop → all back', unit: 's', better: 'lower' },
    { key: 'restartToAllBackS', label: 'SIGTERM → all back', unit: 's', better: 'lower' },
    { key: 'restartS', label: 'SIGTERM → restarted gateway ready', unit: 's', better: 'lower' },
    { key: 'openBeforeS', label: 'opening the sockets before the restart', unit: 's', better: 'lower' },
    { key: 'p50S', label: 'per socket drop → back, p50', unit: 's', better: 'lower' },
    { key: 'p99S', label: 'per socket drop → back, p99', unit: 's', better: 'lower' },
    { key: 'maxS', label: 'per socket drop → back, max', unit: 's', better: 'lower' },
    { key: 'maxAuthInFlight', label: 'most auth calls in flight (backend view)', unit: '', better: 'none' },
    { key: 'authCallsPerSocket', label: 'auth calls/socket', unit: '', better: 'none' },
    { key: 'attemptsPerSocket', label: 'attempts/socket', unit: '', better: 'lower' },
    { key: 'refused503RetryAfter', label: 'refused: 503 + Retry-After', unit: '', better: 'none' },
    { key: 'refusedOther', label: 'refused: any other status', unit: '', better: 'lower' },
    { key: 'connectErrors', label: 'connection errors (gateway down, reset, timeout)', unit: '', better: 'none' },
    { key: 'peakRssMB', label: 'restarted gateway peak RSS', unit: 'MB', better: 'lower' },
  ],
  // Times, but the SIGTERM'd process's CPU cannot be told apart from other load once it has exited, so
  // a busy machine does not repeat the run: read its figures with the other-load note beside them.
  cpuSensitive: false,
  timeoutMs: 300_000,
  run,
};
