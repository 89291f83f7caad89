// fanout: many sockets on one key, messages published one at a time; also the engine of `scale`.
import { assertOpened, openMany } from '../client/ws-client.js';
import { HttpConn } from '../client/http-publisher.js';
import { Tracker } from '../client/tracker.js';
import { ControlFrames } from '../client/control-frames.js';
import { percentiles } from '../stats.js';
import { assertAllOpen, parseSingle, serverRss, singleBody, sleep, value, Window, wsPath } from './common.js';
import { PLAIN, TARGETS, type Ctx, type MetricDef, type Metrics, type Scenario } from './types.js';

export interface WaveOptions {
  sockets: number;
  warmup: number;
  messages: number;
  size: number;
  /** Quiet time after the last socket opened, before RSS is read (garbage of the burst counts). */
  settleMs: number;
  /** If set, RSS is read again this long after the last socket opened: what stays once V8's memory
   * reducer has run (it does, unforced, some seconds after a burst). */
  settledMs?: number;
  waveTimeoutMs: number;
  /** Sockets offer permessage-deflate and require it (for a server with WS_COMPRESS=true). */
  deflate?: boolean;
  /** The key the sockets connect under and the one messages are published to (both `fan` unless
   * set): fanout-pattern connects under a pattern and publishes to a key it matches. */
  socketKey?: string;
  publishKey?: string;
  /** fanout-filter: socket i's upgrade path, the tracker key it is registered under (0: it must get
   * every message; 1: it must get none), how many sockets get each message, and the POST body. */
  pathOf?: (i: number) => string;
  keyOfSocket?: (i: number) => number;
  receivers?: number;
  bodyOf?: (key: string, v: string) => string;
  /** fanout-dsock: the sockets open, and messages are published, on this port (a seed listener's)
   * rather than the node's. */
  port?: number;
  /** fanout-dsock: the POST publishing message m (value v) in the listener's own API, and the id its
   * frame carries (the body is delivered as is, so it is a frame the tracker reads); the answer must
   * be `{"success":true}` (it has no delivered count). */
  request?: (m: number, v: string) => { readonly path: string; readonly body: string; readonly credentials: string; readonly id: string };
  /** Subprotocol the sockets offer (and must be given): `octoway.v2` for v2 clients. */
  protocol?: string;
  /** fanout-topic: once open, every socket sends `{"type":"subscribe","topic":…}` and the run waits
   * for every `subscribed` answer before measuring (any `error` frame fails it). */
  subscribeTopic?: string;
}

/**
 * Opens the sockets on one key, then publishes closed-loop: message n+1 leaves only when every socket got n.
 * With several nodes (ctx.nodes), socket i goes to node i mod N and message m is POSTed to node m mod N.
 */
