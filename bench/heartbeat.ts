// `node dist/bench/heartbeat.js [keys] [heartbeats]` (after `npm run build`): what one node's presence
// heartbeat costs Redis with that many keys open on it. It runs the gateway's own LEASE script in
// batches of 256 keys, as the broker does, and reads Redis's main-thread CPU (INFO cpu) around each
// heartbeat: the median is printed, per heartbeat and per second at the WS_PRESENCE_TTL default.
// Other clients of that Redis count too: run it on a quiet one (BENCH_REDIS_URL) for a clean figure.
import { Redis } from 'ioredis';
import { Keyspace } from '../src/redis/keyspace.js';
import { JOIN, LEASE, loadScripts, run } from '../src/redis/scripts.js';
import { REDIS_URL } from './redis.js';

const KEYS = Number(process.argv[2] ?? 10_000);
const HEARTBEATS = Number(process.argv[3] ?? 10);
const BATCH = 256;
const TTL_MS = 10_000; // the WS_PRESENCE_TTL default (src/config.ts)

const cpuUs = async (redis: Redis): Promise<number> => {
  const info = await redis.info('cpu');
  const field = (name: string): number => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)?.[1] ?? NaN);
  const main = field('used_cpu_sys_main_thread') + field('used_cpu_user_main_thread');
  return (Number.isNaN(main) ? field('used_cpu_sys') + field('used_cpu_user') : main) * 1e6;
};

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

async function main(): Promise<void> {
  const redis = new Redis(REDIS_URL);
  const keyspace = new Keyspace(`octoway-bench-heartbeat-${process.pid}:`);
  const node = `bench:${process.pid}`;
  const keys = Array.from({ length: KEYS }, (_, i) => `key-${i}`);
  const batches: string[][] = [];
  for (let i = 0; i < keys.length; i += BATCH) batches.push(keys.slice(i, i + BATCH));
  const send = (script: typeof LEASE, extra: Array<string | number>): Promise<unknown[]> => Promise.all(batches.map((batch) =>
    run(redis, script, batch.flatMap((k) => keyspace.all(k)), [...extra, ...batch.map(() => 1)])));
  try {
    await loadScripts(redis);
    await send(JOIN, [node, TTL_MS, Date.now(), 1, keyspace.channel, 1000, 0, keyspace.prefix]);
    const cpu: number[] = [];
    const wall: number[] = [];
    for (let i = 0; i < HEARTBEATS; i++) {
      const before = await cpuUs(redis);
      const started = performance.now();
      await send(LEASE, [node, TTL_MS, Date.now(), keyspace.channel, 1000, keyspace.prefix]);
      wall.push(performance.now() - started);
      cpu.push((await cpuUs(redis)) - before);
    }
    const perBeat = median(cpu);
    console.log(`${KEYS} keys, ${HEARTBEATS} heartbeats: Redis main-thread CPU ${(perBeat / 1000).toFixed(1)} ms per heartbeat ` +
      `(${(perBeat / KEYS).toFixed(2)} µs per key), round trip ${median(wall).toFixed(1)} ms; at one heartbeat every ` +
      `${TTL_MS / 3} ms that is ${((perBeat / (TTL_MS / 3)) * 100 / 1000).toFixed(1)}% of a Redis core`);
  } finally {
    // Leaving every key (count 0) removes the presence keys.
    await Promise.all(batches.map((batch) => run(redis, LEASE, batch.flatMap((k) => keyspace.all(k)),
      [node, TTL_MS, Date.now(), keyspace.channel, 1000, keyspace.prefix, ...batch.map(() => 0)])));
    redis.disconnect();
  }
}

await main();
