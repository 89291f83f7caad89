// Client JWT mode against the real gateway: tokens signed by jose accepted and refused at the
// upgrade with their codes, the token in each of its places, expiry with the reconnect close code,
// and refresh frames that move it (or are refused and change nothing).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { gatewayForSuite, startExpectingFailure, withGateway } from '../helpers/gateway.js';
import { connect, refusal, type TestSocket } from '../helpers/client.js';
import { nowS, sign, signingKey, unsignedToken, type SigningKey } from '../helpers/jwt.js';
import { CLOSE_CODES } from '../../src/errors.js';

const hs = await signingKey('HS256');
const es = await signingKey('ES256');
const otherHs = await signingKey('HS256');
const AUDIENCE = 'octoway-test';
const ISSUER = 'https://issuer.test';

const errorOf = (r: { body: string }): string => (JSON.parse(r.body) as { error: string }).error;
const token = (key: SigningKey, claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}): Promise<string> =>
  sign(key, { sub: 'alice', aud: AUDIENCE, iss: ISSUER, exp: nowS() + 60, ...claims }, header);

/** Resolves with the next frame the socket receives (as parsed JSON). */
function nextFrame(socket: TestSocket): Promise<any> {
  return socket.waitForFrames(socket.frames.length + 1).then((frames) => frames[frames.length - 1]);
}

