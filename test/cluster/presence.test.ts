// Cluster-wide presence: a node that dies stops counting within WS_PRESENCE_TTL, so messages for its
// former sockets are held from then on, and those sent to it before are recovered (held too); a node
// that stops gracefully stops at once; heartbeats keep a living node counted past its first lease.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, openSocket, payloads, PRESENCE_TTL_MS, startCluster, type TestCluster } from '../helpers/cluster.js';

let cluster: TestCluster;
before(async () => {
  cluster = await startCluster(3);
});
after(() => cluster.close());

test('a node killed with SIGKILL stops counting after the presence TTL: its keys\' messages, sent to it or not, are held', async () => {
  const [a, b, c] = cluster.nodes as [typeof cluster.nodes[0], typeof cluster.nodes[0], typeof cluster.nodes[0]];
  const survivor = await openSocket(a, 'erin');
  await openSocket(c, 'carol');
  assert.equal((await a.publish({ key: 'carol', value: 'live' })).json.delivered, 1);

  await c.stop('SIGKILL');
  const killedAt = Date.now();
  const sentToDead: unknown[] = [];
  const held: unknown[] = [];
  await eventually('carol\'s messages to be held', async () => {
    const n = sentToDead.length + held.length;
    const { status, json } = await b.publish({ key: 'carol', value: n });
    assert.equal(status, 202);
    (json.held === 1 ? held : sentToDead).push(n);
    return json.held === 1;
  }, PRESENCE_TTL_MS * 3);
  const elapsed = Date.now() - killedAt;
  assert.ok(elapsed <= PRESENCE_TTL_MS + 1_000, `held after ${elapsed} ms; the bound is ${PRESENCE_TTL_MS} ms plus one poll`);

  // erin's node lived through more than one lease: its heartbeats kept it counted.
  assert.equal((await b.publish({ key: 'erin', value: 'still here' })).json.delivered, 1);
  await survivor.waitForFrames(1);

  // The messages sent to the dead node were recovered when its lease ran out: held, in publish order.
  const back = await openSocket(b, 'carol');
  await back.waitForFrames(sentToDead.length + held.length);
  assert.deepEqual(payloads(back), [...sentToDead, ...held], 'every message answered 202 is delivered, in publish order');
  await back.close();
  await survivor.close();
});

test('a node stopped with SIGTERM stops counting at once', async () => {
  const extra = await cluster.addNode();
  await openSocket(extra, 'dave');
  const [a] = cluster.nodes as [typeof cluster.nodes[0]];
  assert.equal((await a.publish({ key: 'dave', value: 'before' })).json.delivered, 1);
  assert.equal(await extra.stop('SIGTERM'), 0);
  const { json } = await a.publish({ key: 'dave', value: 'after' });
  assert.deepEqual([json.delivered, json.held], [0, 1]);
});
