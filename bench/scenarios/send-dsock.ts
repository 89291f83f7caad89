// send-dsock: the real dSock's own measurement through Octoway's dSock listener: 500 users
// with one socket each (`/connect?jwt=`), 20 `POST /send?user=…&type=text` to each, 64 in flight on
// keep-alive connections; every socket checks it got its own 20 messages, each once, in order.
import WebSocket from 'ws';
import { SignJWT } from 'jose';
import { HttpConn, runPool } from '../client/http-publisher.js';
import { nowUs, serverRss, sleep, Window, openWs } from './common.js';
import type { Ctx, Metrics, Scenario } from './types.js';

const TOKEN = 'bench-dsock-token';
const JWT_SECRET = 'bench-dsock-jwt-secret-0123456789abcdef';
const USERS = 500;
const SENDS = 20;
const IN_FLIGHT = 64;
const SIZE = 100;
/** dSock's measurement, for the ratio shown (its API and worker on Redis, one core). */
const REAL_DSOCK_MESSAGES_PER_SEC = 4_900;

const open = (url: string): Promise<WebSocket> => openWs(url);

async function run(ctx: Ctx): Promise<Metrics> {
  const port = ctx.listeners?.WS_DSOCK_PORT;
  if (port === undefined) throw new Error('send-dsock needs the runner to set WS_DSOCK_PORT');
  await sleep(1000);
  const rss0 = serverRss(ctx);
  const key = new TextEncoder().encode(JWT_SECRET);
  const total = USERS * SENDS;
  /** Per user, the next message number (0..SENDS-1) it expects. */
  const next = new Int32Array(USERS);
  const sentAt = new Float64Array(total);
  const latencies: number[] = [];
  let received = 0;
  let failure: Error | undefined;
  let allIn: (() => void) | undefined;
  const sockets: WebSocket[] = [];
  for (let u = 0; u < USERS; u++) {
    const jwt = await new SignJWT({ sub: `user-${u}` }).setProtectedHeader({ alg: 'HS256' }).sign(key);
    const ws = await open(`ws://${ctx.host}:${port}/connect?jwt=${jwt}`);
    const user = u;
    ws.on('message', (data: Buffer) => {
      // `<user> <n> <padding>`: this user's, and the next one.
      const text = data.toString();
      const space = text.indexOf(' ');
      const from = Number(text.slice(0, space));
      const n = Number(text.slice(space + 1, text.indexOf(' ', space + 1)));
      if (from !== user || n !== next[user]) failure ??= new Error(`user ${user} got ${from}/${n}, expected ${user}/${next[user]}`);
      next[user] = n + 1;
      latencies.push(nowUs() - (sentAt[user * SENDS + n] as number));
      if (++received === total) allIn?.();
    });
    sockets.push(ws);
  }
  const rss1 = serverRss(ctx);
  const conns = Array.from({ length: IN_FLIGHT }, () => new HttpConn(ctx.host, port));
  const credentials = `Authorization: Bearer ${TOKEN}\r\n`;
  const padding = 'x'.repeat(SIZE);
  const done = new Promise<void>((resolve) => { allIn = resolve; });
  const window = new Window(ctx);
  // Round by round, as dSock's measurement: each user's n-th send before anyone's (n+1)-th, so a
  // user's sends are in order but never two in flight to one user from different connections.
  await runPool(conns, total, async (i, conn) => {
    const n = Math.floor(i / USERS);
    const user = i % USERS;
    sentAt[user * SENDS + n] = nowUs();
    const r = await conn.request('POST', `/send?user=user-${user}&type=text`, `${user} ${n} ${padding}`, credentials);
    if (r.status !== 200 || r.body !== '{"success":true}') failure ??= new Error(`/send answered ${r.status} ${r.body}`);
  }, 120_000);
  await Promise.race([done, sleep(30_000)]);
  const w = window.end();
  for (const c of conns) c.close();
  for (const ws of sockets) ws.terminate();
  if (failure !== undefined) throw failure;
  if (received !== total) throw new Error(`${received} of ${total} messages arrived`);
  latencies.sort((a, b) => a - b);
  const pct = (p: number): number => (latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] as number) / 1000;
  const messagesPerSec = total / w.wallS;
  return {
    messagesPerSec,
    timesRealDsock: messagesPerSec / REAL_DSOCK_MESSAGES_PER_SEC,
    p50Ms: pct(50),
    p99Ms: pct(99),
    serverCpuUsPerMessage: w.serverCpuUs / total,
    serverCoreBusy: w.serverCpuUs / 1e6 / w.wallS,
    clientCoreBusy: w.clientCpuUs / 1e6 / w.wallS,
    memPerSocketBytes: (rss1 - rss0) / USERS,
    ...(ctx.redisPid ? { redisCpuUsPerMessage: w.redisCpuUs / total } : {}),
  };
}

export const sendDsock: Scenario = {
  name: 'send-dsock',
  description:
    `The real dSock's own measurement through Octoway's dSock listener (WS_DSOCK_PORT): ${USERS} users with one socket each ` +
    `(\`/connect?jwt=\`), ${SENDS} \`POST /send?user=…&type=text\` of about ${SIZE} bytes to each, ${IN_FLIGHT} in flight on keep-alive ` +
    'connections; every socket checks its own messages, each once, in order. messages/s = all sends ÷ window (first send to last ' +
    `frame). The real dSock v0.2.0 (API and worker on Redis, pinned to one core) delivered ${REAL_DSOCK_MESSAGES_PER_SEC / 1000}k messages/s ` +
    'on this workload; "× real dSock" divides by that. Variants: one node in memory, and one node on Redis as dSock runs.',
  targets: ['octoway'],
  variants: () => [
    { name: 'memory', env: { WS_DSOCK_TOKEN: TOKEN, WS_DSOCK_JWT_SECRET: JWT_SECRET }, listenerPorts: ['WS_DSOCK_PORT'] },
    { name: 'redis', env: { WS_DSOCK_TOKEN: TOKEN, WS_DSOCK_JWT_SECRET: JWT_SECRET }, listenerPorts: ['WS_DSOCK_PORT'], redisNodes: 1 },
  ],
  metrics: [
    { key: 'messagesPerSec', label: 'messages/s', unit: '/s', better: 'higher' },
    { key: 'timesRealDsock', label: '× real dSock (4.9k/s)', unit: '×', better: 'higher' },
    { key: 'p50Ms', label: 'p50 latency', unit: 'ms', better: 'lower' },
    { key: 'p99Ms', label: 'p99 latency', unit: 'ms', better: 'lower' },
    { key: 'serverCpuUsPerMessage', label: 'server CPU/message', unit: 'µs', better: 'lower' },
    { key: 'redisCpuUsPerMessage', label: 'Redis CPU/message', unit: 'µs', better: 'lower' },
    { key: 'serverCoreBusy', label: 'server process CPU', unit: 'cores', better: 'none' },
    { key: 'clientCoreBusy', label: 'client process CPU', unit: 'cores', better: 'none' },
  ],
  cpuSensitive: true,
  timeoutMs: 180_000,
  run,
};