describe('WS_AUTH_MODE=forward,jwt with HS256 and ES256 keys', () => {
  const suite = gatewayForSuite({
    WS_AUTH_MODE: 'forward,jwt',
    WS_JWT_SECRET: hs.configured,
    WS_JWT_PUBLIC_KEY: es.configured,
    WS_JWT_AUDIENCE: AUDIENCE,
    WS_JWT_ISSUER: ISSUER,
    WS_JWT_COOKIE: 'session_jwt',
  });

  test('HS256 and ES256 tokens open sockets under sub and keys; a publish to sub reaches them', async () => {
    const { gw, auth } = suite;
    const calls = auth.requests.length;
    const a = await connect(gw.ws(`/ws?token=${await token(hs, { sub: 'hs-user', keys: ['team:1'], sid: 's1', custom: { plan: 'pro' } })}`));
    const b = await connect(gw.ws('/ws'), { authorization: `Bearer ${await token(es, { sub: 'es-user' })}` });
    assert.equal((await gw.publish({ key: 'hs-user', value: 'to sub' })).json.delivered, 1);
    assert.equal((await gw.publish({ key: 'team:1', value: 'to a keys claim' })).json.delivered, 1);
    assert.equal((await gw.publish({ key: 'es-user', value: 'to es' })).json.delivered, 1);
    assert.deepEqual((await a.waitForFrames(2)).map((f) => f.payload), ['to sub', 'to a keys claim']);
    assert.deepEqual((await b.waitForFrames(1)).map((f) => f.payload), ['to es']);
    assert.equal(auth.requests.length, calls, 'no call to the auth backend');
    await a.close();
    await b.close();
  });

  test('each refusal has its code and 401, and never reaches the forward backend', async () => {
    const { gw, auth } = suite;
    const calls = auth.requests.length;
    const good = await token(hs);
    const forged = `${good.slice(0, good.lastIndexOf('.'))}.${Buffer.from('not the signature at all, 32 b!').toString('base64url')}`;
    // HS/RS confusion: an HS256 token signed with the ES256 public key's PEM as the secret, on a
    // gateway whose HMAC secret is something else, is a bad signature here; on a public-key-only
    // gateway (below) it is JWT_ALG_CONFUSION.
    const cases: Array<[string, string]> = [
      [await token(hs, { exp: nowS() - 10 }), 'JWT_EXPIRED'],
      [await token(hs, { nbf: nowS() + 600 }), 'JWT_NOT_YET_VALID'],
      [forged, 'JWT_BAD_SIGNATURE'],
      [await token(otherHs), 'JWT_BAD_SIGNATURE'],
      [unsignedToken({ sub: 'alice', aud: AUDIENCE, iss: ISSUER, exp: nowS() + 60 }), 'JWT_ALG_NONE'],
      [await token(hs, { aud: 'someone-else' }), 'JWT_WRONG_AUDIENCE'],
      [await token(hs, { iss: 'https://evil.test' }), 'JWT_WRONG_ISSUER'],
      [await token(hs, { keys: 5 }), 'JWT_CLAIM_INVALID'],
      [await token(hs, { sub: undefined }), 'AUTH_NO_KEYS'],
    ];
    const signatures = cases.map(([t]) => t.split('.')[2]!).filter((s) => s !== '');
    for (const [t, code] of cases) {
      const r = await refusal(gw.ws(`/ws?jwt=${t}`));
      assert.deepEqual([r.status, errorOf(r)], [code === 'AUTH_NO_KEYS' ? 403 : 401, code], code);
    }
    // The same refusals from the header (an opaque bearer goes to forward auth; a JWT does not).
    const r = await refusal(gw.ws('/ws'), { authorization: `Bearer ${await token(hs, { exp: nowS() - 10 })}` });
    assert.deepEqual([r.status, errorOf(r)], [401, 'JWT_EXPIRED']);
    assert.equal(auth.requests.length, calls, 'a refused JWT never falls through to forward auth');
    // Without a token, forward auth decides as before.
    const forward = await connect(gw.ws('/ws?email=f@example.com'));
    assert.equal(auth.requests.length, calls + 1);
    await forward.close();
    // The token is never logged.
    for (const signature of signatures) assert.ok(!gw.output().includes(signature), 'a token was logged');
  });

  test('the token is read from every place: header, each query name, the cookie, the subprotocol', async () => {
    const { gw, auth } = suite;
    const calls = auth.requests.length;
    const places: Array<[string, (t: string) => { path: string; headers: Record<string, string> }]> = [
      ['bearer', (t) => ({ path: '/ws', headers: { authorization: `Bearer ${t}` } })],
      ['?token', (t) => ({ path: `/ws?token=${t}`, headers: {} })],
      ['?jwt', (t) => ({ path: `/ws?jwt=${t}`, headers: {} })],
      ['?auth', (t) => ({ path: `/ws?auth=${t}`, headers: {} })],
      ['cookie', (t) => ({ path: '/ws', headers: { cookie: `a=1; session_jwt=${t}; b=2` } })],
    ];
    for (const [place, where] of places) {
      const sub = `place-${place}`;
      const { path, headers } = where(await token(hs, { sub }));
      const socket = await connect(gw.ws(path), headers);
      assert.equal((await gw.publish({ key: sub, value: place })).json.delivered, 1, place);
      await socket.close();
      // A bad token in the same place is refused by the jwt mode.
      const bad = where(await token(hs, { sub, exp: nowS() - 10 }));
      assert.equal(errorOf(await refusal(gw.ws(bad.path), bad.headers)), 'JWT_EXPIRED', place);
    }
    assert.equal(auth.requests.length, calls);
  });

  test('the subprotocol octoway.token.<jwt>: the 101 selects another offered protocol, or none, never the token', async () => {
    const { gw } = suite;
    const t = await token(hs, { sub: 'proto-user' });
    const open = (protocols: string[]): Promise<WebSocket> => new Promise((resolve, reject) => {
      const ws = new WebSocket(gw.ws('/ws'), protocols);
      ws.once('open', () => resolve(ws));
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`refused ${res.statusCode}`)));
    });
    const withChat = await open([`octoway.token.${t}`, 'chat']);
    assert.equal(withChat.protocol, 'chat');
    assert.equal((await gw.publish({ key: 'proto-user', value: 1 })).json.delivered, 1);
    withChat.close();
    // Offered alone, the token is not selected: the 101 names no protocol, which browsers accept
    // (RFC 6455 4.1 fails only a protocol that was not offered); the ws package is stricter and
    // fails it, hence reading the 101 itself.
    const alone = new WebSocket(gw.ws('/ws'), [`octoway.token.${t}`]);
    const [response] = await Promise.all([
      new Promise<{ status: number | undefined; protocol: unknown }>((resolve) => alone.once('upgrade', (res) => resolve({ status: res.statusCode, protocol: res.headers['sec-websocket-protocol'] }))),
      new Promise((resolve) => alone.once('error', resolve)),
    ]);
    assert.deepEqual(response, { status: 101, protocol: undefined });
    const bad = await token(hs, { sub: 'proto-user', exp: nowS() - 10 });
    await assert.rejects(open([`octoway.token.${bad}`, 'chat']), /refused 401/);
  });

  test('refresh frames: refused ones answer with an error and change nothing', async () => {
    const { gw } = suite;
    const socket = await connect(gw.ws(`/ws?jwt=${await token(hs, { sub: 'refresher' })}`));
    const cases: Array<[unknown, string]> = [
      [{ type: 'refresh' }, 'REFRESH_INVALID'],
      [{ type: 'refresh', token: await token(hs, { sub: 'mallory' }) }, 'REFRESH_SUBJECT_MISMATCH'],
      [{ type: 'refresh', token: await token(hs, { sub: 'refresher', exp: nowS() - 10 }) }, 'JWT_EXPIRED'],
      [{ type: 'refresh', token: await token(otherHs, { sub: 'refresher' }) }, 'JWT_BAD_SIGNATURE'],
    ];
    for (const [frame, code] of cases) {
      const reply = nextFrame(socket);
      socket.send(frame);
      const answer = await reply;
      assert.equal(answer.type, 'error');
      assert.equal(answer.code, code);
      assert.equal(typeof answer.message, 'string');
    }
    // Acks and unknown frames are still ignored, and the socket still delivers.
    socket.send({ id: 'not-a-message' });
    socket.send({ type: 'something-else' });
    const delivered = nextFrame(socket);
    assert.equal((await gw.publish({ key: 'refresher', value: 'still here' })).json.delivered, 1);
    const last = await delivered;
    assert.equal(last.payload, 'still here');
    await socket.close();
  });

  test('a forward-auth socket does not expire: a refresh has nothing to extend', async () => {
    const { gw } = suite;
    const socket = await connect(gw.ws('/ws?email=nox@example.com'));
    const reply = nextFrame(socket);
    socket.send({ type: 'refresh', token: await token(hs, { sub: 'nox@example.com' }) });
    assert.equal((await reply).code, 'REFRESH_NOT_EXPIRING');
    await socket.close();
  });
});

