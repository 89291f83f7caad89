// Publisher auth modes against the real gateway: basic, bearer, hmac and jwt, each accepted and
// refused, HMAC replays, scoped publisher JWTs, and the admin endpoints refusing them.
import { describe, test } from 'node:test';
import { request as httpRequest } from 'node:http';
import assert from 'node:assert/strict';
import { signBody } from '../../src/http/hmac-signature.js';
import { BASIC, gatewayForSuite, startExpectingFailure, withGateway } from '../helpers/gateway.js';
import { nowS, sign, signingKey } from '../helpers/jwt.js';

const TOKEN = 'publish-token-0123456789abcdef';
const NEXT_TOKEN = 'publish-token-rotated-fedcba9876';
const HMAC_SECRET = 'hmac-secret-0123456789abcdef';
const jwtKey = await signingKey('HS256');

const body = (key: string, value: unknown = 'v'): string => JSON.stringify({ key, value, expire: '0' });

describe('every mode listed: WS_PUBLISH_AUTH=basic,bearer,hmac,jwt', () => {
  const suite = gatewayForSuite({
    WS_PUBLISH_AUTH: 'basic,bearer,hmac,jwt',
    WS_PUBLISH_TOKENS: `${TOKEN},${NEXT_TOKEN}`,
    WS_HMAC_SECRET: HMAC_SECRET,
    WS_JWT_SECRET: jwtKey.configured,
    WS_MAX_BODY: '4KiB',
  });
  const post = (text: string, headers: Record<string, string>, path = '/') => suite.gw.request('POST', path, { body: text, headers, auth: false });

  test('basic: accepted as before', async () => {
    assert.equal((await post(body('k'), { authorization: BASIC })).status, 202);
  });

  test('bearer: each configured token, in the header or as ?token=; another token is 401 with a Bearer challenge', async () => {
    assert.equal((await post(body('k'), { authorization: `Bearer ${TOKEN}` })).status, 202);
    assert.equal((await post(body('k'), { authorization: `bearer ${NEXT_TOKEN}` })).status, 202, 'the rotated token too');
    assert.equal((await post(body('k'), {}, `/?token=${encodeURIComponent(TOKEN)}`)).status, 202);
    const wrong = await post(body('k'), { authorization: `Bearer ${TOKEN}x` });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.json.error, 'PUBLISH_TOKEN_INVALID');
    const challenge = wrong.headers.get('www-authenticate') ?? '';
    assert.match(challenge, /Basic realm="octoway"/);
    assert.match(challenge, /Bearer realm="octoway", error="invalid_token"/);
    assert.equal((await post(body('k'), {}, '/?token=nope')).json.error, 'PUBLISH_TOKEN_INVALID');
  });

  test('no credentials: 401 UNAUTHORIZED naming the accepted modes, with a challenge for each scheme', async () => {
    const r = await post(body('k'), {});
    assert.equal(r.status, 401);
    assert.equal(r.json.error, 'UNAUTHORIZED');
    assert.match(r.json.message, /basic, bearer, hmac, jwt/);
    const challenge = r.headers.get('www-authenticate') ?? '';
    for (const scheme of ['Basic realm', 'Bearer realm="octoway"', 'Octoway-HMAC realm']) assert.ok(challenge.includes(scheme), challenge);
  });

  test('an admin request carrying only an HMAC signature is told admin endpoints take basic or bearer, not "no credentials"', async () => {
    const r = await suite.gw.request('GET', '/', { auth: false, headers: { 'x-octoway-signature': signBody(HMAC_SECRET, '') } });
    assert.equal(r.status, 401);
    assert.equal(r.json.error, 'UNAUTHORIZED');
    assert.match(r.json.message, /^admin endpoints take basic or bearer credentials, not an HMAC signature/);
  });

  test('hmac: a signed body is accepted once; its replay, a forged or stale signature and a malformed header are refused', async () => {
    const text = body('k-hmac', { n: Math.random() });
    const signature = signBody(HMAC_SECRET, text);
    const first = await post(text, { 'x-octoway-signature': signature });
    assert.equal(first.status, 202, first.text);
    const replay = await post(text, { 'x-octoway-signature': signature });
    assert.equal(replay.status, 401);
    assert.equal(replay.json.error, 'HMAC_REPLAYED');
    const tampered = await post(text.replace('k-hmac', 'k-evil'), { 'x-octoway-signature': signBody(HMAC_SECRET, text) });
    assert.equal(tampered.json.error, 'HMAC_SIGNATURE_INVALID', 'the signature covers the raw body');
    assert.equal((await post(text, { 'x-octoway-signature': signBody('another-secret-of-some-length', text) })).json.error, 'HMAC_SIGNATURE_INVALID');
    const stale = await post(text, { 'x-octoway-signature': signBody(HMAC_SECRET, text, nowS() - 301) });
    assert.equal(stale.status, 401);
    assert.equal(stale.json.error, 'HMAC_TIMESTAMP_OUT_OF_RANGE');
    assert.equal((await post(text, { 'x-octoway-signature': signBody(HMAC_SECRET, text, nowS() + 301) })).json.error, 'HMAC_TIMESTAMP_OUT_OF_RANGE');
    for (const header of ['v1=abc', `t=${nowS()}`, `t=now,v1=${'0'.repeat(64)}`, `t=${nowS()},v1=${'0'.repeat(63)}`]) {
      assert.equal((await post(text, { 'x-octoway-signature': header })).json.error, 'HMAC_SIGNATURE_MALFORMED', header);
    }
  });

  test('hmac: a body over WS_MAX_BODY is 413 before any signature check', async () => {
    const text = body('k', 'x'.repeat(5000));
    const r = await post(text, { 'x-octoway-signature': signBody(HMAC_SECRET, text) });
    assert.equal(r.status, 413);
  });

  test('jwt: a publisher token reaches the keys it lists, and a 403 names the first it may not', async () => {
    const token = await sign(jwtKey, { sub: 'backend-1', scope: 'publish', keys: ['k-a'], topics: ['t-1'], exp: nowS() + 60 });
    const headers = { authorization: `Bearer ${token}` };
    assert.equal((await post(body('k-a'), headers)).status, 202);
    const topic = (name: string): string => JSON.stringify({ topic: name, value: 'v' });
    assert.equal((await post(topic('t-1'), headers)).status, 202, 'topics count with a publish scope, as topics');
    // Keys and topics never share a namespace: a topic grant is not the key of its name, nor the reverse.
    const keyOfTopic = await post(body('t-1'), headers);
    assert.deepEqual([keyOfTopic.status, keyOfTopic.json.error], [403, 'PUBLISH_KEY_FORBIDDEN']);
    const topicOfKey = await post(topic('k-a'), headers);
    assert.deepEqual([topicOfKey.status, topicOfKey.json.error], [403, 'PUBLISH_TOPIC_FORBIDDEN']);
    const outside = await post(JSON.stringify({ keys: ['k-a', 'k-b'], value: 1, expire: '0' }), headers);
    assert.equal(outside.status, 403);
    assert.equal(outside.json.error, 'PUBLISH_KEY_FORBIDDEN');
    assert.match(outside.json.message, /"k-b"/);
    assert.equal(outside.headers.get('www-authenticate'), null, 'a 403 has no challenge');
    assert.equal((await post(body('backend-1'), headers)).status, 403, 'sub is who it is, not where it may publish');
  });

  test('jwt: prefix grants (chat:*) reach the topics they match, as they do for sockets; never keys', async () => {
    const token = await sign(jwtKey, { scope: 'publish', topics: ['chat:*'], write: ['room'], exp: nowS() + 60 });
    const headers = { authorization: `Bearer ${token}` };
    for (const name of ['chat:lobby', 'chat:', 'room']) {
      assert.equal((await post(JSON.stringify({ topic: name, value: 1 }), headers)).status, 202, name);
    }
    const other = await post(JSON.stringify({ topics: ['chat:x', 'chatter'], value: 1 }), headers);
    assert.deepEqual([other.status, other.json.error], [403, 'PUBLISH_TOPIC_FORBIDDEN']);
    assert.match(other.json.message, /"chatter"/);
    assert.equal((await post(body('chat:lobby'), headers)).json.error, 'PUBLISH_KEY_FORBIDDEN', 'a pattern never reaches a key');
    assert.equal((await post(body('chat:*'), headers)).json.error, 'PUBLISH_KEY_FORBIDDEN');
  });

  test('jwt: a batch with one key out of reach is refused whole, and nothing of it is published', async () => {
    const token = await sign(jwtKey, { scope: 'publish', keys: ['k-batch'], exp: nowS() + 60 });
    const batch = { messages: [{ key: 'k-batch', value: 1, expire: '1m' }, { key: 'k-other', value: 2, expire: '1m' }] };
    const r = await post(JSON.stringify(batch), { authorization: `Bearer ${token}` });
    assert.equal(r.status, 403);
    assert.equal(r.json.error, 'PUBLISH_KEY_FORBIDDEN');
    assert.match(r.json.message, /^messages\[1\]: .*"k-other"/);
    const held = await suite.gw.request('GET', '/?key=k-batch');
    assert.deepEqual(held.json, [], 'the first message, within reach, was not held either');
  });

  test('jwt: a token without a publish scope is 403, an expired or forged one 401 with its code', async () => {
    const subscriber = await sign(jwtKey, { sub: 'u', scope: 'subscribe', topics: ['k-a'] });
    const r = await post(body('k-a'), { authorization: `Bearer ${subscriber}` });
    assert.equal(r.status, 403);
    assert.equal(r.json.error, 'PUBLISH_SCOPE_MISSING');
    const expired = await sign(jwtKey, { scope: 'publish', keys: ['k-a'], exp: nowS() - 10 });
    const e = await post(body('k-a'), { authorization: `Bearer ${expired}` });
    assert.equal(e.status, 401);
    assert.equal(e.json.error, 'JWT_EXPIRED');
    assert.match(e.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
    const forged = await sign(await signingKey('HS256'), { scope: 'publish', keys: ['k-a'] });
    assert.equal((await post(body('k-a'), {}, `/?token=${forged}`)).json.error, 'JWT_BAD_SIGNATURE');
  });

  test('admin: basic or bearer (also as ?token=, which is not taken for a selector); a publisher JWT is 403, HMAC 401', async () => {
    assert.equal((await suite.gw.request('POST', '/', { body: JSON.stringify({ key: 'k-admin', value: 1, expire: '1m' }) })).status, 202);
    assert.equal((await suite.gw.request('GET', '/?key=k-admin', { auth: false, headers: { authorization: `Bearer ${TOKEN}` } })).json.length, 1);
    assert.equal((await suite.gw.request('GET', `/?key=k-admin&token=${TOKEN}`, { auth: false })).json.length, 1);
    const publisherJwt = await sign(jwtKey, { scope: 'publish', keys: ['k-admin'], exp: nowS() + 60 });
    for (const method of ['GET', 'DELETE']) {
      const r = await suite.gw.request(method, '/?key=k-admin', { auth: false, headers: { authorization: `Bearer ${publisherJwt}` } });
      assert.equal(r.status, 403, method);
      assert.equal(r.json.error, 'ADMIN_FORBIDDEN');
    }
    const signed = await suite.gw.request('GET', '/?key=k-admin', { auth: false, headers: { 'x-octoway-signature': signBody(HMAC_SECRET, '') } });
    assert.equal(signed.status, 401);
    assert.equal((await suite.gw.request('GET', '/?key=k-admin')).json.length, 1, 'the refused DELETE removed nothing');
  });

  test('no secret or token reaches the logs', async () => {
    const output = suite.gw.output();
    for (const secret of [TOKEN, NEXT_TOKEN, HMAC_SECRET, jwtKey.configured]) assert.ok(!output.includes(secret));
  });
});

