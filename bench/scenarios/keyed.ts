// The workload unicast and batch share: one socket per key (k0..k(n-1)), messages published in POSTs
// of `perPost` through a pool of keep-alive publishers, a warm-up, then a measured window in which
// every frame is checked (right key, id of its POST answer, once) and timed.
import { assertOpened, openMany, type WsConn } from '../client/ws-client.js';
import { runPool } from '../client/http-publisher.js';
import { Tracker } from '../client/tracker.js';
import { percentiles } from '../stats.js';
import { assertAllOpen, batchBody, nowUs, parseBatch, parseSingle, publishers, singleBody, sleep, value, Window, wsPath, type PubResult } from './common.js';
import type { Ctx } from './types.js';

export interface KeyedWorkload {
  readonly keys: number;
  /** Messages per POST: 1 sends `{key, value}`, more send `{messages: [...]}`. */
  readonly perPost: number;
  readonly warmupPosts: number;
  readonly posts: number;
  /** Publisher connections, one POST in flight on each. */
  readonly inFlight: number;
  /** The credential header line(s) for a POST of `body` (default: Basic auth). */
  readonly credentials?: (body: string) => string;
}

export interface KeyedResult {
  /** Messages (= deliveries) in the measured window. */
  readonly n: number;
  /** From the window's start to the last POST answer. */
  readonly postsDoneS: number;
  readonly window: ReturnType<Window['end']>;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly outOfOrder: number;
}

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

export async function runKeyed(ctx: Ctx, w: KeyedWorkload): Promise<KeyedResult> {
  const total = (w.warmupPosts + w.posts) * w.perPost;
  // Message m is POSTed in m / perPost and goes to key m % keys: a key's messages follow each other in
  // POST order, but POSTs overlap with several in flight, so order is counted, not required.
  const tracker = new Tracker({
    messages: total,
    perKey: total / w.keys,
    keyOf: (m) => m % w.keys,
    qOf: (m) => Math.floor(m / w.keys),
    strictOrder: false,
    latencySamples: total,
  });
  const conns = await openKeyed(ctx, tracker, w.keys);
  for (let m = 0; m < total; m++) tracker.expect(m, 1);
  await sleep(500);
  const pubs = publishers(ctx, w.inFlight);
  const postIds: string[] = [];
  const bad: string[] = [];
  const post = async (j: number, conn: (typeof pubs)[number]): Promise<void> => {
    const first = j * w.perPost;
    const item = (m: number): { key: string; value: string } => ({ key: `k${m % w.keys}`, value: value(m, Math.floor(m / w.keys), 100) });
    let results: PubResult[];
    if (w.perPost === 1) {
      const { key, value: v } = item(first);
      const body = singleBody(key, v);
      const r = await conn.request('POST', ctx.pubPath, body, w.credentials?.(body));
      results = [parseSingle(r.status, r.body)];
    } else {
      const body = batchBody(Array.from({ length: w.perPost }, (_, i) => item(first + i)));
      const r = await conn.request('POST', ctx.pubPath, body, w.credentials?.(body));
      results = parseBatch(r.status, r.body, w.perPost);
    }
    results.forEach((res, i) => {
      postIds[first + i] = res.id;
      if (res.delivered !== 1 && bad.length < 3) bad.push(`m=${first + i}: delivered=${res.delivered}`);
    });
  };
  const warm = w.warmupPosts * w.perPost;
  await runPool(pubs, w.warmupPosts, post, 60_000);
  await tracker.waitCount(warm, 10_000, conns, warm / w.keys);
  const latFrom = tracker.nLat;

  const win = new Window(ctx);
  await runPool(pubs, w.posts, (i, c) => post(w.warmupPosts + i, c), 120_000);
  const postsDoneS = (nowUs() - win.t0) / 1e6;
  await tracker.waitAll(20_000, conns);
  const window = win.end();
  for (const p of pubs) p.close();
  tracker.verify(conns, postIds);
  assertAllOpen(conns);
  if (bad.length > 0) throw new Error(`publish answers with delivered ≠ 1: ${bad.join(', ')}`);

  const [p50, p99] = percentiles(tracker.lat.subarray(latFrom), tracker.nLat - latFrom, [50, 99]);
  return { n: w.posts * w.perPost, postsDoneS, window, p50Ms: p50! / 1000, p99Ms: p99! / 1000, outOfOrder: tracker.outOfOrder };
}
