// Redis goes away and comes back (a redis-server of this test's own): publishes get 503 at once while
// it is down, /readyz says why, sockets stay open, and the nodes recover by themselves with nothing
// that got a 202 lost. The Redis password never reaches a log line.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, openSocket, payloads, startCluster, synced, type TestCluster } from '../helpers/cluster.js';
import { ownRedis, type OwnRedis } from '../helpers/redis.js';

const PASSWORD = 'r3dis-pa55word-never-logged';
let redis: OwnRedis;
let cluster: TestCluster;
before(async () => {
  redis = await ownRedis(PASSWORD);
  await redis.start();
  cluster = await startCluster(2, {}, redis.url);
});
after(async () => {
  // Either may be missing when before() failed: its error is the one to see.
  await (cluster as TestCluster | undefined)?.close();
  await (redis as OwnRedis | undefined)?.dispose();
});

const lines = (node: TestCluster['nodes'][number], msg: string): number => node.logs.filter((l) => l.msg.startsWith(msg)).length;

test('Redis stopped then restarted: 503 and not ready while down, sockets stay open, nothing accepted is lost', async () => {
  const [a, b] = cluster.nodes as [typeof cluster.nodes[0], typeof cluster.nodes[0]];
  const sockets = [await openSocket(a, 'alice'), await openSocket(b, 'alice')];
  assert.equal((await a.publish({ key: 'alice', value: 'before' })).json.delivered, 2);
  assert.equal((await b.publish({ key: 'bob', value: 'held before' })).json.held, 1);
  const liveBefore = [lines(a, 'redis delivery live'), lines(b, 'redis delivery live')];

  await redis.stop();
  for (const node of [a, b]) await node.waitForLog((l) => l.msg.startsWith('redis delivery down'));
  for (const node of [a, b]) {
    const started = Date.now();
    const { status, json } = await node.publish({ key: 'alice', value: 'refused', message_id: 'retry-me' });
    assert.equal(status, 503);
    assert.equal(json.error, 'STORE_UNAVAILABLE');
    assert.ok(Date.now() - started < 1_000, 'refused at once, not after a timeout');
    const ready = await node.request('GET', '/readyz');
    assert.equal(ready.status, 503);
    assert.equal(ready.json.reason, 'redis is unreachable');
  }
  assert.equal((await a.request('GET', '/?key=bob')).status, 503, 'the admin API says so too');

  const syncedBefore = [synced(a), synced(b)];
  await redis.start();
  await eventually('both nodes to deliver again', () =>
    lines(a, 'redis delivery live') > liveBefore[0]! && lines(b, 'redis delivery live') > liveBefore[1]!, 10_000);
  await eventually('open sockets to join again', () => synced(a) > syncedBefore[0]! && synced(b) > syncedBefore[1]!);
  for (const node of [a, b]) assert.equal((await node.request('GET', '/readyz')).status, 200);

  const retried = await b.publish({ key: 'alice', value: 'after', message_id: 'retry-me' });
  assert.equal(retried.status, 202, 'a publish refused while down was not remembered: its retry is accepted');
  assert.equal(retried.json.delivered, 2);
  for (const socket of sockets) {
    await socket.waitForFrames(2);
    assert.deepEqual(payloads(socket), ['before', 'after'], 'the socket stayed open and got each message once');
  }
  const bob = await openSocket(a, 'bob');
  await bob.waitForFrames(1);
  assert.deepEqual(payloads(bob), ['held before']);

  for (const node of [a, b]) {
    assert.ok(node.logs.some((l) => l.msg === 'redis connection lost'), 'the loss is logged');
    assert.ok(node.logs.some((l) => l.msg === 'redis reconnecting'), 'reconnecting is logged');
    assert.ok(!node.output().includes(PASSWORD), 'the Redis password never appears in the output');
  }
  for (const socket of [...sockets, bob]) await socket.close();
});
