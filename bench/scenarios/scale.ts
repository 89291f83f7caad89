// scale: 18,000 sockets on one server process: fanout latency and memory per socket at that size.
import { readFileSync } from 'node:fs';
import { runWaves } from './fanout.js';
import { PLAIN, TARGETS, type Ctx, type Metrics, type Scenario } from './types.js';

const SOCKETS = 18_000;
/** When RSS is read a second time: V8's memory reducer has run by then (seen after 5-10 s). */
const SETTLED_MS = 15_000;

/** The soft fd limit of this process: 18,000 sockets fit in one client only if it is high enough. */
function fdLimit(): number {
  const m = /Max open files\s+(\d+)/.exec(readFileSync('/proc/self/limits', 'latin1'));
  return m === null ? 0 : Number(m[1]);
}

async function run(ctx: Ctx): Promise<Metrics> {
  const limit = fdLimit();
  // Sockets + publisher + stdio/epoll/etc. stay well under 20,000, so one client process suffices.
  if (limit < SOCKETS + 200) throw new Error(`client fd soft limit ${limit} < ${SOCKETS + 200}: run with ulimit -n 20000`);
  const r = await runWaves(ctx, { sockets: SOCKETS, warmup: 5, messages: 30, size: 100, settleMs: 3000, settledMs: SETTLED_MS, waveTimeoutMs: 15_000 });
  return { ...r, clientFdLimit: limit };
}

export const scale: Scenario = {
  name: 'scale',
  description:
    '18,000 sockets on one key in one server process (one client process: its 20,000-fd limit holds 18,000 sockets plus ' +
    'publisher), opened through forward auth with 200 handshakes in flight; RSS 3 s after the last one opened (the goal figure) and again 15 s after (settled: what stays once V8 has collected the burst\'s garbage by itself); then 5 warm-up ' +
    'and 30 measured closed-loop waves of a 100-byte message, as in fanout (540,000 deliveries).',
  targets: TARGETS,
  variants: () => PLAIN,
  metrics: [
    { key: 'p50Ms', label: 'p50 latency', unit: 'ms', better: 'lower' },
    { key: 'p99Ms', label: 'p99 latency', unit: 'ms', better: 'lower' },
    { key: 'deliveriesPerSec', label: 'deliveries/s', unit: '/s', better: 'higher' },
    { key: 'memPerSocketBytes', label: 'server RSS/socket', unit: 'B', better: 'lower' },
    { key: 'settledMemPerSocketBytes', label: 'server RSS/socket, settled (15 s)', unit: 'B', better: 'lower' },
    { key: 'serverCpuUsPerDelivery', label: 'server CPU/delivery', unit: 'µs', better: 'lower' },
    { key: 'serverCoreUsPerDelivery', label: 'server core busy/delivery (incl. softirq)', unit: 'µs', better: 'lower' },
  ],
  cpuSensitive: true,
  timeoutMs: 320_000,
  run,
};
