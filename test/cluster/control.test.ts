// The control plane over Redis when a node does not answer: the asking node waits at most the
// control timeout (2 s), answers with the nodes that did answer and says how many did not; the slow
// node still acts on the request once it runs again. Without Redis, nothing is asked: 503.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, openSocket, startCluster, type TestCluster } from '../helpers/cluster.js';
import { ownRedis, redisClient } from '../helpers/redis.js';
import { Keyspace } from '../../src/redis/keyspace.js';

let cluster: TestCluster;
before(async () => {
  cluster = await startCluster(2);
});
after(() => cluster.close());

test('a node that does not answer in time is reported unanswered; the others\' answers come back', async () => {
  const [a, b] = cluster.nodes as [typeof cluster.nodes[0], typeof cluster.nodes[0]];
  const onA = await openSocket(a, 'frozen');
  const onB = await openSocket(b, 'frozen');
  // Stopped, not dead: its bus subscription stays open, so Redis counts it as a receiver.
  b.child.kill('SIGSTOP');
  let resumed = false;
  try {
    const started = Date.now();
    const presence = await a.request('GET', '/presence?key=frozen');
    assert.deepEqual(presence.json, { connections: 1, nodes: 1, unanswered: 1 });
    const r = await a.request('POST', '/disconnect', { body: JSON.stringify({ key: 'frozen', code: 4100 }) });
    const took = Date.now() - started;
    assert.deepEqual(r.json, { closed: 1, nodes: 1, unanswered: 1 });
    assert.ok(took >= 2 * 2_000 - 100, `each request waited out the timeout (${took} ms for two)`);
    assert.equal(await onA.closed, 4100);
    b.child.kill('SIGCONT');
    resumed = true;
    // The request reached b's subscription: once it runs again, it closes its socket too.
    assert.equal(await onB.closed, 4100);
  } finally {
    if (!resumed) b.child.kill('SIGCONT');
  }
  const after = await b.request('GET', '/presence?key=frozen');
  assert.deepEqual(after.json, { connections: 0, nodes: 2, unanswered: 0 });
});

test('an envelope of a newer version or kind is ignored with one warning per tag; delivery goes on', async () => {
  const [a, b] = cluster.nodes as [typeof cluster.nodes[0], typeof cluster.nodes[0]];
  const socket = await openSocket(b, 'steady');
  const redis = await redisClient();
  try {
    const channel = new Keyspace(cluster.prefix).channel;
    // What a later version might send: a publish of version 2 (naming the key) and a kind 1 does not have.
    for (const text of ['@2p@1|["future",["steady"]]\n{"id":"future","payload":0}', '@1z@{}', '@2p@1|["again",["steady"]]\n{}', '@3q@{}']) {
      assert.equal(await redis.publish(channel, text), 2, 'both nodes are subscribed');
    }
    assert.equal((await a.publish({ key: 'steady', value: 'now' })).json.delivered, 1);
    await socket.waitForFrames(1);
    assert.deepEqual(socket.frames.map((f) => f.payload), ['now'], 'nothing of the unknown envelopes was delivered');
    // Log lines come in order: once the last tag's warning is read, every earlier one is.
    await b.waitForLog((l) => l.tag === '3q');
    const warnings = b.logs.filter((l) => l.msg.startsWith('ignoring bus messages of an unknown kind or version'));
    assert.deepEqual(warnings.map((l) => l.tag), ['2p', '1z', '3q']);
  } finally {
    redis.disconnect();
    await socket.close();
  }
});

test('with Redis down a control request is refused with CONTROL_UNAVAILABLE and closes nothing; once back, it works', async () => {
  const redis = await ownRedis('control-down-password');
  let own: TestCluster | undefined;
  try {
    await redis.start();
    own = await startCluster(1, {}, redis.url);
    const [node] = own.nodes as [typeof own.nodes[0]];
    const socket = await openSocket(node, 'survivor');
    await redis.stop();
    await eventually('the node to notice Redis is gone', async () => (await node.request('GET', '/readyz')).status === 503);
    const refused = await node.request('POST', '/disconnect', { body: JSON.stringify({ key: 'survivor' }) });
    assert.deepEqual([refused.status, refused.json.error, refused.headers.get('retry-after')], [503, 'CONTROL_UNAVAILABLE', '1']);
    assert.equal((await node.request('GET', '/presence?key=survivor')).json.error, 'CONTROL_UNAVAILABLE');
    await redis.start();
    await eventually('the node to be ready again', async () => (await node.request('GET', '/readyz')).status === 200, 10_000);
    const r = await node.request('POST', '/disconnect', { body: JSON.stringify({ key: 'survivor' }) });
    assert.deepEqual(r.json, { closed: 1, nodes: 1, unanswered: 0 });
    assert.equal(await socket.closed, 4002);
  } finally {
    await own?.close();
    await redis.dispose();
  }
});
