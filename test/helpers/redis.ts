// Redis for tests: the shared server on 127.0.0.1:6379 (never stopped; each test uses its own key
// prefix and deletes its keys), or a throwaway redis-server of a test's own on a free port.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
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

/** Whether a child process has ended, by exit or by signal (a killed child keeps exitCode null). */
const ended = (child: ChildProcess): boolean => child.exitCode !== null || child.signalCode !== null;

/** SIGKILLs a child that is still running and waits for it to go. */
async function kill(child: ChildProcess | undefined): Promise<void> {
  if (child === undefined || ended(child)) return;
  child.kill('SIGKILL');
  await once(child, 'exit');
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
  /** SIGSTOP: it keeps its connections open and answers nothing (commands time out), as a hung server. */
  pause(): void;
  /** SIGCONT after pause. */
  resume(): void;
  /** Stops it if running and removes its directory. */
  dispose(): Promise<void>;
}

/** The test-only CA and the server certificate it signed for 127.0.0.1 (test/fixtures/tls). */
export const TEST_TLS = {
  ca: fileURLToPath(new URL('../../../test/fixtures/tls/ca.crt', import.meta.url)),
  cert: fileURLToPath(new URL('../../../test/fixtures/tls/server.crt', import.meta.url)),
  key: fileURLToPath(new URL('../../../test/fixtures/tls/server.key', import.meta.url)),
};

/** A redis-server of the test's own, without periodic persistence (`--save "" --appendonly no`);
 * with `tls`, it listens for TLS only (rediss://) with the TEST_TLS certificate. */
export async function ownRedis(password: string, options: { tls?: boolean } = {}): Promise<OwnRedis> {
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'octoway-redis-'));
  let child: ChildProcess | undefined;
  const tls = options.tls === true;
  const url = `${tls ? 'rediss' : 'redis'}://:${encodeURIComponent(password)}@127.0.0.1:${port}`;
  const listen = listenArgs(port, tls);

  const own: OwnRedis = {
    port,
    url,
    async start() {
      child = spawn('redis-server', [...listen, '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
        '--dir', dir, '--requirepass', password], { stdio: 'ignore' });
      await untilAnswers(port, child, password, tls);
    },
    async stop() {
      const running = child;
      if (running === undefined || ended(running)) return;
      const exited = once(running, 'exit');
      const client = new Redis({ port, host: '127.0.0.1', password, maxRetriesPerRequest: 0, retryStrategy: () => null, ...tlsOption(tls) });
      client.on('error', () => undefined);
      await client.call('SHUTDOWN', 'SAVE').catch(() => undefined); // the connection drops as it stops
      client.disconnect();
      await exited;
    },
    pause() {
      child?.kill('SIGSTOP');
    },
    resume() {
      child?.kill('SIGCONT');
    },
    async dispose() {
      child?.kill('SIGCONT');
      await kill(child);
      await rm(dir, { recursive: true, force: true });
    },
  };
  return own;
}

/** redis-server's options for where it listens: `port` in the clear, or with `tls` TLS only
 * (rediss://) with the TEST_TLS certificate, its replication and Sentinel links too. */
function listenArgs(port: number, tls: boolean): string[] {
  if (!tls) return ['--port', String(port)];
  return ['--port', '0', '--tls-port', String(port), '--tls-cert-file', TEST_TLS.cert, '--tls-key-file', TEST_TLS.key,
    '--tls-ca-cert-file', TEST_TLS.ca, '--tls-auth-clients', 'no', '--tls-replication', 'yes'];
}

/** The same options as lines of a config file (`--name value` becomes `name value`). */
function asConfigLines(args: readonly string[]): string[] {
  const lines: string[] = [];
  for (let i = 0; i + 1 < args.length; i += 2) lines.push(`${(args[i] as string).slice(2)} ${args[i + 1] as string}`);
  return lines;
}

/** ioredis options that trust the test CA, for a TLS server. */
function tlsOption(tls: boolean): { tls?: { ca: Buffer } } {
  return tls ? { tls: { ca: readFileSync(TEST_TLS.ca) } } : {};
}

async function answers(port: number, password?: string, tls = false): Promise<boolean> {
  const client = new Redis({ port, host: '127.0.0.1', password, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, ...tlsOption(tls) });
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

async function untilAnswers(port: number, child: ChildProcess, password?: string, tls = false): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!(await answers(port, password, tls))) {
    if (Date.now() > deadline || ended(child)) throw new Error(`redis-server on port ${port} did not start`);
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
      '--cluster-config-file', `nodes-${port}.conf`, '--cluster-node-timeout', '1000', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
    children.push(child);
    try {
      await untilAnswers(port, child);
      return port;
    } catch (err) {
      if (!ended(child) || attempt >= 5) throw err;
    }
  }
}

export interface OwnRedisCluster {
  /** The seeds, as WS_REDIS_URL takes them with WS_REDIS_CLUSTER=true. */
  readonly url: string;
  readonly ports: readonly number[];
  /** SIGKILLs the server on `port`; with replicas, one of its replicas takes over its slots. */
  kill(port: number): Promise<void>;
  dispose(): Promise<void>;
}

/** A Redis Cluster of the test's own: `masters` redis-servers with `replicas` each, all slots
 * covered. A node is judged failed after 1 s (cluster-node-timeout), so failovers are quick. */
