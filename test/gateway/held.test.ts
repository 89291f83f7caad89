// Held messages against the real gateway on the memory broker: bounds, admin API, restart through
// WS_STATE_FILE, slow consumers. Delivery itself (order, expiry, delivery modes, message_id) is the
// Broker contract's, run on memory and Redis (test/delivery/broker.contract.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile, access } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAuthBackend } from '../helpers/auth-backend.js';
import { startExpectingFailure, startGateway, withGateway, type GatewayProcess } from '../helpers/gateway.js';
import { connect } from '../helpers/client.js';

const ws = (gw: GatewayProcess, email: string): string => gw.ws(`/ws?email=${encodeURIComponent(email)}`);

test('past WS_MAX_HELD_PER_KEY the oldest of that key is dropped; past WS_MAX_HELD the oldest overall', async () => {
  await withGateway({ WS_MAX_HELD_PER_KEY: '3', WS_MAX_HELD: '5' }, async (gw) => {
    for (let i = 0; i < 5; i++) await gw.publish({ key: 'dee', value: i });
    assert.deepEqual((await gw.request('GET', '/?key=dee')).json.map((m: { payload: number }) => m.payload), [2, 3, 4]);
    for (let i = 0; i < 3; i++) await gw.publish({ key: 'eve', value: i });
    // 6 held > 5: the oldest overall (dee's 2) goes.
    assert.deepEqual((await gw.request('GET', '/?key=dee')).json.map((m: { payload: number }) => m.payload), [3, 4]);
    assert.deepEqual((await gw.request('GET', '/?counts')).json, [{ key: 'dee', count: 2 }, { key: 'eve', count: 3 }]);
    assert.deepEqual((await gw.request('GET', '/')).json, ['dee', 'eve'], 'Goctopus\'s shape: the keys as strings');
  });
});

test('admin API lists and removes held messages', async () => {
  await withGateway({ WS_MSG_EXPIRE: '45m' }, async (gw) => {
    const a = await gw.publish({ key: 'k1', value: { a: 1 }, expire: '1h' });
    await gw.publish({ key: 'k1', value: 2 });
    await gw.publish({ key: 'k2', value: 3 });
    const list = (await gw.request('GET', '/?key=k1')).json;
    assert.equal(list.length, 2);
    assert.deepEqual(Object.keys(list[0]).sort(), ['created_at', 'date', 'exp', 'expires_at', 'id', 'key', 'payload']);
    assert.deepEqual([list[0].id, list[0].key, list[0].payload], [a.json.id, 'k1', { a: 1 }]);
    assert.match(list[0].created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    // Goctopus's fields: `date` (RFC 3339) and `exp` as posted, WS_MSG_EXPIRE's text when not posted.
    assert.equal(list[0].date, list[0].created_at);
    assert.deepEqual(list.map((m: { exp: string }) => m.exp), ['1h', '45m']);
    assert.deepEqual((await gw.request('GET', '/?counts&key=k1')).status, 400);
    assert.deepEqual((await gw.request('DELETE', `/?key=k1&id=${a.json.id}`)).json, { removed: 1 });
    assert.deepEqual((await gw.request('DELETE', '/?key=k1')).json, { removed: 1 });
    assert.deepEqual((await gw.request('DELETE', '/')).json, { removed: 1 });
    assert.deepEqual((await gw.request('GET', '/')).json, []);
    assert.equal((await gw.request('DELETE', '/?id=x')).status, 400);
  });
});

test('admin API: a mistyped or repeated query parameter is refused, and nothing is removed', async () => {
  await withGateway({}, async (gw) => {
    await gw.publish({ key: 'k1', value: 1 });
    await gw.publish({ key: 'k2', value: 2 });
    for (const [method, query] of [['DELETE', '?ID=x'], ['DELETE', '?kye=k1'], ['DELETE', '?key=k1&key=k2'], ['GET', '?id=x'], ['GET', '?key=k1&id=']]) {
      const answer = await gw.request(method as string, `/${query}`);
      assert.equal(answer.status, 400, `${method} ${query}`);
      assert.equal(answer.json.error, 'INVALID_QUERY');
    }
    assert.deepEqual((await gw.request('GET', '/')).json.sort(), ['k1', 'k2']);
  });
});

test('SIGTERM then restart with WS_STATE_FILE delivers every held message', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'octoway-state-'));
  const file = join(dir, 'held.json');
  const auth = await startAuthBackend();
  try {
    const first = await startGateway({ WS_AUTH_URL: auth.url, WS_STATE_FILE: file });
    for (let i = 0; i < 20; i++) await first.publish({ key: i % 2 ? 'odd' : 'even', value: i });
    await first.publish({ key: 'short', value: 'gone', expire: '100ms' });
    assert.equal(await first.stop('SIGTERM'), 0);
    assert.match(await readFile(file, 'utf8'), /octoway-held-messages/);

    // The short one expires while the gateway is down: it must not come back.
    await new Promise((r) => setTimeout(r, 150));
    const second = await startGateway({ WS_AUTH_URL: auth.url, WS_STATE_FILE: file });
    try {
      await access(`${file}.loaded`);
      await assert.rejects(access(file));
      const even = await connect(second.ws('/ws?email=even&org=odd'));
      const frames = await even.waitForFrames(20);
      assert.deepEqual(frames.map((f) => f.payload), Array.from({ length: 20 }, (_, i) => i));
      assert.deepEqual((await second.request('GET', '/?key=short')).json, []);
      await even.close();
    } finally {
      await second.stop();
    }
  } finally {
    await auth.close();
  }
});

test('a corrupt state file stops the start with exit 2 and is left as it was', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'octoway-state-'));
  const file = join(dir, 'held.json');
  const corrupt = '{"format":"octoway-held-messages","version":1,"messages":[{"id":';
  await writeFile(file, corrupt);
  const { exitCode, stderr } = await startExpectingFailure({ WS_AUTH_URL: 'http://127.0.0.1:9/', WS_LOGIN: 'a', WS_PASSWORD: 'b', WS_STATE_FILE: file });
  assert.equal(exitCode, 2);
  assert.match(stderr, /WS_STATE_FILE .*held\.json.*not valid JSON/);
  assert.equal(await readFile(file, 'utf8'), corrupt);
});

test('a consumer that stops reading is closed with 1013 past WS_MAX_BACKPRESSURE', async () => {
  await withGateway({ WS_MAX_BACKPRESSURE: '64KiB', WS_MAX_BODY: '128KiB' }, async (gw) => {
    const socket = await connect(ws(gw, 'slow'));
    (socket.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const value = 'x'.repeat(100_000);
    let closed = false;
    const waiting = gw.waitForLog((l) => l.msg === 'socket closed' && l.code === 1013, 15_000).then(() => { closed = true; });
    // Enough to fill the loopback buffers and pass the bound; bounded in count.
    for (let i = 0; i < 400 && !closed; i++) await gw.publish({ key: 'slow', value, expire: '0' });
    await waiting;
    socket.ws.terminate();
  });
});
