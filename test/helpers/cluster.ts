// Several real gateway processes sharing one Redis under a prefix of their own, for scale-out tests.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { startAuthBackend, type AuthBackend } from './auth-backend.js';
import { connect, type TestSocket } from './client.js';
import { startGateway, untilRedisLive, type GatewayProcess } from './gateway.js';
import { deletePrefix, redisClient, SHARED_REDIS_URL, testPrefix } from './redis.js';

/** Short enough for tests to wait it out, long enough for loaded machines to heartbeat in time. */
export const PRESENCE_TTL_MS = 1_500;

export interface TestCluster {
  readonly nodes: GatewayProcess[];
  readonly prefix: string;
  readonly env: Record<string, string>;
  /** Starts one more node with the same settings and waits until it delivers. */
  addNode(): Promise<GatewayProcess>;
  close(): Promise<void>;
}

export async function startCluster(count: number, env: Record<string, string> = {}, redisUrl = SHARED_REDIS_URL): Promise<TestCluster> {
  const auth: AuthBackend = await startAuthBackend();
  const prefix = testPrefix('cluster');
  const nodeEnv = {
    WS_AUTH_URL: auth.url, WS_REDIS_URL: redisUrl, WS_REDIS_PREFIX: prefix, WS_PRESENCE_TTL: `${PRESENCE_TTL_MS}ms`, ...env,
  };
  const nodes: GatewayProcess[] = [];
  const addNode = async (): Promise<GatewayProcess> => {
    const node = await startGateway(nodeEnv);
    nodes.push(node);
    await untilRedisLive(node);
    return node;
  };
  const close = async (): Promise<void> => {
    await Promise.all(nodes.map((n) => n.stop()));
    await auth.close();
    if (redisUrl === SHARED_REDIS_URL) {
      const admin = await redisClient();
      await deletePrefix(admin, prefix);
      await admin.quit();
    }
  };
  // Every start settles before a failure is reported, so no node is left running unowned.
  const started = await Promise.allSettled(Array.from({ length: count }, addNode));
  const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed !== undefined) {
    await close();
    throw failed.reason;
  }
  return { nodes, prefix, env: nodeEnv, addNode, close };
}

/** How many sockets of this node have joined (presence counted, held messages fetched). */
export function synced(node: GatewayProcess): number {
  return node.logs.filter((l) => l.msg === 'socket synced').length;
}

/** Polls until `check` holds, failing after `timeoutMs` with `what`. */
export async function eventually(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}

/** Opens a socket for routing key `key` (the test auth backend maps ?email= to a key) and resolves
 * once the node has counted it in cluster-wide presence. */
export async function openSocket(node: GatewayProcess, key: string, org?: string): Promise<TestSocket> {
  const before = synced(node);
  const query = `email=${encodeURIComponent(key)}${org === undefined ? '' : `&org=${encodeURIComponent(org)}`}`;
  const socket = await connect(node.ws(`/ws?${query}`));
  await eventually(`socket ${key} to join on port ${node.port}`, () => synced(node) > before);
  return socket;
}

export const payloads = (socket: TestSocket): unknown[] => socket.frames.map((f) => f.payload);

/** The two things a shared Redis must give, checked through `from` and `to`: a publish on `from`
 * reaches a socket on `to`, and a message held through `from` reaches a socket that connects to `to`. */
export async function assertSharedAcrossNodes(from: GatewayProcess, to: GatewayProcess): Promise<void> {
  // Keys of this direction's own, so both directions can be checked on the same nodes.
  const [live, held] = ['live', 'held'].map((what) => `${what}-${from.port}-to-${to.port}`) as [string, string];
  const onTo = await openSocket(to, live);
  assert.equal((await from.publish({ key: live, value: 'across' })).json.delivered, 1);
  await onTo.waitForFrames(1);
  assert.equal((await from.publish({ key: held, value: 'held' })).json.held, 1);
  const later = await openSocket(to, held);
  await later.waitForFrames(1);
  assert.deepEqual([payloads(onTo), payloads(later)], [['across'], ['held']]);
  await Promise.all([onTo.close(), later.close()]);
}
