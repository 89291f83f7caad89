// Topics across two nodes on one Redis: a publish on one node reaches v2 subscribers on the other
// (never held), keys and topics of the same name stay apart, a client publish reaches the other
// node's subscribers with its sender's id and is not echoed to the sender, and a message to a key
// and a topic reaches a socket under both once. "Nothing arrived" is shown by a later frame
// arriving first: per node, the bus delivers in the order Redis ran the publishes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, startCluster, synced, type TestCluster } from '../helpers/cluster.js';
import type { GatewayProcess } from '../helpers/gateway.js';
import { nowS, sign, signingKey } from '../helpers/jwt.js';
import { connectV2, messagesOf, type V2Socket } from '../helpers/v2.js';

const hs = await signingKey('HS256');
let cluster: TestCluster;
before(async () => {
  cluster = await startCluster(2, { WS_AUTH_MODE: 'jwt', WS_JWT_SECRET: hs.configured });
});
after(() => cluster.close());

const nodes = (): [GatewayProcess, GatewayProcess] => cluster.nodes as [GatewayProcess, GatewayProcess];

/** A v2 socket on `node`, resolved once the node counted it in cluster-wide presence. */
async function open(node: GatewayProcess, claims: Record<string, unknown>): Promise<V2Socket> {
  const before = synced(node);
  const socket = await connectV2(node.ws(`/ws?token=${await sign(hs, { exp: nowS() + 600, ...claims })}`));
  await eventually('the socket to join', () => synced(node) > before);
  return socket;
}

test('a topic publish on one node reaches subscribers on the other; keys and topics of one name stay apart', async () => {
  const [a, b] = nodes();
  const name = 'carol@example.com';
  const subscriber = await open(b, { sub: 'sub-b', read: [name] });
  assert.deepEqual((await subscriber.request({ type: 'subscribe', topic: name })).topics, [name]);
  const keySocket = await open(b, { sub: name });

  const toTopic = await a.publish({ topic: name, value: 'topic' });
  assert.equal(toTopic.status, 202);
  assert.equal(toTopic.json.held, 0);
  const toKey = await a.publish({ key: name, value: 'key' });
  assert.deepEqual([toKey.json.delivered, toKey.json.held], [1, 0]);
  await a.publish({ topic: name, value: 'topic again' });
  assert.deepEqual((await messagesOf(subscriber, 2)).map((m) => [m.topic, m.payload]), [[name, 'topic'], [name, 'topic again']]);
  assert.deepEqual((await messagesOf(keySocket, 1)).map((m) => [m.key, m.payload]), [[name, 'key']]);
  await a.publish({ key: name, value: 'last' });
  assert.deepEqual((await messagesOf(keySocket, 2)).map((m) => m.payload), ['key', 'last'], 'no topic message reached the key socket');
  assert.equal(subscriber.messages().length, 2, 'no key message reached the topic subscriber');
  await subscriber.close();
  await keySocket.close();
});

test('a client publish reaches the other node\'s subscribers with the sender id, not the sender unless it asks', async () => {
  const [a, b] = nodes();
  const sender = await open(a, { sub: 'sender-a', read: ['room'], write: ['room'] });
  const local = await open(a, { sub: 'local-a', read: ['room'] });
  const remote = await open(b, { sub: 'remote-b', read: ['room'] });
  for (const s of [sender, local, remote]) await s.request({ type: 'subscribe', topic: 'room' });
  const first = await sender.request({ type: 'publish', topic: 'room', data: 'no echo' });
  const second = await sender.request({ type: 'publish', topic: 'room', data: 'echo', echo: true });
  const from = sender.frames[0].connection;
  for (const s of [local, remote]) {
    assert.deepEqual((await messagesOf(s, 2)).map((m) => [m.id, m.payload, m.from]), [[first.id, 'no echo', from], [second.id, 'echo', from]]);
  }
  assert.deepEqual((await messagesOf(sender, 1)).map((m) => m.id), [second.id], 'only the echoed one came back');
  for (const s of [sender, local, remote]) await s.close();
});

test('a message to a key and a topic reaches a socket on the other node under both once; held for the key only', async () => {
  const [a, b] = nodes();
  const socket = await open(b, { sub: 'both-b', read: ['hall'] });
  await socket.request({ type: 'subscribe', topic: 'hall' });
  const r = await a.publish({ messages: [{ key: 'both-b', topic: 'hall', value: 'once' }, { key: 'nobody-b', topic: 'hall', value: 'held too' }] });
  assert.deepEqual(r.json.results.map((x: any) => [x.delivered, x.held]), [[1, 0], [0, 1]]);
  await a.publish({ key: 'both-b', value: 'last' });
  const got = await messagesOf(socket, 3);
  assert.deepEqual(got.map((m) => m.payload), ['once', 'held too', 'last']);
  assert.equal(got[0].key, 'both-b');
  assert.equal(got[1].topic, 'hall');
  assert.equal((await a.request('GET', '/?key=nobody-b')).json.length, 1);
  await socket.close();
});
