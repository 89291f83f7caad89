// WS_REDIS_CLUSTER=true against a real three-master Redis Cluster of this test's own: keys spread
// over slots on several servers, so each key is scripted on its own server and multi-key messages
// are decided per key and published once.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { openSocket, payloads, startCluster, type TestCluster } from '../helpers/cluster.js';
import { ownRedisCluster, type OwnRedisCluster } from '../helpers/redis.js';

let redis: OwnRedisCluster;
let cluster: TestCluster;
before(async () => {
  redis = await ownRedisCluster();
  cluster = await startCluster(2, { WS_REDIS_CLUSTER: 'true' }, redis.url);
});
after(async () => {
  // Either may be missing when before() failed: its error is the one to see.
  await (cluster as TestCluster | undefined)?.close();
  await (redis as OwnRedisCluster | undefined)?.dispose();
});

test('on Redis Cluster: fan-out in order, multi-key messages once per socket, held messages shared', async () => {
  const [a, b] = cluster.nodes as [typeof cluster.nodes[0], typeof cluster.nodes[0]];
  const both = await openSocket(b, 'alice', 'acme');
  const alice = await openSocket(a, 'alice');
  const zed = await openSocket(a, 'zed');
  for (let n = 0; n < 10; n++) assert.equal((await (n % 2 ? a : b).publish({ key: 'alice', value: n })).json.delivered, 2);
  const multi = await a.publish({ keys: ['alice', 'acme', 'zed', 'nobody'], value: 'multi' });
  assert.deepEqual([multi.json.delivered, multi.json.held], [4, 1], 'alice twice (two sockets), acme and zed once; held for nobody');

  assert.equal((await a.publish({ key: 'bob', value: 'h1' })).json.held, 1);
  assert.equal((await b.publish({ keys: ['bob', 'bob2'], value: 'h2' })).json.held, 2);
  const keys = (await a.request('GET', '/?counts')).json as Array<{ key: string; count: number }>;
  assert.deepEqual(keys.sort((x, y) => x.key.localeCompare(y.key)), [{ key: 'bob', count: 2 }, { key: 'bob2', count: 1 }, { key: 'nobody', count: 1 }],
    'GET / scans every master');
  const bob = await openSocket(b, 'bob', 'bob2');

  const expected = [...Array.from({ length: 10 }, (_, n) => n), 'multi'];
  for (const socket of [both, alice]) {
    await socket.waitForFrames(expected.length);
    assert.deepEqual(payloads(socket), expected);
  }
  await zed.waitForFrames(1);
  assert.deepEqual(payloads(zed), ['multi']);
  await bob.waitForFrames(2);
  assert.deepEqual(payloads(bob), ['h1', 'h2'], 'held under two keys, delivered once, in order');
  assert.deepEqual((await b.request('DELETE', '/')).json, { removed: 1 }, 'DELETE / reaches every master');
  for (const socket of [both, alice, zed, bob]) await socket.close();
});
