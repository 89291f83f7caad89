// notiflux's listener against the real gateway (seed listeners only): /ws and its slash commands,
// subscribe grants from the token, /broadcast answered 200 at once with a bad token dropping the
// message silently, /health, and the two texts the server ever sends.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { connect as tcp } from 'node:net';
import { startGateway, type GatewayProcess } from '../../helpers/gateway.js';
import { listenerPort, textSocket, type TextSocket } from '../../helpers/seed.js';
import { NOTIFLUX_PUBLIC_KEY_B64, notifluxToken, pong } from '../../helpers/notiflux.js';

const fixtures = new URL('../../../../test/fixtures/notiflux/', import.meta.url);
const published = JSON.parse(await readFile(new URL('tokens.json', fixtures), 'utf8')) as Record<string, string>;
const INVALID_SUBSCRIBE = 'Invalid subscribe command, it should be: /subscribe <topic> <token>';

describe('notiflux listener', () => {
  let gw: GatewayProcess;
  let base: string;
  let ws: string;
  const open: TextSocket[] = [];
  const socket = async (): Promise<TextSocket> => {
    const s = await textSocket(`${ws}/ws`);
    open.push(s);
    return s;
  };
  /** Subscribes and waits until the gateway has read the command (notiflux answers nothing). */
  const subscribe = async (s: TextSocket, topic: string, token: string): Promise<void> => {
    s.ws.send(`/subscribe ${topic} ${token}`);
    await pong(s);
  };
  const broadcast = (body: unknown, contentType = 'application/json'): Promise<Response> =>
    fetch(`${base}/broadcast`, { method: 'POST', headers: { 'Content-Type': contentType }, body: typeof body === 'string' ? body : JSON.stringify(body) });

  before(async () => {
    gw = await startGateway({ WS_LOGIN: '', WS_PASSWORD: '', WS_NOTIFLUX_PORT: '0', WS_NOTIFLUX_JWT_PUBLIC_KEY_B64: NOTIFLUX_PUBLIC_KEY_B64 });
    const port = await listenerPort(gw, 'notiflux');
    base = `http://127.0.0.1:${port}`;
    ws = `ws://127.0.0.1:${port}`;
  });
  after(async () => {
    await Promise.all(open.map((s) => s.close()));
    await gw.stop();
  });

  test('GET /health answers 200; GET /ws without a handshake 400; another path or method 404', async () => {
    const health = await fetch(`${base}/health`);
    assert.equal(health.status, 200);
    assert.equal(await health.text(), '');
    assert.equal((await fetch(`${base}/nowhere`)).status, 404);
    // /ws without a WebSocket handshake: actix's 400 with an empty body.
    const plain = await fetch(`${base}/ws`);
    assert.equal(plain.status, 400);
    assert.equal(await plain.text(), '');
    assert.equal((await fetch(`${base}/broadcast`)).status, 404);
  });

  test('a broadcast reaches the subscribers of its topic as the text posted, 200 with an empty body', async () => {
    const subscriber = await socket();
    const elsewhere = await socket();
    // notiflux's own published token (topic foo), and one signed here for the broadcast.
    await subscribe(subscriber, 'foo', published.subscribe_foo as string);
    await subscribe(elsewhere, 'other', notifluxToken('subscribe', ['other']));
    const answer = await broadcast({ topic: 'foo', message: 'héllo {"not":"json"}', token: notifluxToken('broadcast', ['foo']) });
    assert.equal(answer.status, 200);
    assert.equal(await answer.text(), '');
    assert.deepEqual(await subscriber.waitFor(1), ['héllo {"not":"json"}']);
    await pong(elsewhere);
    assert.deepEqual(elsewhere.texts, []);
  });

  test('a subscribe token that is expired, of the broadcast scope, not listing the topic or badly signed is ignored silently', async () => {
    const good = await socket();
    const bad = await socket();
    await subscribe(good, 't1', notifluxToken('subscribe', ['t1']));
    const expired = notifluxToken('subscribe', ['t1'], { exp: Math.floor(Date.now() / 1000) - 120 });
    const wrongScope = notifluxToken('broadcast', ['t1']);
    const otherTopic = notifluxToken('subscribe', ['t2']);
    const forged = `${notifluxToken('subscribe', ['t1']).slice(0, -4)}AAAA`;
    for (const token of [expired, wrongScope, otherTopic, forged, 'not-a-jwt']) await subscribe(bad, 't1', token);
    const answer = await broadcast({ topic: 't1', message: 'm1', token: notifluxToken('broadcast', ['t1']) });
    assert.equal(answer.status, 200);
    assert.deepEqual(await good.waitFor(1), ['m1']);
    await pong(bad);
    assert.deepEqual(bad.texts, []);
  });

  test('a broadcast with a bad token is answered 200 and dropped: wrong scope, other topic, expired', async () => {
    const subscriber = await socket();
    await subscribe(subscriber, 'drop', notifluxToken('subscribe', ['drop']));
    for (const token of [notifluxToken('subscribe', ['drop']), notifluxToken('broadcast', ['else']), notifluxToken('broadcast', ['drop'], { exp: Math.floor(Date.now() / 1000) - 120 }), 'x.y.z']) {
      const answer = await broadcast({ topic: 'drop', message: 'dropped', token });
      assert.equal(answer.status, 200);
    }
    // The broadcasts are handled in order: the sentinel after them is the only frame.
    await broadcast({ topic: 'drop', message: 'sentinel', token: notifluxToken('broadcast', ['drop']) });
    assert.deepEqual(await subscriber.waitFor(1), ['sentinel']);
    assert.deepEqual(subscriber.texts, ['sentinel']);
  });

  test('a malformed broadcast is answered 400 with actix\'s text', async () => {
    const notJson = await broadcast('{nope');
    assert.equal(notJson.status, 400);
    assert.match(await notJson.text(), /^Json deserialize error: /);
    const missing = await broadcast({ topic: 't', message: 'm' });
    assert.equal(missing.status, 400);
    assert.equal(await missing.text(), 'Json deserialize error: missing field `token`');
    const wrongType = await broadcast({ topic: 't', message: 'm', token: 't' }, 'text/plain');
    assert.equal(wrongType.status, 400);
    assert.equal(await wrongType.text(), 'Content type error');
  });

  test('a broadcast body past 2 MiB is answered 413 with actix\'s text, and the connection closed', async () => {
    const limit = 2 * 1024 * 1024;
    const socket = tcp(Number(new URL(base).port), '127.0.0.1');
    let answer = '';
    socket.on('data', (d: Buffer) => { answer += d.toString(); });
    const closed = new Promise((resolve) => socket.once('close', resolve));
    // One byte past the limit and no more: the gateway has read everything sent when it closes.
    socket.write(`POST /broadcast HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${limit + 1}\r\n\r\n`);
    socket.write(Buffer.alloc(limit + 1, 0x20));
    await closed;
    assert.match(answer, /^HTTP\/1\.1 413 /);
    assert.ok(answer.endsWith(`JSON payload (${limit + 1} bytes) is larger than allowed (limit: ${limit} bytes).`), answer);
  });

  test('the commands: the two answers, and silence for text that is no command', async () => {
    const s = await socket();
    s.ws.send('hello');
    s.ws.send(Buffer.from('/nope'));
    s.ws.send('/subscribe foo');
    s.ws.send('  /nope  ');
    s.ws.send('/unsubscribe-all now');
    assert.deepEqual(await s.waitFor(3), [INVALID_SUBSCRIBE, 'Unknown command', 'Unknown command']);
    await pong(s);
    assert.equal(s.texts.length, 3);
  });

  test('/unsubscribe and /unsubscribe-all stop delivery', async () => {
    const s = await socket();
    const token = notifluxToken('subscribe', ['a', 'b', 'c']);
    await subscribe(s, 'a', token);
    await subscribe(s, 'b', token);
    await subscribe(s, 'c', token);
    s.ws.send('/unsubscribe a');
    await pong(s);
    const send = (topic: string, message: string): Promise<Response> => broadcast({ topic, message, token: notifluxToken('broadcast', [topic]) });
    await send('a', 'to a');
    await send('b', 'to b');
    assert.deepEqual(await s.waitFor(1), ['to b']);
    s.ws.send('/unsubscribe-all');
    await pong(s);
    await send('b', 'gone');
    await send('c', 'gone');
    // A fresh subscription after unsubscribe-all works: its message is the next and only one.
    await subscribe(s, 'c', token);
    await send('c', 'back');
    assert.deepEqual(await s.waitFor(2), ['to b', 'back']);
  });
});
