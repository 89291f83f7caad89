// Octoway's native protocol v2 against the real gateway on one node: subprotocol negotiation, the
// welcome, message frames from keys and topics (held ones too), topic grants, namespaces kept apart,
// client publish without echo, its rate limit, and refused frames. Goctopus clients on the same
// gateway keep their frames exactly. "Nothing arrived" is shown by a later frame arriving first.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { gatewayForSuite, withGateway } from '../helpers/gateway.js';
import { connect } from '../helpers/client.js';
import { nowS, sign, signingKey } from '../helpers/jwt.js';
import { connectV2, messagesOf } from '../helpers/v2.js';
import { CLOSE_CODES } from '../../src/errors.js';

const hs = await signingKey('HS256');
const token = (claims: Record<string, unknown>): Promise<string> => sign(hs, { exp: nowS() + 600, ...claims });
const url = async (claims: Record<string, unknown>, path = '/ws'): Promise<string> => `${path}?token=${await token(claims)}`;

describe('octoway.v2 on one node', () => {
  const suite = gatewayForSuite({
    WS_AUTH_MODE: 'jwt', WS_JWT_SECRET: hs.configured, WS_MSG_EXPIRE: '1m',
    WS_CLIENT_PUBLISH_RATE: '1', WS_CLIENT_PUBLISH_BURST: '3',
  });

  test('the 101 selects octoway.v2; the welcome comes first; key messages are v2 frames, held ones too', async () => {
    const { gw } = suite;
    assert.equal((await gw.publish({ key: 'v2-held', value: { n: 1 } })).json.held, 1);
    const socket = await connectV2(gw.ws(await url({ sub: 'v2-held', sid: 's-1', read: ['chat:*'], write: ['chat:lobby'] })));
    assert.equal(socket.ws.protocol, 'octoway.v2');
    const welcome = socket.frames[0];
    assert.equal(welcome.type, 'welcome');
    assert.match(welcome.connection, /^[0-9a-z]+-[0-9a-z]+$/);
    assert.equal(welcome.user, 'v2-held');
    assert.equal(welcome.session, 's-1');
    assert.deepEqual(welcome.keys, ['v2-held']);
    assert.deepEqual(welcome.grants, { subscribe: ['chat:*'], publish: ['chat:lobby'] });
    assert.equal(typeof welcome.time, 'number');
    const [held] = await messagesOf(socket, 1);
    assert.equal(held.key, 'v2-held');
    assert.deepEqual(held.payload, { n: 1 });
    const live = await gw.publish({ key: 'v2-held', value: 'live' });
    const [, second] = await messagesOf(socket, 2);
    assert.deepEqual(second, { type: 'message', id: live.json.id, key: 'v2-held', payload: 'live' });
    await socket.close();
  });

  test('a v2 pattern socket gets held and live messages framed with the key that matched', async () => {
    const { gw } = suite;
    assert.equal((await gw.publish({ key: 'feed/1', value: 'held' })).json.held, 1);
    const socket = await connectV2(gw.ws(await url({ sub: 'reader', keys: ['feed/*'] })));
    await messagesOf(socket, 1);
    assert.equal((await gw.publish({ key: 'feed/2', value: 'live' })).json.delivered, 1);
    assert.deepEqual((await messagesOf(socket, 2)).map((m) => [m.key, m.payload]), [['feed/1', 'held'], ['feed/2', 'live']]);
    await socket.close();
  });

  test('a browser passing its JWT as a subprotocol beside octoway.v2 gets octoway.v2 selected, never the token', async () => {
    const { gw } = suite;
    const jwt = await token({ sub: 'in-protocol' });
    const socket = await connectV2(gw.ws('/ws'), {}, [`octoway.token.${jwt}`, 'octoway.v2']);
    assert.equal(socket.ws.protocol, 'octoway.v2');
    assert.equal(socket.frames[0].user, 'in-protocol');
    await socket.close();
  });

  test('a client offering other subprotocols, or none, keeps Goctopus frames', async () => {
    const { gw } = suite;
    const other = await connectV2(gw.ws(await url({ sub: 'goc-1' })), {}, ['chat', 'octoway.v1']);
    assert.equal(other.ws.protocol, 'chat');
    const plain = await connect(gw.ws(await url({ sub: 'goc-1' })));
    const sent = await gw.publish({ key: 'goc-1', value: 'x' });
    await other.waitFor((f) => f.id === sent.json.id);
    assert.deepEqual(other.frames, [{ id: sent.json.id, payload: 'x' }]);
    assert.deepEqual(await plain.waitForFrames(1), [{ id: sent.json.id, payload: 'x' }]);
    await other.close();
    await plain.close();
  });

  test('subscribe within the grants (exact and prefix), refused outside them; topic publishes reach subscribers only', async () => {
    const { gw } = suite;
    const socket = await connectV2(gw.ws(await url({ sub: 'sub-1', read: ['news', 'chat:*'] })));
    assert.deepEqual(await socket.request({ type: 'subscribe', topic: 'news' }), { type: 'subscribed', topics: ['news'], ref: socket.frames.at(-1).ref });
    const both = await socket.request({ type: 'subscribe', topics: ['chat:1', 'chat:2'] });
    assert.deepEqual(both.topics, ['chat:1', 'chat:2']);
    const refused = await socket.request({ type: 'subscribe', topics: ['chat:3', 'secret'] });
    assert.equal(refused.type, 'error');
    assert.equal(refused.code, 'TOPIC_FORBIDDEN');
    assert.equal((await socket.request({ type: 'subscribe', topic: 'chat' })).code, 'TOPIC_FORBIDDEN', 'chat:* does not grant chat');
    assert.equal((await socket.request({ type: 'subscribe', topic: '' })).code, 'TOPIC_INVALID');

    const r = await gw.publish({ topic: 'chat:1', value: 'hello' });
    assert.equal(r.status, 202);
    assert.equal(r.json.held, 0, 'a topic message is never held');
    const [m] = await messagesOf(socket, 1);
    assert.deepEqual(m, { type: 'message', id: r.json.id, topic: 'chat:1', payload: 'hello' });
    // chat:3 was refused with secret: nothing of that frame was subscribed.
    await gw.publish({ topics: ['chat:3', 'secret'], value: 'not yours' });
    await gw.publish({ topic: 'news', value: 'after' });
    assert.deepEqual((await messagesOf(socket, 2)).map((f) => f.payload), ['hello', 'after']);

    assert.deepEqual((await socket.request({ type: 'unsubscribe', topic: 'news' })).topics, ['news']);
    await gw.publish({ topic: 'news', value: 'gone' });
    await gw.publish({ topic: 'chat:2', value: 'still' });
    assert.deepEqual((await messagesOf(socket, 3)).map((f) => f.payload), ['hello', 'after', 'still']);
    const all = await socket.request({ type: 'unsubscribe-all' });
    assert.deepEqual(all.topics.sort(), ['chat:1', 'chat:2']);
    await gw.publish({ topics: ['chat:1', 'chat:2'], value: 'none' });
    await gw.publish({ key: 'sub-1', value: 'key' });
    assert.deepEqual((await messagesOf(socket, 4)).map((f) => f.payload), ['hello', 'after', 'still', 'key']);
    await socket.close();
  });

  test('POST / refuses bad topics with TOPIC_INVALID and publishes nothing of the request', async () => {
    const { gw } = suite;
    for (const body of [{ topic: '', value: 1 }, { topics: [], value: 1 }, { topic: 'a\u0000b', value: 1 }, { messages: [{ topic: 'fine', value: 1 }, { topics: ['ok', 7], value: 2 }] }]) {
      const r = await gw.publish(body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.equal(r.json.error, 'TOPIC_INVALID');
    }
    assert.equal((await gw.publish({ value: 1 })).json.error, 'MISSING_KEY');
  });

  test('topics and keys never share a namespace, not even through a pattern key', async () => {
    const { gw } = suite;
    const name = 'alice@example.com';
    const keySocket = await connectV2(gw.ws(await url({ sub: name })));
    const goctopus = await connect(gw.ws(await url({ sub: name })));
    const watcher = await connect(gw.ws(await url({ sub: 'watcher', keys: ['*'] })));
    const topicSocket = await connectV2(gw.ws(await url({ sub: 'bob', read: [name] })));
    await topicSocket.request({ type: 'subscribe', topic: name });

    const toTopic = await gw.publish({ topic: name, value: 'to the topic' });
    assert.equal(toTopic.json.delivered, 1, 'only the topic subscriber');
    const toKey = await gw.publish({ key: name, value: 'to the key' });
    assert.equal(toKey.json.delivered, 3, 'the key sockets and the pattern socket');
    assert.deepEqual((await messagesOf(keySocket, 1)).map((f) => f.payload), ['to the key']);
    assert.deepEqual((await goctopus.waitForFrames(1)).map((f) => f.payload), ['to the key']);
    assert.deepEqual((await watcher.waitForFrames(1)).map((f) => f.payload), ['to the key']);
    await gw.publish({ topic: name, value: 'topic again' });
    assert.deepEqual((await messagesOf(topicSocket, 2)).map((f) => [f.topic, f.payload]), [[name, 'to the topic'], [name, 'topic again']]);
    assert.equal(keySocket.messages().length, 1);
    for (const s of [keySocket, topicSocket]) await s.close();
    await goctopus.close();
    await watcher.close();
  });

  test('a message to a key and a topic reaches a socket under both once, and is held for the key only', async () => {
    const { gw } = suite;
    const socket = await connectV2(gw.ws(await url({ sub: 'both-1', read: ['room'] })));
    await socket.request({ type: 'subscribe', topic: 'room' });
    const r = await gw.publish({ messages: [{ key: 'both-1', topic: 'room', value: 'once' }, { key: 'nobody-here', topic: 'room', value: 'held for the key' }] });
    assert.deepEqual(r.json.results.map((x: any) => [x.delivered, x.held]), [[1, 0], [1, 1]]);
    await gw.publish({ key: 'both-1', value: 'last' });
    const got = await messagesOf(socket, 3);
    assert.deepEqual(got.map((f) => f.payload), ['once', 'held for the key', 'last']);
    assert.equal(got[0].key, 'both-1', 'framed for the first address it matched');
    assert.equal(got[1].topic, 'room');
    await socket.close();
  });

  test('client publish: within the grants, to the other subscribers with the sender id, no echo unless asked', async () => {
    const { gw } = suite;
    const alice = await connectV2(gw.ws(await url({ sub: 'p-alice', read: ['lobby'], write: ['lobby'] })));
    const bob = await connectV2(gw.ws(await url({ sub: 'p-bob', read: ['lobby'] })));
    await alice.request({ type: 'subscribe', topic: 'lobby' });
    await bob.request({ type: 'subscribe', topic: 'lobby' });
    const published = await alice.request({ type: 'publish', topic: 'lobby', data: { text: 'hi' } });
    assert.equal(published.type, 'published');
    const [m] = await messagesOf(bob, 1);
    assert.deepEqual(m, { type: 'message', id: published.id, topic: 'lobby', payload: { text: 'hi' }, from: alice.frames[0].connection });
    const echoed = await alice.request({ type: 'publish', topic: 'lobby', data: 'echo', echo: true });
    const mine = await messagesOf(alice, 1);
    assert.deepEqual(mine.map((f) => [f.id, f.payload]), [[echoed.id, 'echo']], 'the first publish was not echoed');
    assert.deepEqual((await messagesOf(bob, 2)).map((f) => f.payload), [{ text: 'hi' }, 'echo']);
    const denied = await bob.request({ type: 'publish', topic: 'lobby', data: 'x' });
    assert.equal(denied.code, 'PUBLISH_TOPIC_FORBIDDEN');
    assert.equal((await alice.request({ type: 'publish', topic: 'lobby' })).code, 'PUBLISH_DATA_MISSING');
    await alice.close();
    await bob.close();
  });

  test('client publish past WS_CLIENT_PUBLISH_BURST gets PUBLISH_RATE_LIMITED, then a policy close', async () => {
    const { gw } = suite;
    const socket = await connectV2(gw.ws(await url({ sub: 'flooder', write: ['flood'] })));
    // Sent at once, read in one batch: the bucket (1 a second) may refill by one at most meanwhile.
    const replies = await Promise.all(Array.from({ length: 6 }, (_, i) => socket.request({ type: 'publish', topic: 'flood', data: i })));
    assert.deepEqual(replies.slice(0, 3).map((r) => r.type), ['published', 'published', 'published']);
    const refused = replies.slice(3).filter((r) => r.type === 'error');
    assert.ok(refused.length >= 2, `at least two of the last three refused: ${JSON.stringify(replies)}`);
    for (const r of refused) assert.equal(r.code, 'PUBLISH_RATE_LIMITED');
    for (let i = 0; i < 10; i++) socket.send({ type: 'publish', topic: 'flood', data: i });
    const closed = await socket.closed;
    assert.equal(closed.code, CLOSE_CODES.POLICY_VIOLATION.code);
    assert.equal(closed.reason, 'client publish rate exceeded');
  });

  test('refresh frames are answered with their ref', async () => {
    const { gw } = suite;
    const socket = await connectV2(gw.ws(await url({ sub: 'refresher' })));
    const exp = nowS() + 3600;
    const refreshed = await socket.request({ type: 'refresh', token: await sign(hs, { sub: 'refresher', exp }) });
    assert.deepEqual(refreshed, { type: 'refreshed', expires_at: exp, ref: refreshed.ref });
    assert.equal(typeof refreshed.ref, 'string');
    const refused = await socket.request({ type: 'refresh', token: await sign(hs, { sub: 'someone-else', exp }) });
    assert.equal(refused.code, 'REFRESH_SUBJECT_MISMATCH');
    await socket.close();
  });

  test('malformed and unknown frames get error frames with codes; a flood of them a policy close', async () => {
    const { gw } = suite;
    const socket = await connectV2(gw.ws(await url({ sub: 'bad-1' })));
    socket.send('not json');
    assert.equal((await socket.waitFor((f) => f.type === 'error')).code, 'FRAME_INVALID');
    assert.deepEqual(await socket.request({ type: 'dance' }), { type: 'error', code: 'FRAME_UNKNOWN_TYPE', message: 'unknown frame type: expected subscribe, unsubscribe, unsubscribe-all, publish, ack or refresh', ref: socket.frames.at(-1).ref });
    assert.equal((await socket.request({ type: 'ack' })).code, 'ACK_INVALID');
    socket.send({ type: 'subscribe', topic: 'x', ref: { nested: true } });
    assert.equal((await socket.waitFor((f) => f.type === 'error' && f.ref === undefined && f.code === 'FRAME_INVALID' && socket.frames.indexOf(f) > 3)).code, 'FRAME_INVALID');
    for (let i = 0; i < 40; i++) socket.send([i]);
    const closed = await socket.closed;
    assert.equal(closed.code, CLOSE_CODES.POLICY_VIOLATION.code);
    assert.equal(closed.reason, 'too many refused frames');
    // The gateway goes on serving.
    const next = await connectV2(gw.ws(await url({ sub: 'bad-2' })));
    await gw.publish({ key: 'bad-2', value: 'fine' });
    assert.deepEqual((await messagesOf(next, 1)).map((f) => f.payload), ['fine']);
    await next.close();
  });
});

test('at-least-once: a v2 ack frame removes the held message; an unacknowledged one comes again', async () => {
  await withGateway({ WS_AUTH_MODE: 'jwt', WS_JWT_SECRET: hs.configured, WS_DELIVERY: 'at-least-once', WS_MSG_EXPIRE: '1m' }, async (gw) => {
    const first = await connectV2(gw.ws(await url({ sub: 'acker' })));
    const kept = await gw.publish({ key: 'acker', value: 'kept' });
    const acked = await gw.publish({ key: 'acker', value: 'acked' });
    await messagesOf(first, 2);
    first.send({ type: 'ack', id: acked.json.id });
    // The ack is applied before the close is: the same socket's frames are read in order.
    await first.close();
    const second = await connectV2(gw.ws(await url({ sub: 'acker' })));
    await gw.publish({ key: 'acker', value: 'after' });
    assert.deepEqual((await messagesOf(second, 2)).map((m) => [m.id, m.payload]), [[kept.json.id, 'kept'], [second.messages()[1].id, 'after']]);
    await second.close();
    // A pattern socket's ack removes the message from the key it was published to.
    const pattern = await connectV2(gw.ws(await url({ sub: 'pattern-acker', keys: ['logs/*'] })));
    const live = await gw.publish({ key: 'logs/1', value: 'live' });
    await messagesOf(pattern, 1);
    pattern.send({ type: 'ack', id: live.json.id });
    await pattern.close();
    await connectV2(gw.ws(await url({ sub: 'someone', keys: ['logs/*'] }))).then(async (again) => {
      await gw.publish({ key: 'logs/2', value: 'next' });
      assert.deepEqual((await messagesOf(again, 1)).map((m) => [m.key, m.payload]), [['logs/2', 'next']], 'logs/1 was acknowledged');
      await again.close();
    });
  });
});

test('a v2 frame counts one more against WS_MAX_INBOUND_RATE per 4 KiB: large frames close the socket sooner', async () => {
  await withGateway({ WS_AUTH_MODE: 'jwt', WS_JWT_SECRET: hs.configured, WS_MAX_INBOUND_RATE: '10', WS_CLIENT_PUBLISH_RATE: '1000' }, async (gw) => {
    const socket = await connectV2(gw.ws(await url({ sub: 'big', write: ['big'] })));
    // Three frames of 60 KiB count 15 each: past the burst of 20 even if the bucket refills once meanwhile.
    for (let i = 0; i < 3; i++) socket.send({ type: 'publish', topic: 'big', data: 'x'.repeat(60 * 1024) });
    // An answer to a later frame would mean the socket was not closed.
    const closed = await Promise.race([socket.closed, socket.request({ type: 'unsubscribe-all' }).then(() => 'answered', () => 'closed')]);
    assert.deepEqual(closed, { code: CLOSE_CODES.POLICY_VIOLATION.code, reason: 'inbound frame rate exceeded' });
  });
});

test('a socket holds at most WS_MAX_TOPICS_PER_SOCKET topics (100 by default): past it TOO_MANY_TOPICS, nothing subscribed', async () => {
  const names = (from: number, count: number): string[] => Array.from({ length: count }, (_, i) => `chat:${from + i}`);
  await withGateway({ WS_AUTH_MODE: 'jwt', WS_JWT_SECRET: hs.configured }, async (gw) => {
    const socket = await connectV2(gw.ws(await url({ sub: 'many', read: ['chat:*'] })));
    const tooMany = await socket.request({ type: 'subscribe', topics: names(0, 101) });
    assert.deepEqual([tooMany.type, tooMany.code], ['error', 'TOO_MANY_TOPICS']);
    assert.equal((await socket.request({ type: 'subscribe', topics: names(0, 99) })).type, 'subscribed');
    // Again, with one new: the topics already held do not count twice.
    assert.equal((await socket.request({ type: 'subscribe', topics: names(50, 50) })).type, 'subscribed');
    const past = await socket.request({ type: 'subscribe', topic: 'chat:100' });
    assert.deepEqual([past.type, past.code], ['error', 'TOO_MANY_TOPICS']);
    assert.match(past.message, /at most 100 topics/);
    assert.equal((await gw.publish({ topic: 'chat:100', value: 1 })).json.delivered, 0, 'the refused topic was not subscribed');
    await socket.request({ type: 'unsubscribe', topic: 'chat:0' });
    assert.equal((await socket.request({ type: 'subscribe', topic: 'chat:100' })).type, 'subscribed', 'room again after an unsubscribe');
    await socket.close();
  });
  await withGateway({ WS_AUTH_MODE: 'jwt', WS_JWT_SECRET: hs.configured, WS_MAX_TOPICS_PER_SOCKET: '2' }, async (gw) => {
    const socket = await connectV2(gw.ws(await url({ sub: 'few', read: ['chat:*'] })));
    assert.equal((await socket.request({ type: 'subscribe', topics: names(0, 2) })).type, 'subscribed');
    assert.equal((await socket.request({ type: 'subscribe', topic: 'chat:2' })).code, 'TOO_MANY_TOPICS');
    await socket.close();
  });
});
