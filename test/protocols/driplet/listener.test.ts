// Driplet's listener against the real gateway (seed listeners only), with a config.toml of two
// endpoints: every route and every refusal in Driplet's words, the signature, timestamp and nonce
// checks, topic subscriptions, the exact server frame, include/exclude targeting on `custom`, and
// endpoints kept apart.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect as tcp } from 'node:net';
import { startGateway, type GatewayProcess } from '../../helpers/gateway.js';
import { listenerPort, refused, textSocket, type TextSocket } from '../../helpers/seed.js';
import { ADMIN, clientToken, freshNonce, nowS, pong, post, publishBody, sendFrame, WEB, writeConfig, type Endpoint } from './driplet.js';

const hour = (): number => nowS() + 3600;

describe('Driplet listener', () => {
  let gw: GatewayProcess;
  let base: string;
  let wsBase: string;
  const open: TextSocket[] = [];
  /** A socket on `endpoint` with `custom` claims, subscribed to `topics`. */
  const client = async (endpoint: Endpoint, topics: string[], custom?: Record<string, unknown>): Promise<TextSocket> => {
    const token = clientToken(endpoint.jwtSecret, custom === undefined ? { exp: hour() } : { exp: hour(), custom });
    const s = await textSocket(`${wsBase}/ws/${endpoint.name}?token=${token}`);
    open.push(s);
    for (const topic of topics) await sendFrame(s, { type: 'subscribe', topic });
    return s;
  };
  const publish = (endpoint: Endpoint, fields: Record<string, unknown>): ReturnType<typeof post> => post(base, endpoint.name, publishBody(fields), endpoint.apiSecret);

  before(async () => {
    gw = await startGateway({ WS_LOGIN: '', WS_PASSWORD: '', WS_DRIPLET_PORT: '0', WS_DRIPLET_CONFIG: await writeConfig() });
    const port = await listenerPort(gw, 'driplet');
    base = `http://127.0.0.1:${port}`;
    wsBase = `ws://127.0.0.1:${port}`;
  });
  after(async () => {
    await Promise.all(open.map((s) => s.close()));
    await gw.stop();
  });

  test('GET / and GET /api/{endpoint}/ping answer JSON; other paths and methods as Go\'s ServeMux', async () => {
    const front = await fetch(`${base}/`);
    assert.equal(front.status, 200);
    assert.equal(front.headers.get('content-type'), 'application/json');
    assert.equal(await front.text(), '{"status":"ok"}\n');
    // The table name, lower-cased ([Endpoints.Web] is `web`), and Go's map key order.
    const ping = await fetch(`${base}/api/web/ping`);
    assert.equal(ping.status, 200);
    assert.equal(ping.headers.get('content-type'), 'application/json');
    assert.equal(await ping.text(), '{"endpoint":"web","status":"ok"}\n');
    const unknown = await fetch(`${base}/api/Web/ping`);
    assert.equal(unknown.status, 404);
    assert.equal(unknown.headers.get('content-type'), 'text/plain; charset=utf-8');
    assert.equal(unknown.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(await unknown.text(), 'Invalid endpoint\n');
    for (const path of ['/nowhere', '/api/web/message', '/ws']) {
      const other = await fetch(`${base}${path}`);
      assert.equal(other.status, 404, path);
      assert.equal(await other.text(), '404 page not found\n', path);
    }
    const postFront = await fetch(`${base}/`, { method: 'POST' });
    assert.equal(postFront.status, 405);
    assert.equal(postFront.headers.get('allow'), 'GET, HEAD');
    assert.equal(await postFront.text(), 'Method Not Allowed\n');
    // HEAD is routed as GET, without the body.
    const head = await fetch(`${base}/api/web/ping`, { method: 'HEAD' });
    assert.deepEqual([head.status, head.headers.get('content-type'), head.headers.get('content-length'), await head.text()], [200, 'application/json', '33', '']);
    const headUnknown = await fetch(`${base}/api/nope/ping`, { method: 'HEAD' });
    assert.equal(headUnknown.status, 404);
    assert.equal((await fetch(`${base}/ws/web?token=x`, { method: 'HEAD' })).status, 401);
    const putMessage = await fetch(`${base}/api/web/message`, { method: 'PUT' });
    assert.equal(putMessage.status, 405);
    assert.equal(putMessage.headers.get('allow'), 'GET, HEAD, POST');
  });

  test('GET /ws/{endpoint} without a handshake: the endpoint, then the token, then gorilla\'s 400', async () => {
    const token = clientToken(WEB.jwtSecret, { exp: hour() });
    const unknown = await fetch(`${base}/ws/nope?token=${token}`);
    assert.deepEqual([unknown.status, await unknown.text()], [404, 'Invalid endpoint\n']);
    const badToken = await fetch(`${base}/ws/web?token=x`);
    assert.deepEqual([badToken.status, await badToken.text()], [401, 'Unauthorized\n']);
    const plain = await fetch(`${base}/ws/web?token=${token}`);
    assert.equal(plain.status, 400);
    assert.equal(plain.headers.get('sec-websocket-version'), '13');
    assert.equal(await plain.text(), 'Bad Request\nCould not upgrade connection\n');
  });

  test('an upgrade is refused: unknown endpoint 404, then every bad token 401 Unauthorized', async () => {
    assert.deepEqual(await refused(`${wsBase}/ws/nope?token=${clientToken(WEB.jwtSecret, {})}`), { status: 404, body: 'Invalid endpoint\n' });
    const tokens = {
      missing: '',
      garbage: 'not.a.jwt',
      wrongSecret: clientToken('not-the-secret', { exp: hour() }),
      otherEndpoint: clientToken(ADMIN.jwtSecret, { exp: hour() }),
      expired: clientToken(WEB.jwtSecret, { exp: nowS() - 1 }),
      notYet: clientToken(WEB.jwtSecret, { nbf: nowS() + 600 }),
      unsigned: `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{}').toString('base64url')}.`,
    };
    for (const [what, token] of Object.entries(tokens)) {
      assert.deepEqual(await refused(`${wsBase}/ws/web?token=${token}`), { status: 401, body: 'Unauthorized\n' }, what);
    }
    // HS384 and HS512 are taken, and a token without exp (Driplet checks exp only when present).
    for (const token of [clientToken(WEB.jwtSecret, {}, 'HS384'), clientToken(WEB.jwtSecret, { exp: hour() }, 'HS512')]) {
      const s = await textSocket(`${wsBase}/ws/web?token=${token}`);
      await s.close();
    }
  });

  test('a publish reaches the topic\'s subscribers as Driplet\'s frame: sorted target keys, no nonce or timestamp; 200 empty', async () => {
    const subscriber = await client(WEB, ['news']);
    const elsewhere = await client(WEB, ['sport']);
    // The message as posted, compacted (its key order and number text kept), as Go's RawMessage.
    const raw = `{ "message": { "z": 1, "a": [1, 2.50, "é"] }, "topic": "news", "target": { "exclude": { "zeta": "x", "alpha": [3] }, "include": {} }, "nonce": "${freshNonce()}", "timestamp": ${nowS()} }`;
    const answer = await post(base, 'web', raw, WEB.apiSecret);
    assert.deepEqual([answer.status, answer.text, answer.headers.get('content-type')], [200, '', null]);
    assert.deepEqual(await subscriber.waitFor(1), ['{"message":{"z":1,"a":[1,2.50,"é"]},"target":{"exclude":{"alpha":[3],"zeta":"x"}},"endpoint":"web","topic":"news"}']);
    // A string message, and no target at all: `target` is still there, empty.
    await publish(WEB, { message: 'plain', topic: 'news' });
    assert.deepEqual(await subscriber.waitFor(2), [subscriber.texts[0], '{"message":"plain","target":{},"endpoint":"web","topic":"news"}']);
    await pong(elsewhere);
    assert.deepEqual(elsewhere.texts, []);
  });

  test('subscribe and unsubscribe answer nothing; bad frames are ignored; unsubscribe stops delivery', async () => {
    const s = await client(WEB, []);
    for (const frame of ['not json', '[1]', '{"type":"Subscribe","topic":"u"}', '{"type":"subscribe","topic":5}', '{"type":"hello"}']) await sendFrame(s, frame);
    // Binary frames are read as text, as Driplet's ReadPump reads them.
    s.ws.send(Buffer.from(JSON.stringify({ type: 'subscribe', topic: 'u' })));
    await sendFrame(s, { type: 'subscribe', topic: 'u' });
    await publish(WEB, { message: 1, topic: 'u' });
    assert.deepEqual(await s.waitFor(1), ['{"message":1,"target":{},"endpoint":"web","topic":"u"}']);
    await sendFrame(s, { type: 'unsubscribe', topic: 'u' });
    await publish(WEB, { message: 2, topic: 'u' });
    await pong(s);
    assert.equal(s.texts.length, 1);
  });

  test('every publish refusal, in Driplet\'s order and words', async () => {
    const body = publishBody({ message: 'x', topic: 't' });
    assert.deepEqual(await post(base, 'nope', body, WEB.apiSecret).then((r) => [r.status, r.text]), [404, 'Invalid endpoint\n']);
    assert.deepEqual(await post(base, 'web', 'not even json', undefined).then((r) => [r.status, r.text]), [401, 'Missing signature\n']);
    const invalid = [401, 'Invalid signature\n'];
    assert.deepEqual(await post(base, 'web', body, 'wrong-secret').then((r) => [r.status, r.text]), invalid, 'wrong secret');
    assert.deepEqual(await post(base, 'web', body, ADMIN.apiSecret).then((r) => [r.status, r.text]), invalid, 'another endpoint\'s secret');
    assert.deepEqual(await post(base, 'web', body, undefined, 'zz').then((r) => [r.status, r.text]), invalid, 'not hex');
    assert.deepEqual(await post(base, 'web', 'not json', WEB.apiSecret).then((r) => [r.status, r.text]), invalid, 'signed, not JSON');
    const stale = publishBody({ message: 'x', topic: 't', timestamp: nowS() - 61 });
    assert.deepEqual(await post(base, 'web', stale, WEB.apiSecret).then((r) => [r.status, r.text]), invalid, 'stale timestamp');
    const ahead = publishBody({ message: 'x', topic: 't', timestamp: nowS() + 61 });
    assert.deepEqual(await post(base, 'web', ahead, WEB.apiSecret).then((r) => [r.status, r.text]), invalid, 'timestamp ahead');
    const format = publishBody({ message: 'x', topic: 7 });
    assert.deepEqual(await post(base, 'web', format, WEB.apiSecret).then((r) => [r.status, r.text]), [400, 'Invalid message format\n']);
    const noTopic = publishBody({ message: 'x' });
    assert.deepEqual(await post(base, 'web', noTopic, WEB.apiSecret).then((r) => [r.status, r.text]), [500, 'Error broadcasting message\n']);
    const nested = publishBody({ message: 'x', topic: 't', target: { include: { a: { b: 1 } } } });
    assert.deepEqual(await post(base, 'web', nested, WEB.apiSecret).then((r) => [r.status, r.text]), [500, 'Error broadcasting message\n']);
    // The hex is case-insensitive.
    const upper = publishBody({ message: 'x', topic: 't' });
    const signed = (await import('./driplet.js')).signature(upper, WEB.apiSecret).toUpperCase();
    assert.equal((await post(base, 'web', upper, undefined, signed)).status, 200);
  });

  test('a nonce is refused when replayed on its endpoint within the window, and taken on another endpoint', async () => {
    const s = await client(WEB, ['once']);
    const body = publishBody({ message: 'first', topic: 'once', nonce: `replay-${Date.now()}` });
    assert.equal((await post(base, 'web', body, WEB.apiSecret)).status, 200);
    assert.deepEqual(await post(base, 'web', body, WEB.apiSecret).then((r) => [r.status, r.text]), [401, 'Invalid signature\n']);
    // The same nonce on another endpoint is that endpoint's first (Driplet kept one entry per nonce).
    const sameNonce = JSON.stringify({ ...JSON.parse(body) as object, message: 'admin' });
    assert.equal((await post(base, 'admin', sameNonce, ADMIN.apiSecret)).status, 200);
    await pong(s);
    assert.deepEqual(s.texts, ['{"message":"first","target":{},"endpoint":"web","topic":"once"}']);
  });

  test('one nonce sent at once several times is accepted exactly once', async () => {
    const s = await client(WEB, ['race']);
    const body = publishBody({ message: 'raced', topic: 'race' });
    const answers = await Promise.all(Array.from({ length: 5 }, () => post(base, 'web', body, WEB.apiSecret)));
    assert.deepEqual(answers.map((a) => a.status).sort(), [200, 401, 401, 401, 401]);
    await pong(s);
    assert.deepEqual(s.texts, ['{"message":"raced","target":{},"endpoint":"web","topic":"race"}']);
  });

  test('a publish body past 1 MiB is 413 and the connection closed; the listener serves on', async () => {
    const limit = 1024 * 1024;
    const socket = tcp(Number(new URL(base).port), '127.0.0.1');
    let answer = '';
    socket.on('data', (d: Buffer) => { answer += d.toString(); });
    const closed = new Promise((resolve) => socket.once('close', resolve));
    socket.write(`POST /api/web/message HTTP/1.1\r\nHost: x\r\nX-Driplet-Signature: 00\r\nContent-Length: ${limit + 1}\r\n\r\n`);
    socket.write(Buffer.alloc(limit + 1, 0x20));
    await closed;
    assert.match(answer, /^HTTP\/1\.1 413 /);
    assert.ok(answer.endsWith('Request body too large\n'), answer);
    assert.equal((await fetch(`${base}/`)).status, 200);
  });

  test('targeting on `custom`: exclude first, then any include; dotted paths, arrays, numbers as numbers', async () => {
    const admin1 = await client(WEB, ['tg'], { uid: '1', roles: ['authenticated', 'administrator'], user: { id: 5 } });
    const user2 = await client(WEB, ['tg'], { uid: '2', roles: ['authenticated'], user: { id: 6 } });
    const bare = await client(WEB, ['tg']);
    const sockets = { admin1, user2, bare };
    const received = async (target: unknown, message: string): Promise<string[]> => {
      const before = Object.fromEntries(Object.entries(sockets).map(([k, s]) => [k, s.texts.length]));
      assert.equal((await publish(WEB, { message, topic: 'tg', target })).status, 200);
      await Promise.all(Object.values(sockets).map(pong));
      return Object.entries(sockets).filter(([k, s]) => s.texts.length > (before[k] as number)).map(([k]) => k);
    };
    assert.deepEqual(await received({}, 'all'), ['admin1', 'user2', 'bare']);
    assert.deepEqual(await received({ include: { roles: ['administrator', 'editor'] } }, 'admins'), ['admin1']);
    assert.deepEqual(await received({ exclude: { uid: '2' } }, 'not 2'), ['admin1', 'bare']);
    assert.deepEqual(await received({ include: { 'user.id': 6.0 } }, 'dotted'), ['user2']);
    assert.deepEqual(await received({ include: { uid: ['1', '2'] }, exclude: { roles: ['administrator'] } }, 'exclude wins'), ['user2']);
    assert.deepEqual(await received({ include: { uid: 1 } }, 'a number is no string'), []);
    assert.deepEqual(await received({ exclude: { 'user.missing': null } }, 'a missing path matches nothing'), ['admin1', 'user2', 'bare']);
    // The frame carries the target as posted, every subscriber the same bytes.
    assert.equal(user2.texts.at(-1), '{"message":"a missing path matches nothing","target":{"exclude":{"user.missing":null}},"endpoint":"web","topic":"tg"}');
  });

  test('endpoints are apart: a topic of one never reaches another endpoint\'s subscribers of the same name', async () => {
    const web = await client(WEB, ['shared']);
    const admin = await client(ADMIN, ['shared']);
    assert.equal((await publish(ADMIN, { message: 'to admin', topic: 'shared' })).status, 200);
    assert.deepEqual(await admin.waitFor(1), ['{"message":"to admin","target":{},"endpoint":"admin","topic":"shared"}']);
    assert.equal((await publish(WEB, { message: 'to web', topic: 'shared' })).status, 200);
    assert.deepEqual(await web.waitFor(1), ['{"message":"to web","target":{},"endpoint":"web","topic":"shared"}']);
    await Promise.all([pong(web), pong(admin)]);
    assert.equal(web.texts.length + admin.texts.length, 2);
  });

  test('no token, secret or payload reaches the log', () => {
    const output = gw.output();
    for (const secret of [WEB.apiSecret, WEB.jwtSecret, ADMIN.apiSecret, ADMIN.jwtSecret, 'to admin']) assert.ok(!output.includes(secret), secret);
  });
});
