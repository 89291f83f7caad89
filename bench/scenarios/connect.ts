// connect: upgrade throughput through forward auth, with the gateway's auth cache off and on.
import { assertOpened, closeAll, openMany, type FrameSink } from '../client/ws-client.js';
import { authRequests, sleep, Window, wsPath } from './common.js';
import { PLAIN, TARGETS, type Ctx, type Metrics, type Scenario, type Variant } from './types.js';

/** Sockets per round and handshakes in flight, the same for connect, connect-ticket and connect-jwt. */
export const SOCKETS = 2000;
const IN_FLIGHT = 200;

/** One round of the connect scenarios: SOCKETS sockets opened on `pathOf(i)`, IN_FLIGHT handshakes
 * at a time; the rate is SOCKETS over the time from the first connect to the last 101. */
export async function upgradeRound(ctx: Ctx, sink: FrameSink, pathOf: (i: number) => string, what: string): Promise<{ upgradesPerSec: number; close: () => Promise<number> }> {
  const opened = await openMany({
    host: ctx.host,
    port: ctx.port,
    count: SOCKETS,
    path: pathOf,
    inFlight: IN_FLIGHT,
    sink,
    totalTimeoutMs: 120_000,
  });
  assertOpened(opened, what);
  return {
    upgradesPerSec: SOCKETS / ((opened.endUs - opened.startUs) / 1e6),
    close: () => closeAll(opened.conns, 10_000),
  };
}

const round = (ctx: Ctx, sink: FrameSink) => upgradeRound(ctx, sink, (i) => wsPath(`k${i}`), 'connect');

async function run(ctx: Ctx): Promise<Metrics> {
  let frames = 0;
  const sink: FrameSink = { onText: () => void frames++ };
  // Round 1 opens every key once (JIT warm-up, and with the cache on it fills the cache); round 2 is the
  // measured one: the same 2,000 credentials reconnecting, as after a deploy or a network blip.
  const cold = await round(ctx, sink);
  const forced = await cold.close();
  if (forced > 0) ctx.log(`${forced} sockets had to be destroyed after close`);
  await sleep(1000);
  const a0 = await authRequests(ctx);
  const win = new Window(ctx);
  const warm = await round(ctx, sink);
  const w = win.end();
  const a1 = await authRequests(ctx);
  await warm.close();
  if (frames > 0) throw new Error(`${frames} unexpected frames on connect-only sockets`);
  return {
    upgradesPerSec: warm.upgradesPerSec,
    firstRoundUpgradesPerSec: cold.upgradesPerSec,
    serverCpuUsPerUpgrade: w.serverCpuUs / SOCKETS,
    serverCoreUsPerUpgrade: w.serverCoreUs / SOCKETS,
    authCpuUsPerUpgrade: w.authCpuUs / SOCKETS,
    clientCpuUsPerUpgrade: w.clientCpuUs / SOCKETS,
    authCallsPerUpgrade: (a1 - a0) / SOCKETS,
  };
}

const AUTH_VARIANTS: Variant[] = [
  { name: 'cache-off', env: { WS_AUTH_CACHE_TTL: '0' } },
  { name: 'cache-on', env: { WS_AUTH_CACHE_TTL: '60s' } },
];

export const connect: Scenario = {
  name: 'connect',
  description:
    '2,000 sockets (keys k0..k1999) opened with at most 200 handshakes in flight, closed, and opened again: the second round is ' +
    'measured (2,000 / time from the first connect to the last 101). On Octoway every upgrade goes through forward auth: with ' +
    'the auth cache off (WS_AUTH_CACHE_TTL=0) each one calls the mock; with it on (60s) round 1 fills the cache and round 2 ' +
    'reconnects the same credentials. The references upgrade without auth. CPU of the server and of the auth mock over round 2.',
  targets: TARGETS,
  variants: (t) => (t === 'octoway' ? AUTH_VARIANTS : PLAIN),
  metrics: [
    { key: 'upgradesPerSec', label: 'upgrades/s', unit: '/s', better: 'higher' },
    { key: 'firstRoundUpgradesPerSec', label: 'first-round upgrades/s', unit: '/s', better: 'higher' },
    { key: 'serverCpuUsPerUpgrade', label: 'server CPU/upgrade', unit: 'µs', better: 'lower' },
    { key: 'serverCoreUsPerUpgrade', label: 'server core busy/upgrade (incl. softirq)', unit: 'µs', better: 'lower' },
    { key: 'authCpuUsPerUpgrade', label: 'auth-mock CPU/upgrade', unit: 'µs', better: 'none' },
    { key: 'authCallsPerUpgrade', label: 'auth calls/upgrade', unit: '', better: 'none' },
  ],
  cpuSensitive: true,
  timeoutMs: 180_000,
  run,
};
