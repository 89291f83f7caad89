// batch: one socket per key, 1,000 messages per POST.
import { runPool } from '../client/http-publisher.js';
import { Tracker } from '../client/tracker.js';
import { percentiles } from '../stats.js';
import { assertAllOpen, batchBody, nowUs, parseBatch, publishers, sleep, value, Window } from './common.js';
import { openKeyed } from './unicast.js';
import { PLAIN, TARGETS, type Ctx, type Metrics, type Scenario } from './types.js';

const KEYS = 2000;
const PER_POST = 1000;
const WARMUP_POSTS = 4;
const POSTS = 100;
const IN_FLIGHT = 4;

async function run(ctx: Ctx): Promise<Metrics> {
  const total = (WARMUP_POSTS + POSTS) * PER_POST;
  const tracker = new Tracker({
    messages: total,
    perKey: total / KEYS,
    keyOf: (m) => m % KEYS,
    qOf: (m) => Math.floor(m / KEYS),
    // POSTs j and j+2 carry the same keys and may overlap with 4 in flight: order is counted, not required.
    strictOrder: false,
    latencySamples: total,
  });
  const conns = await openKeyed(ctx, tracker, KEYS);
  for (let m = 0; m < total; m++) tracker.expect(m, 1);
  await sleep(500);
  const pubs = publishers(ctx, IN_FLIGHT);
  const postIds: string[] = [];
  let bad = '';
  const post = async (j: number, conn: (typeof pubs)[number]): Promise<void> => {
    const items = [];
    for (let i = 0; i < PER_POST; i++) {
      const m = j * PER_POST + i;
      items.push({ key: `k${m % KEYS}`, value: value(m, Math.floor(m / KEYS), 100) });
    }
    const r = await conn.request('POST', ctx.pubPath, batchBody(items));
    const results = parseBatch(r.status, r.body, PER_POST);
    results.forEach((res, i) => {
      postIds[j * PER_POST + i] = res.id;
      if (res.delivered !== 1 && bad === '') bad = `m=${j * PER_POST + i}: delivered=${res.delivered}`;
    });
  };
  await runPool(pubs, WARMUP_POSTS, post, 60_000);
  await tracker.waitCount(WARMUP_POSTS * PER_POST, 10_000, conns, (WARMUP_POSTS * PER_POST) / KEYS);
  const latFrom = tracker.nLat;

  const win = new Window(ctx);
  await runPool(pubs, POSTS, (i, c) => post(WARMUP_POSTS + i, c), 120_000);
  const postsDoneS = (nowUs() - win.t0) / 1e6;
  await tracker.waitAll(20_000, conns);
  const w = win.end();
  for (const p of pubs) p.close();
  tracker.verify(conns, postIds);
  assertAllOpen(conns);
  if (bad !== '') throw new Error(`batch answer with delivered ≠ 1: ${bad}`);

  const n = POSTS * PER_POST;
  const [p50, p99] = percentiles(tracker.lat.subarray(latFrom), tracker.nLat - latFrom, [50, 99]);
  return {
    deliveriesPerSec: n / w.wallS,
    postsPerSec: POSTS / postsDoneS,
    p50Ms: p50! / 1000,
    p99Ms: p99! / 1000,
    serverCpuUsPerDelivery: w.serverCpuUs / n,
    serverCoreUsPerDelivery: w.serverCoreUs / n,
    clientCpuUsPerDelivery: w.clientCpuUs / n,
    serverCoreBusy: w.serverCpuUs / 1e6 / w.wallS,
    clientCoreBusy: w.clientCpuUs / 1e6 / w.wallS,
    outOfOrder: tracker.outOfOrder,
  };
}

export const batch: Scenario = {
  name: 'batch',
  description:
    '2,000 sockets, one key each; 4 warm-up then 100 measured batch POSTs of 1,000 messages (100-byte values, keys in rotation, ' +
    'so 50 per key), 4 keep-alive publisher connections with one POST in flight each. deliveries/s = 100,000 / time to the last ' +
    'frame; latency from the POST write to each frame.',
  targets: TARGETS,
  variants: () => PLAIN,
  metrics: [
    { key: 'deliveriesPerSec', label: 'deliveries/s', unit: '/s', better: 'higher' },
    { key: 'postsPerSec', label: 'batch POSTs/s', unit: '/s', better: 'higher' },
    { key: 'p50Ms', label: 'p50 latency', unit: 'ms', better: 'lower' },
    { key: 'p99Ms', label: 'p99 latency', unit: 'ms', better: 'lower' },
    { key: 'serverCpuUsPerDelivery', label: 'server CPU/delivery', unit: 'µs', better: 'lower' },
    { key: 'serverCoreUsPerDelivery', label: 'server core busy/delivery (incl. softirq)', unit: 'µs', better: 'lower' },
    { key: 'serverCoreBusy', label: 'server process CPU', unit: 'cores', better: 'none' },
    { key: 'clientCoreBusy', label: 'client process CPU', unit: 'cores', better: 'none' },
  ],
  cpuSensitive: true,
  timeoutMs: 300_000,
  run,
};
