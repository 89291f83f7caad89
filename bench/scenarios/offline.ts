// offline: messages held while keys are away, delivered in order when they connect.
import { HttpConn } from '../client/http-publisher.js';
import { Tracker } from '../client/tracker.js';
import { percentile } from '../stats.js';
import { assertOpened, closeAll, openMany, type FrameSink } from '../client/ws-client.js';
import { assertAllOpen, batchBody, nowUs, parseBatch, sleep, value, wsPath } from './common.js';
import type { Ctx, Metrics, Scenario } from './types.js';

const KEYS = 1000;
const PER_KEY = 10;

async function run(ctx: Ctx): Promise<Metrics> {
  // Warm the upgrade and auth paths (JIT, the gateway's auth connection pool) with other keys first.
  const noFrames: FrameSink = { onText: () => undefined };
  const warm = await openMany({ host: ctx.host, port: ctx.port, count: 200, path: (i) => wsPath(`warm${i}`), inFlight: 200, sink: noFrames, totalTimeoutMs: 60_000 });
  assertOpened(warm, 'warm-up sockets');
  await closeAll(warm.conns, 10_000);

  const total = KEYS * PER_KEY;
  // m = j * KEYS + key: POST j carries message q=j of every key; POSTs go one after the other, so order is required.
  const tracker = new Tracker({
    messages: total,
    perKey: PER_KEY,
    keyOf: (m) => m % KEYS,
    qOf: (m) => Math.floor(m / KEYS),
    strictOrder: true,
    latencySamples: total,
  });
  const pub = new HttpConn(ctx.host, ctx.port);
  const postIds: string[] = [];
  for (let j = 0; j < PER_KEY; j++) {
    const items = Array.from({ length: KEYS }, (_, k) => ({ key: `k${k}`, value: value(j * KEYS + k, j, 100) }));
    const r = await pub.request('POST', ctx.pubPath, batchBody(items));
    parseBatch(r.status, r.body, KEYS).forEach((res, k) => {
      if (res.held !== 1 || res.delivered !== 0) throw new Error(`k${k} q=${j}: held=${res.held} delivered=${res.delivered}, expected held=1 delivered=0`);
      postIds[j * KEYS + k] = res.id;
    });
  }
  pub.close();
  for (let m = 0; m < total; m++) tracker.expect(m, 1);
  await sleep(500);

  // When each socket got its last held frame (the arrival time of the chunk that carried it).
  const lastFrameUs = new Float64Array(KEYS);
  const sink: FrameSink = {
    onText(conn, buf, start, end, now) {
      tracker.onText(conn, buf, start, end, now);
      if (conn.count === PER_KEY && lastFrameUs[conn.index] === 0) lastFrameUs[conn.index] = now;
    },
  };
  const t0 = nowUs();
  const all = tracker.waitAll(20_000, []);
  const opened = await openMany({
    host: ctx.host,
    port: ctx.port,
    count: KEYS,
    path: (i) => wsPath(`k${i}`),
    inFlight: 200,
    sink,
    init: (c, i) => tracker.register(c, i),
    totalTimeoutMs: 60_000,
  });
  assertOpened(opened, 'offline keys');
  await all.catch((e: Error) => {
    throw new Error(`${e.message}; ${tracker.missing(opened.conns)}`);
  });
  const doneS = (nowUs() - t0) / 1e6;
  tracker.verify(opened.conns, postIds);
  assertAllOpen(opened.conns);
  // After connection: per socket, its 101 → its last held frame; and the last 101 → the last frame.
  const afterOpenUs = new Float64Array(KEYS);
  let last101Us = 0;
  let lastFrame = 0;
  for (const conn of opened.conns) {
    afterOpenUs[conn.index] = lastFrameUs[conn.index]! - conn.openedAtUs;
    last101Us = Math.max(last101Us, conn.openedAtUs);
    lastFrame = Math.max(lastFrame, lastFrameUs[conn.index]!);
  }
  return {
    deliverAllS: doneS,
    upgradesS: (last101Us - t0) / 1e6,
    afterOpenMaxS: percentile(afterOpenUs, KEYS, 100) / 1e6,
    afterOpenP99S: percentile(afterOpenUs, KEYS, 99) / 1e6,
    last101ToAllS: Math.max(0, lastFrame - last101Us) / 1e6,
    outOfOrder: tracker.outOfOrder,
  };
}

export const offline: Scenario = {
  name: 'offline',
  description:
    '10,000 messages held for 1,000 keys (10 each, 100-byte values, 10 sequential batch POSTs while no socket is open; every ' +
    'answer must say held=1 delivered=0), after 200 warm-up upgrades of other keys. Then the 1,000 keys connect, 200 handshakes ' +
    'in flight, through forward auth; each key must get its 10 in order. Reported: the first connect → the 10,000th frame ' +
    '(which the 1,000 forward-auth handshakes dominate) and → the last 101; and the delivery time after connection: per ' +
    'socket, its 101 → its 10th frame (max and p99 over the 1,000; a frame in the same read as the 101 counts 0), and the ' +
    'last 101 → the last frame. The goal (held messages delivered ≤ 0.2 s after the keys connect) is judged on the per-socket max.',
  targets: ['octoway'],
  variants: () => [{ name: '', env: { WS_AUTH_CACHE_TTL: '0' } }],
  metrics: [
    { key: 'deliverAllS', label: 'connect → all delivered', unit: 's', better: 'lower' },
    { key: 'upgradesS', label: 'connect → last 101', unit: 's', better: 'lower' },
    { key: 'afterOpenMaxS', label: 'per socket 101 → all its frames, max', unit: 's', better: 'lower' },
    { key: 'afterOpenP99S', label: 'per socket 101 → all its frames, p99', unit: 's', better: 'lower' },
    { key: 'last101ToAllS', label: 'last 101 → all delivered', unit: 's', better: 'lower' },
  ],
  cpuSensitive: true,
  timeoutMs: 180_000,
  run,
};
