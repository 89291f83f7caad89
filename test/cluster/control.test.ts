// The control plane over Redis when a node does not answer: the asking node waits at most the
// control timeout (2 s), answers with the nodes that did answer and says how many did not; the slow
// node still acts on the request once it runs again. Without Redis, nothing is asked: 503.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, openSocket, startCluster, type TestCluster } from '../helpers/cluster.js';
import { ownRedis } from '../helpers/redis.js';

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
