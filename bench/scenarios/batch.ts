// batch: one socket per key, 1,000 messages per POST.
import { runKeyed } from './keyed.js';
import { PLAIN, TARGETS, type Ctx, type Metrics, type Scenario } from './types.js';

const PER_POST = 1000;
const POSTS = 100;

async function run(ctx: Ctx): Promise<Metrics> {
  const r = await runKeyed(ctx, { keys: 2000, perPost: PER_POST, warmupPosts: 4, posts: POSTS, inFlight: 4 });
  const { n, window: w } = r;
  return {
    deliveriesPerSec: n / w.wallS,
    postsPerSec: POSTS / r.postsDoneS,
    p50Ms: r.p50Ms,
    p99Ms: r.p99Ms,
    serverCpuUsPerDelivery: w.serverCpuUs / n,
    serverCoreUsPerDelivery: w.serverCoreUs / n,
    clientCpuUsPerDelivery: w.clientCpuUs / n,
    serverCoreBusy: w.serverCpuUs / 1e6 / w.wallS,
    clientCoreBusy: w.clientCpuUs / 1e6 / w.wallS,
    outOfOrder: r.outOfOrder,
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
