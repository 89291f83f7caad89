// held-mem: server RSS with 1,000,000 held messages of 100 bytes.
import { runPool } from '../client/http-publisher.js';
import { Tracker } from '../client/tracker.js';
import { assertOpened, openMany } from '../client/ws-client.js';
import { batchBody, parseBatch, publishers, serverRss, sleep, value, Window, wsPath } from './common.js';
import type { Ctx, Metrics, Scenario } from './types.js';

const KEYS = 10_000;
const PER_KEY = 100;
const PER_POST = 1000;
const TOTAL = KEYS * PER_KEY;
const SAMPLE_KEYS = 10;

async function run(ctx: Ctx): Promise<Metrics> {
  // m = j * 1000 + i, key = m % KEYS: a key's messages are 10 POSTs apart, far more than the 4 in flight, so in order.
  const tracker = new Tracker({
    messages: TOTAL,
    perKey: PER_KEY,
    keyOf: (m) => m % KEYS,
    qOf: (m) => Math.floor(m / KEYS),
    strictOrder: true,
    latencySamples: SAMPLE_KEYS * PER_KEY,
  });
  await sleep(1000);
  const rss0 = serverRss(ctx);
  const pubs = publishers(ctx, 4);
  const postIds: string[] = [];
  let held = 0;
  let delivered = 0;
  const win = new Window(ctx);
  await runPool(
    pubs,
    TOTAL / PER_POST,
    async (j, conn) => {
      const items = [];
      for (let i = 0; i < PER_POST; i++) {
        const m = j * PER_POST + i;
        items.push({ key: `k${m % KEYS}`, value: value(m, Math.floor(m / KEYS), 100) });
      }
      const r = await conn.request('POST', ctx.pubPath, batchBody(items));
      parseBatch(r.status, r.body, PER_POST).forEach((res, i) => {
        held += res.held;
        delivered += res.delivered;
        const m = j * PER_POST + i;
        if (m % KEYS < SAMPLE_KEYS) postIds[m] = res.id;
      });
    },
    240_000,
  );
  const w = win.end();
  for (const p of pubs) p.close();
  if (held !== TOTAL || delivered !== 0) throw new Error(`answers say held=${held} delivered=${delivered}, expected held=${TOTAL} delivered=0`);
  await sleep(3000);
  const rss1 = serverRss(ctx);

  // Spot check that what was counted as held is really there: a few keys connect and must get all 100, in order.
  for (let m = 0; m < TOTAL; m++) if (m % KEYS < SAMPLE_KEYS) tracker.expect(m, 1);
  const all = tracker.waitAll(30_000, []);
  const opened = await openMany({
    host: ctx.host,
    port: ctx.port,
    count: SAMPLE_KEYS,
    path: (i) => wsPath(`k${i}`),
    inFlight: SAMPLE_KEYS,
    sink: tracker,
    init: (c, i) => tracker.register(c, i),
    totalTimeoutMs: 30_000,
  });
  assertOpened(opened, 'sample keys');
  await all.catch((e: Error) => {
    throw new Error(`${e.message}; ${tracker.missing(opened.conns)}`);
  });
  tracker.verify(opened.conns, postIds);
  return {
    rssMB: rss1 / 1e6,
    rssDeltaMB: (rss1 - rss0) / 1e6,
    bytesPerHeld: (rss1 - rss0) / TOTAL,
    heldPerSec: TOTAL / w.wallS,
    serverCpuUsPerMessage: w.serverCpuUs / TOTAL,
  };
}

export const heldMem: Scenario = {
  name: 'held-mem',
  description:
    '1,000,000 messages of 100 bytes held for 10,000 keys (100 each) with no socket open, published in 1,000 batch POSTs of ' +
    '1,000 (4 in flight); every answer must say held=1. Server RSS 3 s after the last POST (no forced GC). Then 10 of the keys ' +
    'connect and must get their 100 messages in order.',
  targets: ['octoway'],
  variants: () => [{ name: '', env: { WS_MAX_HELD: '2000000', WS_MAX_HELD_PER_KEY: '100000' } }],
  metrics: [
    { key: 'rssMB', label: 'server RSS', unit: 'MB', better: 'lower' },
    { key: 'bytesPerHeld', label: 'RSS growth/held message', unit: 'B', better: 'lower' },
    { key: 'heldPerSec', label: 'held messages/s', unit: '/s', better: 'higher' },
  ],
  cpuSensitive: false,
  timeoutMs: 360_000,
  run,
};
