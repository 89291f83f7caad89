// WS_REDIS_SENTINEL with rediss:// Sentinels: the Sentinel, the master and the replica speak TLS only,
// so the nodes must reach both the Sentinel and the master it names over TLS (ioredis's
// sentinelTLS and enableTLSForSentinelMode, which src/redis/connect.ts sets for rediss://).
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { assertSharedAcrossNodes, startCluster, type TestCluster } from '../helpers/cluster.js';
import { ownSentinelGroup, TEST_TLS, type OwnSentinelGroup } from '../helpers/redis.js';

const PASSWORD = 'sentinel-tls-r3dis-pa55word';
let group: OwnSentinelGroup;
let cluster: TestCluster;
before(async () => {
  group = await ownSentinelGroup(PASSWORD, { tls: true });
  cluster = await startCluster(2, { WS_REDIS_SENTINEL: group.name, NODE_EXTRA_CA_CERTS: TEST_TLS.ca }, group.url);
});
after(async () => {
  await (cluster as TestCluster | undefined)?.close();
  await (group as OwnSentinelGroup | undefined)?.dispose();
});

test('over TLS, nodes find the master through the Sentinel, deliver across nodes and share held messages', async () => {
  const [a, b] = cluster.nodes as [TestCluster['nodes'][0], TestCluster['nodes'][0]];
  assert.ok(group.url.startsWith('rediss://'));
  await assertSharedAcrossNodes(a, b);
  await assertSharedAcrossNodes(b, a);
  assert.ok(!a.output().includes(PASSWORD) && !b.output().includes(PASSWORD), 'the Redis password is never logged');
});
