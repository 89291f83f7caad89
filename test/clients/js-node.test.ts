// The JavaScript SDK (clients/js) in Node with the ws package, against the real gateway: cookie
// connect, repeats dropped after an at-least-once redelivery, a terminal close code obeyed; and
// its backoff, repeat memory and close-code list as functions.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import WebSocket from 'ws';
import type * as Sdk from '../../clients/js/octoway.js';
import { REPO } from '../helpers/browser.js';
import { CLOSE_CODES, CLOSE_RANGES } from '../../src/errors.js';
import { json, startAuthBackend } from '../helpers/auth-backend.js';
import { withGateway, startGateway } from '../helpers/gateway.js';
import { nowS, sign, signingKey } from '../helpers/jwt.js';
import { eventually } from '../helpers/cluster.js';

const sdk = (await import(new URL('clients/js/octoway.js', REPO).href)) as typeof Sdk;
const KEY = 'bob@example.com';

/** A ws WebSocket that records every instance, and the ids of the frames each receives before the SDK sees them. */
function recordingWebSocket(): { Impl: Sdk.WebSocketConstructor; sockets: WebSocket[]; frameIds: string[][] } {
  const sockets: WebSocket[] = [];
  const frameIds: string[][] = [];
  class Recording extends WebSocket {
    constructor(...args: ConstructorParameters<typeof WebSocket>) {
      super(...args);
      const ids: string[] = [];
      sockets.push(this);
      frameIds.push(ids);
      this.on('message', (data) => ids.push((JSON.parse(data.toString()) as { id: string }).id));
    }
  }
  return { Impl: Recording as unknown as Sdk.WebSocketConstructor, sockets, frameIds };
}

/** Collects a client's events and resolves waiters as they arrive. */
function record(client: Sdk.Octoway) {
  const events: Array<{ type: keyof Sdk.OctowayEvents; event: any }> = [];
  const waiters: Array<() => void> = [];
  for (const type of ['open', 'message', 'close', 'error'] as const) {
    client.on(type, (event: unknown) => {
      events.push({ type, event });
      for (const w of waiters.splice(0)) w();
    });
  }
  const of = (type: string) => events.filter((e) => e.type === type).map((e) => e.event);
  /** Resolves once `count` events of `type` arrived: checked on each event, failing after 5 s. */
  const until = (type: string, count: number): Promise<any[]> => new Promise((resolve, reject) => {
    const check = (): void => {
      if (of(type).length < count) return void waiters.push(check);
      clearTimeout(timer);
      resolve(of(type));
    };
    const timer = setTimeout(() => {
      const at = waiters.indexOf(check);
      if (at >= 0) waiters.splice(at, 1);
      reject(new Error(`expected ${count} ${type} events: ${JSON.stringify(events)}`));
    }, 5_000);
    check();
  });
  return { events, of, until };
}

describe('JavaScript SDK functions', () => {
  test('octoway.js exports what octoway.d.ts declares', () => {
    assert.deepEqual(Object.keys(sdk).sort(), ['Octoway', 'RecentIds', 'TERMINAL_CLOSE_CODES', 'TERMINAL_CLOSE_RANGES', 'backoffDelay', 'isTerminalClose']);
  });

  test('RecentIds remembers the last N ids only', () => {
    const ids = new sdk.RecentIds(3);
    for (const id of ['a', 'b', 'c', 'd']) assert.equal(ids.add(id), true);
    assert.equal(ids.size, 3, 'memory is bounded');
    assert.equal(ids.add('d'), false, 'a recent id is a repeat');
    assert.equal(ids.add('a'), true, 'the oldest was forgotten');
    assert.equal(new sdk.RecentIds(0).add('x'), true);
  });

  test('backoffDelay: full jitter under a ceiling that doubles up to maxDelay', () => {
    const top = () => 0.999999;
    assert.equal(sdk.backoffDelay(0, 500, 30_000, () => 0), 0);
    assert.equal(sdk.backoffDelay(0, 500, 30_000, top), 499);
    assert.equal(sdk.backoffDelay(3, 500, 30_000, top), 3_999);
    assert.equal(sdk.backoffDelay(40, 500, 30_000, top), 29_999);
    for (let i = 0; i < 100; i++) assert.ok(sdk.backoffDelay(2, 500, 30_000) < 2_000);
  });

  test('close codes: 1000 and 1008 stop the client; shutdown, network and slow-consumer closes reconnect', () => {
    for (const code of [1000, 1008, 4500, 4999]) assert.equal(sdk.isTerminalClose(code), true, String(code));
    for (const code of [1001, 1006, 1011, 1012, 1013, 4000, 4499]) assert.equal(sdk.isTerminalClose(code), false, String(code));
    assert.deepEqual([...sdk.TERMINAL_CLOSE_CODES], [1000, 1008]);
  });

  test('close codes: the SDK stops exactly where the gateway registry says a code is terminal', () => {
    for (const { code, kind } of Object.values(CLOSE_CODES)) assert.equal(sdk.isTerminalClose(code), kind === 'terminal', String(code));
    for (const [kind, { from, to }] of Object.entries(CLOSE_RANGES)) {
      for (const code of [from, to]) assert.equal(sdk.isTerminalClose(code), kind === 'terminal', String(code));
    }
  });

  test('a WebSocket constructor that throws is reported on error, then retried up to maxRetries', async () => {
    class Refusing { constructor() { throw new Error('refused by the constructor'); } }
    const client = new sdk.Octoway({ url: 'ws://127.0.0.1:1/ws', WebSocket: Refusing as unknown as Sdk.WebSocketConstructor, maxRetries: 1, minDelay: 1 });
    const seen = record(client);
    client.connect();
    const closes = await seen.until('close', 2);
    assert.deepEqual(closes.map((c) => c.reconnect), [true, false]);
    assert.match(String(seen.of('error')[0].error), /refused by the constructor/);
    assert.equal(client.state, 'idle');
  });

  test('a URL that is not ws:// fails at construction in Node, not in a retry loop', () => {
    assert.throws(() => new sdk.Octoway({ url: '/ws', WebSocket: WebSocket as unknown as Sdk.WebSocketConstructor }), /not a ws/);
  });
});

