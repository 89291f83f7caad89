// connect-ticket: upgrade throughput with single-use tickets (WS_AUTH_MODE=ticket), in memory and in Redis.
import { HttpConn } from '../client/http-publisher.js';
import type { FrameSink } from '../client/ws-client.js';
import { SOCKETS, upgradeRound } from './connect.js';
import { nowUs, sleep, Window } from './common.js';
import { PLAIN, TARGETS, type Ctx, type Metrics, type Scenario, type Variant } from './types.js';

const POSTERS = 20;

/** Makes one ticket per socket (POST /tickets, POSTERS connections); the references get a stand-in of the same length. */
async function makeTickets(ctx: Ctx, round: number): Promise<{ tickets: string[]; perSec: number }> {
  if (ctx.target !== 'octoway') return { tickets: Array.from({ length: SOCKETS }, (_, i) => `r${round}-${i}`.padEnd(32, 'x')), perSec: 0 };
  const tickets: string[] = new Array(SOCKETS);
  const conns = Array.from({ length: POSTERS }, () => new HttpConn(ctx.host, ctx.port));
  let next = 0;
  const t0 = nowUs();
  try {
    await Promise.all(conns.map(async (c) => {
      while (next < SOCKETS) {
        const i = next++;
        const r = await c.request('POST', '/tickets', `{"user":"k${i}"}`);
        if (r.status !== 201) throw new Error(`POST /tickets answered ${r.status}: ${r.body.slice(0, 200)}`);
        tickets[i] = (JSON.parse(r.body) as { ticket: string }).ticket;
      }
    }));
  } finally {
    for (const c of conns) c.close();
  }
  return { tickets, perSec: SOCKETS / ((nowUs() - t0) / 1e6) };
}

const round = (ctx: Ctx, sink: FrameSink, tickets: readonly string[]) => upgradeRound(ctx, sink, (i) => `/ws?ticket=${tickets[i]}`, 'connect-ticket');

async function run(ctx: Ctx): Promise<Metrics> {
  let frames = 0;
  const sink: FrameSink = { onText: () => void frames++ };
  // Round 1 warms the JIT; round 2, with tickets made beforehand, is measured (a ticket opens one socket, so each round needs its own).
  const first = await makeTickets(ctx, 1);
  const cold = await round(ctx, sink, first.tickets);
  const forced = await cold.close();
  if (forced > 0) ctx.log(`${forced} sockets had to be destroyed after close`);
  const made = await makeTickets(ctx, 2);
  await sleep(1000);
  const win = new Window(ctx);
  const warm = await round(ctx, sink, made.tickets);
  const w = win.end();
  await warm.close();
  if (frames > 0) throw new Error(`${frames} unexpected frames on connect-only sockets`);
  return {
    upgradesPerSec: warm.upgradesPerSec,
    firstRoundUpgradesPerSec: cold.upgradesPerSec,
    serverCpuUsPerUpgrade: w.serverCpuUs / SOCKETS,
    serverCoreUsPerUpgrade: w.serverCoreUs / SOCKETS,
    redisCpuUsPerUpgrade: w.redisCpuUs / SOCKETS,
    clientCpuUsPerUpgrade: w.clientCpuUs / SOCKETS,
    ...(ctx.target === 'octoway' ? { ticketPostsPerSec: made.perSec } : {}),
  };
}

const TICKET_VARIANTS: Variant[] = [
  { name: 'memory', env: { WS_AUTH_MODE: 'ticket', WS_TICKET_TTL: '5m' } },
  { name: 'redis', env: { WS_AUTH_MODE: 'ticket', WS_TICKET_TTL: '5m' }, redisNodes: 1 },
];

export const connectTicket: Scenario = {
  name: 'connect-ticket',
  description:
    'The connect workload (2,000 sockets, at most 200 handshakes in flight; a warm-up round, then a measured one) with ' +
    'WS_AUTH_MODE=ticket: before each round the client makes one ticket per socket with POST /tickets (20 connections, not ' +
    'in the measured window; their rate is the "POST /tickets/s" row), then each socket connects with `?ticket=<its ticket>`. ' +
    '**memory**: one node, tickets in memory. **redis**: one node with WS_REDIS_URL (the machine\'s Redis, a fresh prefix), ' +
    'each upgrade taking its ticket with one script call (GET and DEL, atomic). The references upgrade the same paths without auth.',
  targets: TARGETS,
  variants: (t) => (t === 'octoway' ? TICKET_VARIANTS : PLAIN),
  metrics: [
    { key: 'upgradesPerSec', label: 'upgrades/s', unit: '/s', better: 'higher' },
    { key: 'firstRoundUpgradesPerSec', label: 'first-round upgrades/s', unit: '/s', better: 'higher' },
    { key: 'serverCpuUsPerUpgrade', label: 'server CPU/upgrade', unit: 'µs', better: 'lower' },
    { key: 'serverCoreUsPerUpgrade', label: 'server core busy/upgrade (incl. softirq)', unit: 'µs', better: 'lower' },
    { key: 'redisCpuUsPerUpgrade', label: 'Redis CPU/upgrade', unit: 'µs', better: 'none' },
    { key: 'clientCpuUsPerUpgrade', label: 'client CPU/upgrade', unit: 'µs', better: 'none' },
    { key: 'ticketPostsPerSec', label: 'POST /tickets/s (20 connections)', unit: '/s', better: 'higher' },
  ],
  cpuSensitive: true,
  timeoutMs: 180_000,
  run,
};