describe('expiry', () => {
  const suite = gatewayForSuite({ WS_AUTH_MODE: 'forward,jwt', WS_JWT_SECRET: hs.configured });

  test('a socket is closed at its token\'s exp with the reconnect close code', async () => {
    const { gw } = suite;
    const exp = nowS() + 2;
    const socket = await connect(gw.ws(`/ws?jwt=${await sign(hs, { sub: 'short', exp })}`));
    const code = await socket.closed;
    assert.equal(code, CLOSE_CODES.TOKEN_EXPIRED.code);
    assert.equal(CLOSE_CODES.TOKEN_EXPIRED.kind, 'reconnect');
    assert.ok(Date.now() / 1000 >= exp, 'not before exp');
  });

  test('a refresh moves the expiry past the first exp; a refused one leaves the first', async () => {
    const { gw } = suite;
    const exp = nowS() + 2;
    const kept = await connect(gw.ws(`/ws?jwt=${await sign(hs, { sub: 'renewed', exp })}`));
    const refused = await connect(gw.ws(`/ws?jwt=${await sign(hs, { sub: 'unrenewed', exp })}`));

    const later = exp + 3;
    const answer = nextFrame(kept);
    kept.send({ type: 'refresh', token: await sign(hs, { sub: 'renewed', exp: later }) });
    assert.deepEqual(await answer, { type: 'refreshed', expires_at: later });
    const denied = nextFrame(refused);
    refused.send({ type: 'refresh', token: await sign(hs, { sub: 'someone-else', exp: later }) });
    assert.equal((await denied).code, 'REFRESH_SUBJECT_MISMATCH');

    assert.equal(await refused.closed, CLOSE_CODES.TOKEN_EXPIRED.code);
    assert.ok(Date.now() / 1000 < later, 'the refused refresh changed nothing: closed at the first exp');
    // Past the first exp, the refreshed socket is open and delivers.
    assert.equal((await gw.publish({ key: 'renewed', value: 'after the first exp' })).json.delivered, 1);
    assert.equal(await kept.closed, CLOSE_CODES.TOKEN_EXPIRED.code);
    assert.ok(Date.now() / 1000 >= later, 'closed at the new exp');
  });
});

const rs = await signingKey('RS256');

describe('jwt alone, a public key only', () => {

  test('RS256 accepted; an HS256 token signed with the public key is JWT_ALG_CONFUSION; no token is AUTH_CREDENTIALS_MISSING', async () => {
    await withGateway({ WS_AUTH_MODE: 'jwt', WS_JWT_PUBLIC_KEY: rs.configured }, async (gw, auth) => {
      const socket = await connect(gw.ws(`/ws?jwt=${await sign(rs, { sub: 'rs-user', exp: nowS() + 60 })}`));
      assert.equal((await gw.publish({ key: 'rs-user', value: 1 })).json.delivered, 1);
      await socket.close();
      const confused = await sign({ alg: 'HS256', key: new TextEncoder().encode(rs.configured), configured: rs.configured }, { sub: 'rs-user', exp: nowS() + 60 });
      const r = await refusal(gw.ws(`/ws?jwt=${confused}`));
      assert.deepEqual([r.status, errorOf(r)], [401, 'JWT_ALG_CONFUSION']);
      const none = await refusal(gw.ws('/ws?email=a@example.com'));
      assert.deepEqual([none.status, errorOf(none)], [401, 'AUTH_CREDENTIALS_MISSING']);
      assert.equal(auth.requests.length, 0);
    });
  });

  test('jwt listed without any WS_JWT_* key stops the start with exit 2, naming what is missing', async () => {
    const r = await startExpectingFailure({ WS_LOGIN: 'a', WS_PASSWORD: 'b', WS_AUTH_MODE: 'jwt' });
    assert.equal(r.exitCode, 2);
    assert.match(r.stderr, /WS_JWT_SECRET.*WS_JWT_PUBLIC_KEY or WS_JWT_JWKS_URL \(WS_AUTH_MODE lists jwt\)/);
  });
});