describe('modes one at a time', () => {
  test('bearer alone: no WS_LOGIN needed, Basic refused with a Bearer challenge only', async () => {
    await withGateway({ WS_PUBLISH_AUTH: 'bearer', WS_PUBLISH_TOKENS: TOKEN, WS_LOGIN: '', WS_PASSWORD: '' }, async (gw) => {
      assert.equal((await gw.request('POST', '/', { body: body('k'), auth: false, headers: { authorization: `Bearer ${TOKEN}` } })).status, 202);
      const r = await gw.request('POST', '/', { body: body('k') });
      assert.equal(r.status, 401);
      assert.equal(r.json.error, 'UNAUTHORIZED');
      assert.equal(r.headers.get('www-authenticate'), 'Bearer realm="octoway"');
    });
  });

  test('hmac alone: admin endpoints are closed (401), publishing is signed', async () => {
    await withGateway({ WS_PUBLISH_AUTH: 'hmac', WS_HMAC_SECRET: HMAC_SECRET, WS_LOGIN: '', WS_PASSWORD: '' }, async (gw) => {
      const text = body('k');
      assert.equal((await gw.request('POST', '/', { body: text, auth: false, headers: { 'x-octoway-signature': signBody(HMAC_SECRET, text) } })).status, 202);
      const admin = await gw.request('GET', '/', { auth: false });
      assert.equal(admin.status, 401);
      assert.match(admin.json.message, /admin endpoints take basic or bearer/);
    });
  });

  test('hmac: a body sent slowly is checked against the tolerance again once it is in (a replay cannot outlast the replay memory)', async () => {
    await withGateway({ WS_PUBLISH_AUTH: 'hmac', WS_HMAC_SECRET: HMAC_SECRET, WS_HMAC_TOLERANCE: '1s', WS_LOGIN: '', WS_PASSWORD: '' }, async (gw) => {
      const text = body('slow');
      const t = Math.floor(Date.now() / 1000);
      const answer = new Promise<{ status: number; json: { error: string } }>((resolve, reject) => {
        const req = httpRequest({ host: '127.0.0.1', port: gw.port, method: 'POST', path: '/', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'x-octoway-signature': signBody(HMAC_SECRET, text, t) } }, (res) => {
          let data = '';
          res.setEncoding('utf8').on('data', (chunk: string) => { data += chunk; }).on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(data) as { error: string } }));
        });
        req.on('error', reject);
        req.flushHeaders();
        // The headers were in tolerance; the body arrives once the signature's time is past it.
        const due = (t + 1) * 1000 + 1_200 - Date.now();
        setTimeout(() => req.end(text), Math.max(0, due));
      });
      const { status, json } = await answer;
      assert.equal(status, 401);
      assert.equal(json.error, 'HMAC_TIMESTAMP_OUT_OF_RANGE');
    });
  });

  test('jwt alone with an ES256 public key (notiflux\'s broadcast tokens)', async () => {
    const key = await signingKey('ES256');
    await withGateway({ WS_PUBLISH_AUTH: 'jwt', WS_JWT_PUBLIC_KEY: Buffer.from(key.configured).toString('base64'), WS_LOGIN: '', WS_PASSWORD: '' }, async (gw) => {
      const token = await sign(key, { sub: 'svc', scope: 'broadcast', topics: ['news'], exp: nowS() + 60 });
      const news = JSON.stringify({ topic: 'news', value: 'v' });
      assert.equal((await gw.request('POST', '/', { body: news, auth: false, headers: { authorization: `Bearer ${token}` } })).status, 202);
      const confused = await sign({ alg: 'HS256', key: new TextEncoder().encode(key.configured), configured: '' }, { scope: 'broadcast', topics: ['news'] });
      const r = await gw.request('POST', '/', { body: news, auth: false, headers: { authorization: `Bearer ${confused}` } });
      assert.equal(r.json.error, 'JWT_ALG_CONFUSION');
    });
  });

  test('WS_INSECURE_NO_AUTH keeps its meaning with basic: anyone publishes', async () => {
    await withGateway({ WS_INSECURE_NO_AUTH: 'true', WS_LOGIN: '', WS_PASSWORD: '' }, async (gw) => {
      assert.equal((await gw.request('POST', '/', { body: body('k'), auth: false })).status, 202);
    });
  });
});

