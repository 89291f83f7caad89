// fanout-redis: the fanout workload on Octoway nodes sharing Redis — one node, then two nodes on one core.
import { FANOUT_WAVES, runWaves, waveMetrics } from './fanout.js';
import type { MetricDef, Scenario } from './types.js';

const redisMetrics: readonly MetricDef[] = [
  { key: 'redisCpuUsPerDelivery', label: 'Redis CPU/delivery', unit: 'µs', better: 'lower' },
  { key: 'redisCpuUsPerPost', label: 'Redis CPU/POST', unit: 'µs', better: 'lower' },
  { key: 'redisCoreBusy', label: 'Redis process CPU', unit: 'cores', better: 'none' },
];

export const fanoutRedis: Scenario = {
  name: 'fanout-redis',
  description:
    'The fanout workload (2,000 sockets on one key, 20 warm-up then 200 measured closed-loop messages of 100 bytes, every frame ' +
    'checked) on Octoway with WS_REDIS_URL: the machine\'s Redis (127.0.0.1:6379, or BENCH_REDIS_URL) under a fresh WS_REDIS_PREFIX ' +
    'per run, deleted afterwards. **1 node**: one process, every message through one Redis script and PUBLISH and back over its ' +
    'subscription. **2 nodes**: two processes sharing that Redis, 1,000 sockets on each; the POSTs alternate between them, so ' +
    'half the messages reach the other node only through Redis. Both nodes are pinned to the server core (core 1): two nodes on ' +
    'one core measure the cost of the Redis hop, not extra capacity. Server CPU and RSS are summed over the nodes. Redis is not ' +
    'pinned; its CPU is the run time of its threads from /proc/<pid>/task/*/schedstat over the window (it would also count any ' +
    'other client of that Redis). The references have no cluster mode, so this runs on Octoway only; the first column is the fanout table\'s ' +
    'Octoway figure (one node, in memory), the ratios divide the two-node figure by it and by the one-node Redis figure.',
  targets: ['octoway'],
  variants: () => [
    { name: '1-node', env: {}, redisNodes: 1 },
    { name: '2-node', env: {}, redisNodes: 2 },
  ],
  metrics: [...waveMetrics.slice(0, 5), ...redisMetrics, ...waveMetrics.slice(5)],
  cpuSensitive: true,
  timeoutMs: 240_000,
  beside: 'fanout',
  run: (ctx) => runWaves(ctx, FANOUT_WAVES),
};
