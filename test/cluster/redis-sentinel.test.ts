// WS_REDIS_SENTINEL against a master, a replica and a Sentinel of the test's own: two nodes find the
// master through the Sentinel, and after a failover they follow the new master by themselves, with
// the held messages the replica had received.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, openSocket, payloads, startCluster, type TestCluster } from '../helpers/cluster.js';
import { ownSentinelGroup, type OwnSentinelGroup } from '../helpers/redis.js';

const PASSWORD = 'sentinel-r3dis-pa55word';
let group: OwnSentinelGroup;
let cluster: TestCluster;
before(async () => {
  group = await ownSentinelGroup(PASSWORD);
  cluster = await startCluster(2, { WS_REDIS_SENTINEL: group.name }, group.url);
});
after(async () => {
  await (cluster as TestCluster | undefined)?.close();
  await (group as OwnSentinelGroup | undefined)?.dispose();
});

test('nodes find the master through the Sentinel and follow it through a failover', async () => {
  const [a, b] = cluster.nodes as [TestCluster['nodes'][0], TestCluster['nodes'][0]];
  const onB = await openSocket(b, 'wanda');
  assert.equal((await a.publish({ key: 'wanda', value: 'before' })).json.delivered, 1);
  assert.equal((await a.publish({ key: 'xena', value: 'held before' })).json.held, 1);
  const oldMaster = await group.masterPort();

  await group.failover();
  assert.notEqual(await group.masterPort(), oldMaster);
  // Publishes may be refused (503) while the nodes move; each node serves again by itself.
  for (const node of [a, b]) {
    await eventually(`node ${node.port} to publish on the new master`, async () => (await node.publish({ key: 'probe', value: 0, expire: '0' })).status === 202, 15_000);
  }
  await eventually('a publish on A to reach the socket on B', async () => {
    const r = await a.publish({ key: 'wanda', value: 'after' });
    return r.status === 202 && r.json.delivered === 1;
  }, 15_000);
  await onB.waitForFrames(2);
  assert.deepEqual(payloads(onB).slice(0, 2), ['before', 'after']);

  const later = await openSocket(b, 'xena');
  await later.waitForFrames(1);
  assert.deepEqual(payloads(later), ['held before']);
  assert.ok(!a.output().includes(PASSWORD) && !b.output().includes(PASSWORD), 'the Redis password is never logged');
  await Promise.all([onB.close(), later.close()]);
});
