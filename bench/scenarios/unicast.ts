// unicast: one socket per key, one POST per message, 64 POSTs in flight.
import { assertOpened, openMany, type WsConn } from '../client/ws-client.js';
import { runPool } from '../client/http-publisher.js';
import { Tracker } from '../client/tracker.js';
import { percentiles } from '../stats.js';
import { assertAllOpen, nowUs, parseSingle, publishers, singleBody, sleep, value, Window, wsPath } from './common.js';
import { PLAIN, TARGETS, type Ctx, type Metrics, type Scenario } from './types.js';

const KEYS = 2000;
const WARMUP_ROUNDS = 1;
const ROUNDS = 20;
const IN_FLIGHT = 64;

/** Opens one socket per key k0..k(n-1), socket i on key i. */
export async function openKeyed(ctx: Ctx, tracker: Tracker, n: number): Promise<WsConn[]> {
  const opened = await openMany({
    host: ctx.host,
    port: ctx.port,
    count: n,
    path: (i) => wsPath(`k${i}`),
    inFlight: 200,
    sink: tracker,
    init: (c, i) => tracker.register(c, i),
    totalTimeoutMs: 120_000,
  });
  assertOpened(opened, 'keyed sockets');
  return opened.conns;
}

async function run(ctx: Ctx): Promise<Metrics> {
  const total = (WARMUP_ROUNDS + ROUNDS) * KEYS;
  // Round-major order: m = round * KEYS + key, so a key's messages are KEYS POSTs apart (in order in practice).
  const tracker = new Tracker({
    messages: total,
    perKey: WARMUP_ROUNDS + ROUNDS,
    keyOf: (m) => m % KEYS,
    qOf: (m) => Math.floor(m / KEYS),
    strictOrder: false,
    latencySamples: total,
  });
  const conns = await openKeyed(ctx, tracker, KEYS);
  for (let m = 0; m < total; m++) tracker.expect(m, 1);
  await sleep(500);
  const pubs = publishers(ctx, IN_FLIGHT);
  const postIds: string[] = [];
  const bad: string[] = [];
  const post = async (m: number, conn: (typeof pubs)[number]): Promise<void> => {
    const r = await conn.request('POST', ctx.pubPath, singleBody(`k${m % KEYS}`, value(m, Math.floor(m / KEYS), 100)));
    const res = parseSingle(r.status, r.body);
    postIds[m] = res.id;
    if (res.delivered !== 1 && bad.length < 3) bad.push(`m=${m}: delivered=${res.delivered}`);
  };
  const warm = WARMUP_ROUNDS * KEYS;
  await runPool(pubs, warm, post, 60_000);
  await tracker.waitCount(warm, 10_000, conns, WARMUP_ROUNDS);
  const latFrom = tracker.nLat;

  const win = new Window(ctx);
  const n = total - warm;
  await runPool(pubs, total - warm, (i, c) => post(warm + i, c), 120_000);
  const postsDoneS = (nowUs() - win.t0) / 1e6;
  await tracker.waitAll(20_000, conns);
  const w = win.end();
  for (const p of pubs) p.close();
  tracker.verify(conns, postIds);
  assertAllOpen(conns);
  if (bad.length > 0) throw new Error(`publish answers with delivered ≠ 1: ${bad.join(', ')}`);

  const [p50, p99] = percentiles(tracker.lat.subarray(latFrom), tracker.nLat - latFrom, [50, 99]);
  return {
    postsPerSec: n / postsDoneS,
    deliveriesPerSec: n / w.wallS,
    p50Ms: p50! / 1000,
    p99Ms: p99! / 1000,
    serverCpuUsPerPost: w.serverCpuUs / n,
    serverCoreUsPerPost: w.serverCoreUs / n,
    clientCpuUsPerPost: w.clientCpuUs / n,
    serverCoreBusy: w.serverCpuUs / 1e6 / w.wallS,
    clientCoreBusy: w.clientCpuUs / 1e6 / w.wallS,
    outOfOrder: tracker.outOfOrder,
  };
}

export const unicast: Scenario = {
  name: 'unicast',
  description:
    '2,000 sockets, one key each; one warm-up round then 20 measured rounds of one POST per key (40,000 POSTs of a 100-byte value), ' +
    'round-major order, 64 keep-alive publisher connections with one POST in flight each. POSTs/s counts until the last 202, ' +
    'deliveries/s until the last frame; server CPU ÷ POSTs.',
  targets: TARGETS,
  variants: () => PLAIN,
  metrics: [
    { key: 'postsPerSec', label: 'POSTs/s', unit: '/s', better: 'higher' },
    { key: 'deliveriesPerSec', label: 'deliveries/s', unit: '/s', better: 'higher' },
    { key: 'p50Ms', label: 'p50 latency', unit: 'ms', better: 'lower' },
    { key: 'p99Ms', label: 'p99 latency', unit: 'ms', better: 'lower' },
    { key: 'serverCpuUsPerPost', label: 'server CPU/POST', unit: 'µs', better: 'lower' },
    { key: 'serverCoreUsPerPost', label: 'server core busy/POST (incl. softirq)', unit: 'µs', better: 'lower' },
    { key: 'clientCpuUsPerPost', label: 'client CPU/POST', unit: 'µs', better: 'none' },
    { key: 'serverCoreBusy', label: 'server process CPU', unit: 'cores', better: 'none' },
    { key: 'clientCoreBusy', label: 'client process CPU', unit: 'cores', better: 'none' },
  ],
  cpuSensitive: true,
  timeoutMs: 300_000,
  run,
};
