// Wildcard keys on one node (memory): a socket whose auth answer holds a glob pattern receives every
// message to a key it matches, live and held, once per message, `*` never crossing `/`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { withGateway, startGateway, type GatewayProcess } from '../helpers/gateway.js';
import { startAuthBackend, type AuthBackend } from '../helpers/auth-backend.js';
import { eventually, openSocket, payloads } from '../helpers/cluster.js';

let auth: AuthBackend;
let gw: GatewayProcess;
before(async () => {
  auth = await startAuthBackend();
  gw = await startGateway({ WS_AUTH_URL: auth.url });
});
after(async () => {
  await gw.stop();
  await auth.close();
});

test('a pattern socket gets live messages of every key it matches, and `*` does not cross `/`', async () => {
  const socket = await openSocket(gw, 'team/*');
  const sent = [['team/a', 1], ['team/a/deep', 'no'], ['team/b', 2], ['teamx/c', 'no'], ['team/', 3]] as const;
  const answers = [];
  for (const [key, value] of sent) answers.push((await gw.publish({ key, value, expire: '1s' })).json);
  assert.deepEqual(answers.map((a) => [a.delivered, a.held]), [[1, 0], [0, 1], [1, 0], [0, 1], [1, 0]],
    'delivered to the pattern socket, or held when nothing matches');
  await gw.publish({ key: 'team/end', value: 'end' });
  await socket.waitForFrames(4);
  assert.deepEqual(payloads(socket), [1, 2, 3, 'end']);
  await socket.close();
});

test('on connect a pattern socket gets the held messages of every matching key, oldest first, and takes them', async () => {
  for (const [key, value] of [['shop/1', 'a1'], ['shop/2', 'b1'], ['shop/1', 'a2'], ['shop/1/x', 'deep'], ['other', 'o']]) {
    assert.equal((await gw.publish({ key, value })).json.held, 1);
  }
  const socket = await openSocket(gw, 'shop/?');
  await gw.publish({ key: 'shop/3', value: 'live' });
  await socket.waitForFrames(4);
  assert.deepEqual(payloads(socket), ['a1', 'b1', 'a2', 'live']);
  // At-most-once: what it got is no longer held; what it does not match still is.
  assert.deepEqual((await gw.request('GET', '/?key=shop/1')).json, []);
  assert.equal((await gw.request('GET', '/?key=shop/1/x')).json.length, 1);
  assert.equal((await gw.request('GET', '/?key=other')).json.length, 1);
  await socket.close();
  await gw.request('DELETE', '/');
});

test('overlapping patterns and an exact key: each socket gets each message once', async () => {
  // One socket under a pattern and an exact key it matches, one under a second overlapping pattern,
  // one under the exact key only, one under a pattern that does not match (o* stops at the slash).
  const both = await openSocket(gw, 'ov/*', 'ov/a');
  const other = await openSocket(gw, 'ov/[ab]');
  const exact = await openSocket(gw, 'ov/a');
  const none = await openSocket(gw, 'o*');
  const sent = [];
  for (let n = 0; n < 20; n++) sent.push((await gw.publish({ key: n % 2 === 0 ? 'ov/a' : 'ov/b', value: n })).json.delivered);
  // Several keys in one message, matching both patterns: still once per socket.
  await gw.publish({ keys: ['ov/a', 'ov/b'], value: 'both keys' });
  await gw.publish({ key: 'ov/a', value: 'end' });
  await Promise.all([both.waitForFrames(22), other.waitForFrames(22), exact.waitForFrames(11)]);
  const expected = [...Array.from({ length: 20 }, (_, n) => n), 'both keys', 'end'];
  assert.deepEqual(payloads(both), expected);
  assert.deepEqual(payloads(other), expected);
  assert.deepEqual(payloads(exact), [...expected.filter((v) => typeof v !== 'number' || v % 2 === 0)]);
  assert.deepEqual(sent.slice(0, 2), [3, 2], 'delivered counts each socket once');
  assert.deepEqual(payloads(none), []);
  await Promise.all([both.close(), other.close(), exact.close(), none.close()]);
});

test('once the last pattern socket closes, messages of its keys are held again; a malformed pattern matches only itself', async () => {
  const socket = await openSocket(gw, 'gone/*');
  assert.equal((await gw.publish({ key: 'gone/1', value: 1 })).json.delivered, 1);
  await socket.close();
  assert.deepEqual(await untilHeld(gw, 'gone/2'), { delivered: 0, held: 1 });
  // Goctopus: a socket's key is also an exact key, even when its pattern is malformed.
  const bad = await openSocket(gw, 'bad[');
  assert.deepEqual([(await gw.publish({ key: 'bad[', value: 'exact' })).json.delivered, (await gw.publish({ key: 'bad', value: 'no' })).json.delivered], [1, 0]);
  await bad.waitForFrames(1);
  assert.deepEqual(payloads(bad), ['exact']);
  await bad.close();
  await gw.request('DELETE', '/');
});

test('a gateway with no pattern sockets delivers and holds exactly as before', async () => {
  await withGateway({}, async (plain) => {
    const socket = await openSocket(plain, 'plain/a');
    const answers = [await plain.publish({ key: 'plain/a', value: 1 }), await plain.publish({ key: 'plain/*', value: 2 }), await plain.publish({ keys: ['plain/a', 'plain/b'], value: 3 })];
    assert.deepEqual(answers.map((a) => [a.json.delivered, a.json.held]), [[1, 0], [0, 1], [1, 1]]);
    await socket.waitForFrames(2);
    assert.deepEqual(payloads(socket), [1, 3]);
    await socket.close();
  });
});

/** Publishes to `key` until the gateway has seen the socket close (the close is asynchronous). */
async function untilHeld(gateway: GatewayProcess, key: string): Promise<{ delivered: number; held: number }> {
  for (;;) {
    const { json } = await gateway.publish({ key, value: 'after', expire: '1s' });
    if (json.delivered === 0) return { delivered: json.delivered, held: json.held };
    await gateway.waitForLog((l) => l.msg === 'socket closed', 1000);
  }
}

test('at-least-once: a pattern socket acknowledging a message removes it from the key it was published to', async () => {
  await withGateway({ WS_DELIVERY: 'at-least-once' }, async (alo) => {
    await alo.publish({ key: 'alo/a', value: 'held' });
    const socket = await openSocket(alo, 'alo/*');
    await alo.publish({ key: 'alo/b', value: 'live' });
    const frames = await socket.waitForFrames(2);
    assert.deepEqual(payloads(socket), ['held', 'live']);
    for (const frame of frames) socket.send({ id: frame.id });
    for (const key of ['alo/a', 'alo/b']) {
      await eventually(`${key} to be acknowledged`, async () => (await alo.request('GET', `/?key=${key}`)).json.length === 0);
    }
    await socket.close();
  });
});