export async function runWaves(ctx: Ctx, o: WaveOptions): Promise<Metrics> {
  const total = o.warmup + o.messages;
  const nodes = o.port !== undefined ? [{ port: o.port, pid: ctx.serverPid }] : ctx.nodes ?? [{ port: ctx.port, pid: ctx.serverPid }];
  const socketKey = o.socketKey ?? 'fan';
  const key = o.publishKey ?? 'fan';
  const tracker = new Tracker({
    messages: total,
    perKey: total,
    keyOf: () => 0,
    qOf: (m) => m,
    strictOrder: true,
    latencySamples: o.sockets * total,
    onControl: o.protocol === undefined ? undefined : (c, text) => control.onFrame(c.index, text),
  });
  const control = new ControlFrames();
  await sleep(1000);
  const rss0 = serverRss(ctx);
  const opened = await openMany({
    host: ctx.host,
    port: o.port ?? ctx.port,
    portOf: (i) => nodes[i % nodes.length]!.port,
    count: o.sockets,
    path: o.pathOf ?? (() => wsPath(socketKey)),
    inFlight: 200,
    sink: tracker,
    init: (c) => tracker.register(c, o.keyOfSocket?.(c.index) ?? 0),
    deflate: o.deflate === true,
    ...(o.protocol === undefined ? {} : { protocol: o.protocol }),
    totalTimeoutMs: 180_000,
  });
  assertOpened(opened, 'fanout sockets');
  const conns = opened.conns;
  ctx.log(`${o.sockets} sockets open in ${((opened.endUs - opened.startUs) / 1e6).toFixed(2)} s`);
  if (o.subscribeTopic !== undefined) {
    const frame = JSON.stringify({ type: 'subscribe', topic: o.subscribeTopic });
    const all = control.waitSubscribed(o.sockets, 30_000);
    for (const c of conns) c.sendText(frame);
    await all;
    ctx.log(`${o.sockets} sockets subscribed to topic ${o.subscribeTopic}`);
  }
  await sleep(o.settleMs);
  const rss1 = serverRss(ctx);
  let rssSettled: number | undefined;
  if (o.settledMs !== undefined) {
    await sleep(o.settledMs - o.settleMs);
    rssSettled = serverRss(ctx);
  }
  const receivers = o.receivers ?? o.sockets;
  for (let m = 0; m < total; m++) tracker.expect(m, receivers);

  const pubs = nodes.map((n) => new HttpConn(ctx.host, n.port));
  const postIds: string[] = [];
  const wrongDelivered: string[] = [];
  const publish = async (m: number): Promise<void> => {
    const wave = tracker.waitMessage(m, o.waveTimeoutMs, conns);
    if (o.request !== undefined) {
      const q = o.request(m, value(m, m, o.size));
      const r = await pubs[m % pubs.length]!.request('POST', q.path, q.body, q.credentials);
      postIds[m] = q.id;
      if (r.status !== 200 || r.body !== '{"success":true}') wrongDelivered.push(`m=${m}: ${r.status} ${r.body}`);
      return wave;
    }
    const r = await pubs[m % pubs.length]!.request('POST', ctx.pubPath, (o.bodyOf ?? singleBody)(key, value(m, m, o.size)));
    const res = parseSingle(r.status, r.body);
    postIds[m] = res.id;
    if (res.delivered !== receivers) wrongDelivered.push(`m=${m}: delivered=${res.delivered}`);
    await wave;
  };
  // Warm-up waves are checked like the others but left out of the figures (JIT, first-use allocations).
  for (let m = 0; m < o.warmup; m++) await publish(m);
  const latFrom = tracker.nLat;
  const win = new Window(ctx);
  for (let m = o.warmup; m < total; m++) await publish(m);
  const w = win.end();
  for (const p of pubs) p.close();
  tracker.verify(conns, postIds);
  control.verify();
  assertAllOpen(conns);
  if (wrongDelivered.length > 0) throw new Error(`publish answers with delivered ≠ ${receivers}: ${wrongDelivered.slice(0, 3).join(', ')}`);

  const deliveries = receivers * o.messages;
  const [p50, p99, max] = percentiles(tracker.lat.subarray(latFrom), tracker.nLat - latFrom, [50, 99, 100]);
  return {
    deliveriesPerSec: deliveries / w.wallS,
    p50Ms: p50! / 1000,
    p99Ms: p99! / 1000,
    maxMs: max! / 1000,
    serverCpuUsPerDelivery: w.serverCpuUs / deliveries,
    serverCoreUsPerDelivery: w.serverCoreUs / deliveries,
    clientCpuUsPerDelivery: w.clientCpuUs / deliveries,
    clientSysShare: w.clientSysUs / w.clientCpuUs,
    clientCoreBusy: w.clientCpuUs / 1e6 / w.wallS,
    serverCoreBusy: w.serverCpuUs / 1e6 / w.wallS,
    memPerSocketBytes: (rss1 - rss0) / o.sockets,
    ...(rssSettled === undefined ? {} : { settledMemPerSocketBytes: (rssSettled - rss0) / o.sockets }),
    connectPerSec: o.sockets / ((opened.endUs - opened.startUs) / 1e6),
    deliveries,
    // Redis's CPU, when the run uses Redis and its /proc/<pid> is readable: its work is per message.
    ...(ctx.redisPid ? { redisCpuUsPerDelivery: w.redisCpuUs / deliveries, redisCpuUsPerPost: w.redisCpuUs / o.messages, redisCoreBusy: w.redisCpuUs / 1e6 / w.wallS } : {}),
  };
}

/** The fanout workload, also run by fanout-redis. */
export const FANOUT_WAVES: WaveOptions = { sockets: 2000, warmup: 20, messages: 200, size: 100, settleMs: 500, waveTimeoutMs: 10_000 };

export const waveMetrics: readonly MetricDef[] = [
  { key: 'deliveriesPerSec', label: 'deliveries/s', unit: '/s', better: 'higher' },
  { key: 'p50Ms', label: 'p50 latency', unit: 'ms', better: 'lower' },
  { key: 'p99Ms', label: 'p99 latency', unit: 'ms', better: 'lower' },
  { key: 'serverCpuUsPerDelivery', label: 'server CPU/delivery', unit: 'µs', better: 'lower' },
  { key: 'serverCoreUsPerDelivery', label: 'server core busy/delivery (incl. softirq)', unit: 'µs', better: 'lower' },
  { key: 'clientCpuUsPerDelivery', label: 'client CPU/delivery', unit: 'µs', better: 'none' },
  { key: 'memPerSocketBytes', label: 'server RSS growth/socket, right after connecting', unit: 'B', better: 'lower' },
  { key: 'serverCoreBusy', label: 'server process CPU', unit: 'cores', better: 'none' },
  { key: 'clientCoreBusy', label: 'client process CPU', unit: 'cores', better: 'none' },
];

export const fanout: Scenario = {
  name: 'fanout',
  description:
    '2,000 sockets on one key; 20 warm-up then 200 measured messages of 100 bytes, published closed-loop on one keep-alive ' +
    'connection: message n+1 is POSTed only once all 2,000 sockets got message n. deliveries/s = 400,000 / window; latency = ' +
    'frame arrival (client clock) − send time written into the value just before the POST; server CPU = utime+stime from ' +
    '/proc over the window ÷ deliveries.',
  targets: TARGETS,
  variants: () => PLAIN,
  metrics: waveMetrics,
  cpuSensitive: true,
  timeoutMs: 240_000,
  run: (ctx) => runWaves(ctx, FANOUT_WAVES),
};
