// A Redis Cluster with a replica per master loses a server that carries a node's delivery-bus
// subscription: a replica takes over, and deliveries across gateway nodes resume by themselves.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { eventually, openSocket, payloads, startCluster, type TestCluster } from '../helpers/cluster.js';
import { ownRedisCluster, type OwnRedisCluster } from '../helpers/redis.js';

let redis: OwnRedisCluster;
let cluster: TestCluster;
before(async () => {
  redis = await ownRedisCluster(3, 1);
  cluster = await startCluster(2, { WS_REDIS_CLUSTER: 'true' }, redis.url);
});
after(async () => {
  await (cluster as TestCluster | undefined)?.close();
  await (redis as OwnRedisCluster | undefined)?.dispose();
});

/** The Redis servers holding a connection named `name` (CLIENT SETNAME). */
async function serversWith(ports: readonly number[], name: string): Promise<number[]> {
  const found: number[] = [];
  for (const port of ports) {
    const client = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on('error', () => undefined);
    try {
      if (String(await client.call('CLIENT', 'LIST')).includes(`name=${name} `)) found.push(port);
    } catch {
      // a server already gone has nothing to report
    } finally {
      client.disconnect();
    }
  }
  return found;
}

test('deliveries across nodes resume after the server carrying a bus subscription fails', async () => {
  const [a, b] = cluster.nodes as [TestCluster['nodes'][0], TestCluster['nodes'][0]];
  const onA = await openSocket(a, 'yara');
  const onB = await openSocket(b, 'zack');
  assert.equal((await b.publish({ key: 'yara', value: 'before' })).json.delivered, 1);
  assert.equal((await a.publish({ key: 'zack', value: 'before' })).json.delivered, 1);
  await Promise.all([onA.waitForFrames(1), onB.waitForFrames(1)]);

  // One server only: with two of three masters gone the cluster has no majority to elect replicas.
  // Either both subscriptions were on it, or one was and the other direction is the control.
  const [carrier] = await serversWith(redis.ports, 'octoway-bus');
  assert.ok(carrier !== undefined, 'a bus subscription was found');
  await redis.kill(carrier);

  // Publishes may fail (503) or be held while the cluster fails over; each message that is
  // accepted must reach its socket, and once the cluster is whole again every one does.
  let n = 0;
  await eventually('a publish on B to reach the socket on A again', async () => {
    const r = await b.publish({ key: 'yara', value: `after-${++n}` });
    return r.status === 202 && r.json.delivered === 1 && onA.frames.some((f) => f.payload === `after-${n}`);
  }, 20_000);
  await eventually('a publish on A to reach the socket on B again', async () => {
    const r = await a.publish({ key: 'zack', value: `after-${++n}` });
    return r.status === 202 && r.json.delivered === 1 && onB.frames.some((f) => f.payload === `after-${n}`);
  }, 20_000);
  assert.equal(payloads(onA)[0], 'before');
  await Promise.all([onA.close(), onB.close()]);
});
