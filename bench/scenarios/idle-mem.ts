// idle-mem: server memory held per idle connection.
import { assertOpened, openMany, type FrameSink } from '../client/ws-client.js';
import { assertAllOpen, serverRss, sleep, wsPath } from './common.js';
import { PLAIN, TARGETS, type Ctx, type Metrics, type Scenario } from './types.js';

const SOCKETS = 5000;
const SETTLED_MS = 15_000;

async function run(ctx: Ctx): Promise<Metrics> {
  let frames = 0;
  const sink: FrameSink = { onText: () => void frames++ };
  await sleep(1000);
  /** Opens SOCKETS idle sockets on keys k<first>…, 200 handshakes in flight. */
  const openBatch = async (first: number, what: string) => {
    const batch = await openMany({
      host: ctx.host,
      port: ctx.port,
      count: SOCKETS,
      path: (i) => wsPath(`k${first + i}`),
      inFlight: 200,
      sink,
      totalTimeoutMs: 120_000,
    });
    assertOpened(batch, what);
    return batch;
  };
  const rss0 = serverRss(ctx);
  const opened = await openBatch(0, 'idle sockets');
  // No forced GC: the garbage of the connect burst is what a real server carries too.
  await sleep(3000);
  const rss1 = serverRss(ctx);
  // Unforced, V8's memory reducer collects the burst's garbage some seconds later (seen after 5-10 s):
  // this second reading is what the sockets themselves keep.
  await sleep(SETTLED_MS - 3000);
  const rssSettled = serverRss(ctx);
  // A second 5,000 on top: one-time costs (JIT, the auth connection pool) are paid by then, so the
  // growth is what each further connection costs.
  const more = await openBatch(SOCKETS, 'second idle batch');
  await sleep(3000);
  const rss2 = serverRss(ctx);
  assertAllOpen(opened.conns);
  assertAllOpen(more.conns);
  if (frames > 0) throw new Error(`${frames} unexpected frames on idle sockets`);
  return {
    memPerConnBytes: (rss1 - rss0) / SOCKETS,
    settledMemPerConnBytes: (rssSettled - rss0) / SOCKETS,
    marginalMemPerConnBytes: (rss2 - rssSettled) / SOCKETS,
    rssBeforeMB: rss0 / 1e6,
    rssAfterMB: rss1 / 1e6,
    upgradesPerSec: SOCKETS / ((opened.endUs - opened.startUs) / 1e6),
  };
}

export const idleMem: Scenario = {
  name: 'idle-mem',
  description:
    '5,000 idle sockets (one key each) opened through forward auth (cache off), 200 handshakes in flight. Server RSS from ' +
    '/proc 1 s after readiness and 3 s after the last socket opened, no forced GC; (after − before) / 5,000 is the goal figure. ' +
    'RSS is read again 15 s after the last one opened (settled: what stays once V8 has collected the burst\'s garbage by itself, unforced). ' +
    'Then 5,000 more are opened the same way: RSS 3 s after them minus the settled RSS, / 5,000, is the marginal cost once one-time costs (JIT, auth pool) are paid.',
  targets: TARGETS,
  variants: (t) => (t === 'octoway' ? [{ name: '', env: { WS_AUTH_CACHE_TTL: '0' } }] : PLAIN),
  metrics: [
    { key: 'memPerConnBytes', label: 'RSS/connection', unit: 'B', better: 'lower' },
    { key: 'settledMemPerConnBytes', label: 'RSS/connection, settled (15 s)', unit: 'B', better: 'lower' },
    { key: 'marginalMemPerConnBytes', label: 'RSS/connection, 5,001st–10,000th', unit: 'B', better: 'lower' },
    { key: 'rssAfterMB', label: 'RSS with 5,000 sockets', unit: 'MB', better: 'lower' },
  ],
  cpuSensitive: false,
  timeoutMs: 180_000,
  run,
};
