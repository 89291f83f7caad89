// The machine's Redis for multi-node runs: a fresh key prefix per run, Redis's pid for CPU accounting, clean-up after.
import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { runTimeUs } from './proc.js';

/** The Redis the nodes share; the machine's own by default. */
export const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';

export interface RedisRun {
  /** WS_REDIS_URL and a WS_REDIS_PREFIX no other run or deployment uses. */
  readonly env: Readonly<Record<string, string>>;
  readonly prefix: string;
  /** Redis's pid when it is a local process whose /proc/<pid> we can read, else 0 (no Redis CPU figure). */
  readonly pid: number;
}

let runs = 0;

const connect = (): Redis => new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, connectTimeout: 2000 });

/** Checks that Redis answers and prepares a run under a prefix of its own. */
export async function redisRun(): Promise<RedisRun> {
  const r = connect();
  try {
    await r.connect().catch((e: Error) => {
      throw new Error(`Redis at ${REDIS_URL} is unreachable (${e.message}): start one or set BENCH_REDIS_URL`);
    });
    const info = await r.info('server');
    const prefix = `octoway-bench-${process.pid}-${Date.now().toString(36)}-${++runs}:`;
    return { env: { WS_REDIS_URL: REDIS_URL, WS_REDIS_PREFIX: prefix }, prefix, pid: localPid(info) };
  } finally {
    r.disconnect();
  }
}

/** INFO's process_id, if it names a redis-server we can see (not one in a container or on another host). */
function localPid(info: string): number {
  const pid = Number(/process_id:(\d+)/.exec(info)?.[1] ?? 0);
  if (pid <= 0) return 0;
  try {
    if (!/^\d+ \((redis-server|valkey-server)\)/.test(readFileSync(`/proc/${pid}/stat`, 'latin1'))) return 0;
    runTimeUs(pid); // its threads' schedstat, which the client reads over the window
    return pid;
  } catch {
    return 0; // not in our pid namespace or not readable: the run goes on without Redis's CPU
  }
}

/** Deletes every key of the run (the nodes are stopped first, so nothing writes behind us); returns how many. */
export async function dropPrefix(prefix: string): Promise<number> {
  const r = connect();
  try {
    await r.connect();
    let n = 0;
    let cursor = '0';
    do {
      const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      if (keys.length > 0) n += await r.unlink(...keys);
      cursor = next;
    } while (cursor !== '0');
    return n;
  } finally {
    r.disconnect();
  }
}
