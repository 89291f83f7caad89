// Redis for tests: the shared server on 127.0.0.1:6379 (never stopped; each test uses its own key
// prefix and deletes its keys), or a throwaway redis-server of a test's own on a free port.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';

export const SHARED_REDIS_URL = 'redis://127.0.0.1:6379';

/** A prefix no other test (or run) uses. */
export function testPrefix(name: string): string {
  return `octoway-test:${name}:${process.pid}:${Math.random().toString(36).slice(2, 8)}:`;
}

/** A plain client for checks and clean-up, connected before it is returned. */
export async function redisClient(url = SHARED_REDIS_URL): Promise<Redis> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await client.connect();
  return client;
}

/** Deletes every key under `prefix`; returns how many there were. */
export async function deletePrefix(client: Redis, prefix: string): Promise<number> {
  let deleted = 0;
  const match = `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`;
  for await (const batch of client.scanStream({ match, count: 1000 })) {
    const names = batch as string[];
    if (names.length > 0) deleted += await client.del(...names);
  }
  return deleted;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

export interface OwnRedis {
  readonly port: number;
  readonly url: string;
  /** Starts (or starts again, on the same port and directory) and resolves once it answers. */
  start(): Promise<void>;
  /** SHUTDOWN SAVE: a graceful stop that keeps its data for the next start. */
  stop(): Promise<void>;
  /** Stops it if running and removes its directory. */
  dispose(): Promise<void>;
}

/** A redis-server of the test's own, without periodic persistence (`--save "" --appendonly no`). */
export async function ownRedis(password: string): Promise<OwnRedis> {
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'octoway-redis-'));
  let child: ChildProcess | undefined;
  const url = `redis://:${encodeURIComponent(password)}@127.0.0.1:${port}`;

  const ping = (): Promise<boolean> => answers(port, password);

  const own: OwnRedis = {
    port,
    url,
    async start() {
      child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
        '--dir', dir, '--requirepass', password], { stdio: 'ignore' });
      await untilAnswers(port, child, password);
    },
    async stop() {
      const running = child;
      if (running === undefined || running.exitCode !== null) return;
      const exited = once(running, 'exit');
      const client = new Redis({ port, host: '127.0.0.1', password, maxRetriesPerRequest: 0, retryStrategy: () => null });
      client.on('error', () => undefined);
      await client.call('SHUTDOWN', 'SAVE').catch(() => undefined); // the connection drops as it stops
      client.disconnect();
      await exited;
    },
    async dispose() {
      if (child !== undefined && child.exitCode === null) {
        child.kill('SIGKILL');
        await once(child, 'exit');
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
  return own;
}

async function answers(port: number, password?: string): Promise<boolean> {
  const client = new Redis({ port, host: '127.0.0.1', password, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => undefined); // refused while it starts: the caller polls
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

async function untilAnswers(port: number, child: ChildProcess, password?: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!(await answers(port, password))) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`redis-server on port ${port} did not start`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Starts one cluster node on free ports. A port found free can be taken by another process before
 * redis-server binds it (the machine runs other servers too): then redis-server exits at once, and
 * the node is started again on other ports, a bounded number of times. */
async function startClusterNode(dir: string, children: ChildProcess[]): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    // The cluster bus defaults to port + 10000, which may be taken or past 65535: name a free one.
    let busPort = await freePort();
    while (busPort === port) busPort = await freePort();
    const child = spawn('redis-server', ['--port', String(port), '--cluster-port', String(busPort), '--bind', '127.0.0.1', '--cluster-enabled', 'yes',
      '--cluster-config-file', `nodes-${port}.conf`, '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
    children.push(child);
    try {
      await untilAnswers(port, child);
      return port;
    } catch (err) {
      if (child.exitCode === null || attempt >= 5) throw err;
    }
  }
}

export interface OwnRedisCluster {
  /** The seeds, as WS_REDIS_URL takes them with WS_REDIS_CLUSTER=true. */
  readonly url: string;
  dispose(): Promise<void>;
}

/** A Redis Cluster of the test's own: `masters` redis-servers, no replicas, all slots covered. */
export async function ownRedisCluster(masters = 3): Promise<OwnRedisCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'octoway-redis-cluster-'));
  const children: ChildProcess[] = [];
  const dispose = async (): Promise<void> => {
    for (const child of children) {
      if (child.exitCode !== null) continue;
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const ports: number[] = [];
    for (let i = 0; i < masters; i++) ports.push(await startClusterNode(dir, children));
    await promisify(execFile)('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes']);
    const deadline = Date.now() + 10_000;
    for (const port of ports) {
      const client = new Redis({ port, host: '127.0.0.1' });
      try {
        while (!String(await client.call('CLUSTER', 'INFO')).includes('cluster_state:ok')) {
          if (Date.now() > deadline) throw new Error('the Redis Cluster did not become ready');
          await new Promise((r) => setTimeout(r, 50));
        }
      } finally {
        client.disconnect();
      }
    }
    return { url: ports.map((p) => `redis://127.0.0.1:${p}`).join(','), dispose };
  } catch (err) {
    await dispose();
    throw err;
  }
}