export async function ownRedisCluster(masters = 3, replicas = 0): Promise<OwnRedisCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'octoway-redis-cluster-'));
  const children: ChildProcess[] = [];
  const dispose = async (): Promise<void> => {
    for (const child of children) await kill(child);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const ports: number[] = [];
    const byPort = new Map<number, ChildProcess>();
    for (let i = 0; i < masters * (1 + replicas); i++) {
      const port = await startClusterNode(dir, children);
      ports.push(port);
      byPort.set(port, children[children.length - 1]!); // the attempt that started
    }
    await promisify(execFile)('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', String(replicas), '--cluster-yes']);
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
    // A replica can take over only once it has synced with its master.
    for (const port of ports) {
      const client = new Redis({ port, host: '127.0.0.1' });
      try {
        for (let info = await client.info('replication'); /role:slave/.test(info) && !/master_link_status:up/.test(info); info = await client.info('replication')) {
          if (Date.now() > deadline) throw new Error('a Redis Cluster replica did not sync');
          await new Promise((r) => setTimeout(r, 50));
        }
      } finally {
        client.disconnect();
      }
    }
    return { url: ports.map((p) => `redis://127.0.0.1:${p}`).join(','), ports, kill: (port) => kill(byPort.get(port)), dispose };
  } catch (err) {
    await dispose();
    throw err;
  }
}

export interface OwnSentinelGroup {
  /** WS_REDIS_URL for the gateway: the Sentinel's address with the master's password. */
  readonly url: string;
  readonly name: string;
  /** The port of the group's current master, as the Sentinel reports it. */
  masterPort(): Promise<number>;
  /** Promotes the replica (SENTINEL FAILOVER) and resolves once the Sentinel names it master. */
  failover(): Promise<void>;
  dispose(): Promise<void>;
}

/** A master and a replica (both with `password`) watched by one Sentinel, all of the test's own;
 * with `tls`, all three speak TLS only (the TEST_TLS certificate), replication and Sentinel links too. */
export async function ownSentinelGroup(password: string, options: { tls?: boolean } = {}): Promise<OwnSentinelGroup> {
  const tls = options.tls === true;
  const name = 'octoway-test';
  const dir = await mkdtemp(join(tmpdir(), 'octoway-sentinel-'));
  const children: ChildProcess[] = [];
  const start = async (args: string[], port: number, auth?: string): Promise<void> => {
    const child = spawn('redis-server', args, { stdio: 'ignore', cwd: dir });
    children.push(child);
    await untilAnswers(port, child, auth, tls);
  };
  const common = (port: number): string[] => [...listenArgs(port, tls), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
    '--dir', dir, '--requirepass', password, '--masterauth', password, '--dbfilename', `dump-${port}.rdb`];
  const [masterPort, replicaPort, sentinelPort] = [await freePort(), await freePort(), await freePort()];
  await start(common(masterPort), masterPort, password);
  await start([...common(replicaPort), '--replicaof', '127.0.0.1', String(masterPort)], replicaPort, password);
  const replica = new Redis({ port: replicaPort, host: '127.0.0.1', password, ...tlsOption(tls) });
  const deadline = Date.now() + 10_000;
  while (!/master_link_status:up/.test(await replica.info('replication'))) {
    if (Date.now() > deadline) throw new Error('the replica did not sync with its master');
    await new Promise((r) => setTimeout(r, 20));
  }
  replica.disconnect();
  const conf = join(dir, 'sentinel.conf');
  await writeFile(conf, [
    ...asConfigLines(listenArgs(sentinelPort, tls)),
    'bind 127.0.0.1', `dir ${dir}`,
    `sentinel monitor ${name} 127.0.0.1 ${masterPort} 1`,
    `sentinel auth-pass ${name} ${password}`,
    `sentinel down-after-milliseconds ${name} 1000`,
    `sentinel failover-timeout ${name} 5000`,
  ].join('\n'));
  await start([conf, '--sentinel'], sentinelPort);
  const sentinel = new Redis({ port: sentinelPort, host: '127.0.0.1', maxRetriesPerRequest: 1, ...tlsOption(tls) });
  const masterPortNow = async (): Promise<number> => {
    const [, port] = (await sentinel.call('SENTINEL', 'get-master-addr-by-name', name)) as [string, string];
    return Number(port);
  };
  return {
    url: `${tls ? 'rediss' : 'redis'}://:${encodeURIComponent(password)}@127.0.0.1:${sentinelPort}`,
    name,
    masterPort: masterPortNow,
    async failover() {
      const before = await masterPortNow();
      const until = Date.now() + 15_000;
      // A forced failover drops what the replica has not received yet: let it catch up first.
      const [master, replica] = [before, before === masterPort ? replicaPort : masterPort].map((port) => new Redis({ port, host: '127.0.0.1', password, ...tlsOption(tls) }));
      const offset = async (client: Redis): Promise<string | undefined> => /(?:master|slave)_repl_offset:(\d+)/.exec(await client.info('replication'))?.[1];
      while ((await offset(master!)) !== (await offset(replica!))) {
        if (Date.now() > until) throw new Error('the replica did not catch up');
        await new Promise((r) => setTimeout(r, 20));
      }
      master!.disconnect();
      replica!.disconnect();
      // Refused (NOGOODSLAVE) until the Sentinel has seen the replica through the master's INFO.
      while ((await sentinel.call('SENTINEL', 'FAILOVER', name).then(() => true, () => false)) === false) {
        if (Date.now() > until) throw new Error('the Sentinel would not fail over');
        await new Promise((r) => setTimeout(r, 100));
      }
      while ((await masterPortNow()) === before) {
        if (Date.now() > until) throw new Error('the Sentinel did not name a new master');
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async dispose() {
      sentinel.disconnect();
      for (const child of children) await kill(child);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