describe('configuration refused at start (exit 2)', () => {
  const base = { WS_AUTH_URL: 'http://127.0.0.1:1/auth', WS_LOGIN: 'l', WS_PASSWORD: 'p' };
  for (const [env, mentions] of [
    [{ WS_JWT_SECRET: '' }, 'WS_JWT_SECRET is set but empty'],
    [{ WS_PUBLISH_AUTH: 'basic,token' }, 'WS_PUBLISH_AUTH'],
    [{ WS_PUBLISH_AUTH: 'bearer' }, 'WS_PUBLISH_TOKENS is not set'],
    [{ WS_PUBLISH_AUTH: 'bearer', WS_PUBLISH_TOKENS: 'short' }, 'WS_PUBLISH_TOKENS="<hidden>"'],
    [{ WS_PUBLISH_AUTH: 'hmac' }, 'WS_HMAC_SECRET is not set'],
    [{ WS_PUBLISH_AUTH: 'jwt' }, 'WS_PUBLISH_AUTH lists jwt'],
    [{ WS_PUBLISH_AUTH: 'basic', WS_LOGIN: '' }, 'WS_LOGIN is not set'],
  ] as const) {
    test(`${JSON.stringify(env)}`, async () => {
      const { exitCode, stderr } = await startExpectingFailure({ ...base, ...env });
      assert.equal(exitCode, 2, stderr);
      assert.ok(stderr.includes(mentions), stderr);
      assert.ok(!stderr.includes('short'), 'a secret is never echoed');
    });
  }
});
