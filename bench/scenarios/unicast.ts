// unicast: one socket per key, one POST per message, 64 POSTs in flight.
import { runKeyed, type KeyedWorkload } from './keyed.js';
import { PLAIN, TARGETS, type Ctx, type Metrics, type Scenario } from './types.js';

const KEYS = 2000;

/** The unicast workload; `credentials` authenticates each POST (default: Basic auth). */
export async function runUnicast(ctx: Ctx, credentials?: KeyedWorkload['credentials']): Promise<Metrics> {
  // One warm-up round, then 20 rounds of one POST per key, round-major: POST j goes to key j % KEYS.
  const r = await runKeyed(ctx, { keys: KEYS, perPost: 1, warmupPosts: KEYS, posts: 20 * KEYS, inFlight: 64, ...(credentials === undefined ? {} : { credentials }) });
  const { n, window: w } = r;
  return {
    postsPerSec: n / r.postsDoneS,
    deliveriesPerSec: n / w.wallS,
    p50Ms: r.p50Ms,
    p99Ms: r.p99Ms,
    serverCpuUsPerPost: w.serverCpuUs / n,
    serverCoreUsPerPost: w.serverCoreUs / n,
    clientCpuUsPerPost: w.clientCpuUs / n,
    serverCoreBusy: w.serverCpuUs / 1e6 / w.wallS,
    clientCoreBusy: w.clientCpuUs / 1e6 / w.wallS,
    outOfOrder: r.outOfOrder,
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
  run: (ctx) => runUnicast(ctx),
};