describe('JavaScript SDK in Node against the gateway', () => {
  test('protocol v2: topics subscribed before the socket opens, and again after a reconnect; publish with echo', async () => {
    const key = await signingKey('HS256');
    const gw = await startGateway({ WS_AUTH_MODE: 'jwt', WS_JWT_SECRET: key.configured });
    const token = await sign(key, { sub: 'sdk-v2', exp: nowS() + 600, read: ['room'], write: ['room'] });
    const { Impl, sockets } = recordingWebSocket();
    const client = new sdk.Octoway({ url: gw.ws(`/ws?token=${token}`), WebSocket: Impl, protocol: 'v2', minDelay: 10 });
    const seen = record(client);
    const welcomes: Sdk.WelcomeEvent[] = [];
    const replies: Sdk.ReplyEvent[] = [];
    client.on('welcome', (w) => welcomes.push(w));
    client.on('reply', (r) => replies.push(r));
    try {
      assert.equal(client.subscribe('room'), undefined, 'not open yet: remembered for the welcome');
      client.connect();
      await seen.until('open', 1);
      await eventually('subscribed', () => replies.some((r) => r.type === 'subscribed'));
      assert.equal(welcomes[0]!.user, 'sdk-v2');
      const sent = await gw.publish({ topic: 'room', value: 'from the backend' });
      const [m] = await seen.until('message', 1);
      assert.deepEqual(m, { id: sent.json.id, payload: 'from the backend', key: undefined, topic: 'room', from: undefined });
      const ref = client.publish('room', 'mine', { echo: true });
      const [, echoed] = await seen.until('message', 2);
      assert.deepEqual([echoed.payload, echoed.from], ['mine', welcomes[0]!.connection]);
      assert.ok(replies.some((r) => r.type === 'published' && r.ref === ref));
      sockets[0]!.terminate();
      await seen.until('open', 2);
      await eventually('subscribed again', () => replies.filter((r) => r.type === 'subscribed').length >= 2);
      await gw.publish({ topic: 'room', value: 'after the reconnect' });
      assert.equal((await seen.until('message', 3))[2].payload, 'after the reconnect');
      assert.equal(sockets[1]!.protocol, 'octoway.v2');
    } finally {
      client.close();
      await gw.stop();
    }
  });

  test('connects with a cookie, drops the repeat an at-least-once reconnect brings, keeps order', async () => {
    const auth = await startAuthBackend((req, res) => (req.headers.cookie === 'session=bob' ? json(res, 200, { user: { email: KEY } }) : json(res, 401, {})));
    const gw = await startGateway({ WS_AUTH_URL: auth.url, WS_DELIVERY: 'at-least-once' });
    const { Impl, sockets, frameIds } = recordingWebSocket();
    const client = new sdk.Octoway({ url: gw.ws('/ws'), WebSocket: Impl, headers: { cookie: 'session=bob' }, ack: false, minDelay: 10 });
    const seen = record(client);
    try {
      client.connect();
      await seen.until('open', 1);
      const first = await gw.publish({ key: KEY, value: 1 });
      await seen.until('message', 1);
      // Unacknowledged, so the gateway sends it again to the next connection.
      sockets[0]!.terminate();
      await seen.until('open', 2);
      const second = await gw.publish({ key: KEY, value: 2 });
      const messages = await seen.until('message', 2);
      assert.deepEqual(frameIds[1], [first.json.id, second.json.id], 'the gateway sent the first message again');
      assert.deepEqual(messages.map((m) => m.payload), [1, 2], 'the repeat was dropped; order kept');
      assert.equal(seen.of('close')[0].reconnect, true);
      assert.equal((await gw.request('GET', `/?key=${KEY}`)).json.length, 2, 'with ack: false nothing was acknowledged');
    } finally {
      client.close();
      await gw.stop();
      await auth.close();
    }
  });

  test('a policy-violation close (1008) stops the client instead of reconnecting', async () => {
    await withGateway({ WS_MAX_INBOUND_RATE: '1' }, async (gw, auth) => {
      const { Impl, sockets } = recordingWebSocket();
      const client = new sdk.Octoway({ url: gw.ws(`/ws?email=${KEY}`), WebSocket: Impl, minDelay: 10 });
      const seen = record(client);
      client.connect();
      await seen.until('open', 1);
      const closed = once(sockets[0]!, 'close');
      for (let i = 0; i < 10; i++) sockets[0]!.send('{}'); // a flood the SDK itself never sends
      await closed;
      const [close] = await seen.until('close', 1);
      assert.equal(close.code, 1008);
      assert.equal(close.reconnect, false);
      assert.equal(client.state, 'idle');
      assert.equal(auth.requests.length, 1, 'no second attempt');
    });
  });

  test('close() ends the client: its close event says so and nothing reconnects', async () => {
    await withGateway({}, async (gw, auth) => {
      const client = new sdk.Octoway({ url: gw.ws(`/?email=${KEY}`), WebSocket: WebSocket as unknown as Sdk.WebSocketConstructor, minDelay: 10 });
      const seen = record(client);
      client.connect();
      await seen.until('open', 1);
      client.close();
      const [close] = await seen.until('close', 1);
      assert.equal(close.reconnect, false);
      assert.equal(client.state, 'idle');
      assert.equal(auth.requests.length, 1);
    });
  });
});
