// Three nodes on one Redis behave as one gateway: a publish on any node reaches every socket of the
// key on every node once, in publish order; held messages are shared; acks apply cluster-wide.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from '../helpers/client.js';
import { eventually, openSocket, payloads, startCluster, type TestCluster } from '../helpers/cluster.js';

let cluster: TestCluster;
before(async () => {
  cluster = await startCluster(3);
});
after(() => cluster.close());

test('a publish on one node reaches the sockets on every node exactly once each, in publish order', async () => {
  const [a, b, c] = cluster.nodes as [typeof cluster.nodes[0], typeof cluster.nodes[0], typeof cluster.nodes[0]];
  const sockets = [await openSocket(a, 'alice'), await openSocket(b, 'alice'), await openSocket(c, 'alice')];
  const sent: number[] = [];
  for (let n = 0; n < 30; n++) {
    // From every node in turn: order is the order Redis accepted them, whichever node took the POST.
    const { status, json } = await [a, b, c][n % 3]!.publish({ key: 'alice', value: n });
    assert.equal(status, 202);
    assert.equal(json.delivered, 3, 'delivered counts the sockets of every node');
    assert.equal(json.held, 0);
    sent.push(n);
  }
  const batch = await b.publish({ messages: [{ key: 'alice', value: 'b1' }, { key: 'alice', value: 'b2' }, { key: 'alice', value: 'end' }] });
  assert.equal(batch.status, 202);
  for (const socket of sockets) {
    await socket.waitForFrames(sent.length + 3);
    assert.deepEqual(payloads(socket), [...sent, 'b1', 'b2', 'end'], 'each message once, in publish order');
  }
  for (const socket of sockets) await socket.close();
});

test('a message for several keys reaches a socket holding two of them once', async () => {
  const [a, b, c] = cluster.nodes as [typeof cluster.nodes[0], typeof cluster.nodes[0], typeof cluster.nodes[0]];
  const both = await openSocket(c, 'multi-user', 'multi-org');
  const user = await openSocket(a, 'multi-user');
  const { json } = await b.publish({ keys: ['multi-user', 'multi-org'], value: 'to both' });
  // Per key, so the socket under both keys is counted twice (docs/scale-out.md).
  assert.equal(json.delivered, 3);
  await b.publish({ key: 'multi-org', value: 'after' });
  await both.waitForFrames(2);
  await user.waitForFrames(1);
  assert.deepEqual(payloads(both), ['to both', 'after']);
  assert.deepEqual(payloads(user), ['to both']);
  await both.close();
  await user.close();
});

test('messages held on one node are delivered, in order, when the key connects to another', async () => {
  const [a, b, c] = cluster.nodes as [typeof cluster.nodes[0], typeof cluster.nodes[0], typeof cluster.nodes[0]];
  for (const [value, expire] of [['h1', '90s'], ['h2', undefined], ['h3', '1h30m']]) {
    const { status, json } = await a.publish({ key: 'bob', value, expire });
    assert.equal(status, 202);
    assert.deepEqual([json.delivered, json.held], [0, 1]);
  }
  const listed = await c.request('GET', '/?key=bob');
  assert.deepEqual(listed.json.map((m: { payload: unknown }) => m.payload), ['h1', 'h2', 'h3'], 'every node sees the shared store');
  assert.deepEqual(listed.json.map((m: { exp: string }) => m.exp), ['90s', '30m', '1h30m'], 'Goctopus\'s exp, as posted, through Redis');
  assert.ok(listed.json.every((m: { date: string }) => !Number.isNaN(Date.parse(m.date))));
  const socket = await openSocket(b, 'bob');
  await a.publish({ key: 'bob', value: 'live' });
  await socket.waitForFrames(4);
  assert.deepEqual(payloads(socket), ['h1', 'h2', 'h3', 'live']);
  assert.deepEqual((await a.request('GET', '/?key=bob')).json, [], 'at-most-once: delivered held messages are gone');
  await socket.close();
});

test('live messages published while a socket fetches its held ones arrive after them, in order', async () => {
  const [a, b] = cluster.nodes as [typeof cluster.nodes[0], typeof cluster.nodes[0]];
  const held = Array.from({ length: 600 }, (_, i) => `h${i}`);
  for (let i = 0; i < held.length; i += 100) {
    const { json } = await a.publish({ messages: held.slice(i, i + 100).map((value) => ({ key: 'dora', value })) });
    assert.ok(json.results.every((r: { held: number }) => r.held === 1));
  }
  // Published one after the other from before the upgrade until well after it: those before the
  // join are held behind the 600, those during it queue on node b until the held ones are written.
  const live: string[] = [];
  let afterOpen = -1;
  const opening = connect(b.ws('/ws?email=dora')).finally(() => { afterOpen = 0; });
  const publishing = (async () => {
    for (let n = 0; afterOpen < 20; n++) {
      const value = `live${n}`;
      assert.equal((await [a, b][n % 2]!.publish({ key: 'dora', value })).status, 202);
      live.push(value);
      if (afterOpen >= 0) afterOpen++;
    }
  })();
  const socket = await opening;
  await publishing;
  await eventually('every held and live message', () => socket.frames.length >= held.length + live.length);
  assert.deepEqual(payloads(socket), [...held, ...live], 'each once, held ones first, in publish order');
  await socket.close();
});

test('a message_id retried on another node is stored once', async () => {
  const [a, b] = cluster.nodes as [typeof cluster.nodes[0], typeof cluster.nodes[0]];
  const first = await a.publish({ key: 'idem', value: 1, message_id: 'order-42' });
  const retry = await b.publish({ key: 'idem', value: 1, message_id: 'order-42' });
  assert.equal(first.json.held, 1);
  assert.equal(retry.json.duplicate, true);
  assert.equal((await a.request('GET', '/?key=idem')).json.length, 1);
});

test('at-least-once: an unacknowledged message goes to the next connection on any node, an ack on any node ends it', async () => {
  const alo = await startCluster(2, { WS_DELIVERY: 'at-least-once' });
  try {
    const [a, b] = alo.nodes as [typeof alo.nodes[0], typeof alo.nodes[0]];
    const one = (await a.publish({ key: 'carol', value: 'one' })).json.id as string;
    const two = (await a.publish({ key: 'carol', value: 'two' })).json.id as string;
    const first = await openSocket(b, 'carol');
    await first.waitForFrames(2);
    first.send({ id: one });
    await first.close();
    await eventually('the ack to remove the message', async () => (await a.request('GET', '/?key=carol')).json.length === 1);
    const second = await openSocket(a, 'carol');
    await second.waitForFrames(1);
    assert.deepEqual(second.frames.map((f) => f.id), [two], 'the acknowledged message is not sent again');
    await second.close();
  } finally {
    await alo.close();
  }
});
