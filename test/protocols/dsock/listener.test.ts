// dSock's listener against the real gateway (seed listener only, tickets in memory): every API
// endpoint and error answer, the /connect refusals on the wire, claims (single use, listed, removed,
// keepClaims), /send by user, session and connection (text and binary, live only, in order),
// /disconnect with 1000, and /info listing a socket as soon as its 101 is out.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, type GatewayProcess } from '../../helpers/gateway.js';
import { listenerPort } from '../../helpers/seed.js';
import { call, dsockSocket, errorBody, jwt, rawConnect, TOKEN, type DsockSocket } from './client.js';

const nowS = (): number => Math.floor(Date.now() / 1000);

describe('dSock listener', () => {
  let gw: GatewayProcess;
  let port: number;
  let http: string;
  let ws: string;
  const open: DsockSocket[] = [];

  const claim = async (query: string): Promise<Record<string, unknown>> => {
    const answer = await call(http, 'POST', '/claim', query);
    assert.equal(answer.status, 200, answer.text);
    return (answer.json as { claim: Record<string, unknown> }).claim;
  };
  const connect = async (query: string): Promise<DsockSocket> => {
    const socket = await dsockSocket(`${ws}/connect?${query}`);
    open.push(socket);
    return socket;
  };
  const connectAs = async (user: string, session?: string): Promise<DsockSocket> => {
    const made = await claim(`user=${user}${session === undefined ? '' : `&session=${session}`}`);
    return connect(`claim=${made.id as string}`);
  };
  const info = async (query: string): Promise<{ claims: Array<Record<string, unknown>>; connections: Array<Record<string, unknown>> }> => {
    const answer = await call(http, 'GET', '/info', query);
    assert.equal(answer.status, 200, answer.text);
    return answer.json as never;
  };
  const expectError = async (method: 'GET' | 'POST', path: string, query: string, code: string, message: string, status = 400): Promise<void> => {
    const answer = await call(http, method, path, query);
    assert.equal(answer.status, status, `${path}?${query}`);
    assert.equal(answer.contentType, 'application/json; charset=utf-8');
    assert.equal(answer.text, errorBody(code, message), `${path}?${query}`);
  };

  before(async () => {
    gw = await startGateway({ WS_LOGIN: '', WS_PASSWORD: '', WS_DSOCK_PORT: '0', WS_DSOCK_TOKEN: TOKEN, WS_DSOCK_JWT_SECRET: 'abc123', WS_MAX_BODY: '1kb' });
    port = await listenerPort(gw, 'dsock');
    http = `http://127.0.0.1:${port}`;
    ws = `ws://127.0.0.1:${port}`;
  });
  after(async () => {
    await Promise.all(open.map((s) => s.close()));
    await gw.stop();
    // Never logged: the API token (sent as a query parameter too) and claim ids, which are secrets.
    const output = gw.output();
    assert.ok(!output.includes(TOKEN), 'the API token was logged');
    assert.ok(!output.includes('fixed-id'), 'a claim id was logged');
  });

  test('the token: query or Authorization (any 7-character scheme); else 400 INVALID_AUTHORIZATION, also on unknown paths', async () => {
    const invalid = errorBody('INVALID_AUTHORIZATION', 'Invalid authorization');
    for (const token of [null, 'wrong', `${TOKEN}x`]) {
      const answer = await call(http, 'GET', '/info', 'user=auth', { token });
      assert.equal(answer.status, 400);
      assert.equal(answer.text, invalid);
    }
    assert.equal((await call(http, 'GET', '/nope', '', { token: null })).text, invalid);
    assert.equal((await call(http, 'GET', '/info', `user=auth&token=${TOKEN}`, { token: null })).status, 200);
    const scheme = await fetch(`${http}/info?user=auth`, { headers: { Authorization: `XXXXXX ${TOKEN}` } });
    assert.equal(scheme.status, 200);
    // With the token: gin's 404 for an unknown path or a wrong method.
    for (const [method, path] of [['GET', '/nope'], ['GET', '/claim'], ['POST', '/info']] as const) {
      const answer = await call(http, method, path);
      assert.equal(answer.status, 404);
      assert.equal(answer.text, '404 page not found');
    }
  });

  test('POST /claim: 200 with dSock\'s shape; expiration as given (2038 too), duration and the 60 s default from now', async () => {
    const before = nowS();
    const made = await call(http, 'POST', '/claim', 'user=claimer&session=s1&expiration=2147485545&id=fixed-id');
    assert.equal(made.status, 200);
    assert.equal(made.contentType, 'application/json; charset=utf-8');
    assert.equal(made.text, '{"claim":{"expiration":2147485545,"id":"fixed-id","session":"s1","user":"claimer"},"success":true}');
    const byDuration = await claim('user=claimer&duration=300');
    assert.ok((byDuration.expiration as number) >= before + 300 && (byDuration.expiration as number) <= nowS() + 300);
    assert.match(byDuration.id as string, /^[A-Za-z0-9]{32}$/);
    assert.equal('session' in byDuration, false);
    const byDefault = await claim('user=claimer&duration=');
    assert.ok((byDefault.expiration as number) >= before + 60 && (byDefault.expiration as number) <= nowS() + 60);
    // expiration wins over duration, which is then not even checked.
    assert.equal((await claim(`user=claimer&expiration=${nowS() + 100}&duration=abc`)).expiration, nowS() + 100);
  });

  test('POST /claim errors, in dSock\'s order', async () => {
    const invalidExpiration = ['INVALID_EXPIRATION', 'Error parsing expiration (must be a integer)'] as const;
    await expectError('POST', '/claim', 'session=s&expiration=abc', 'USER_ID_REQUIRED', 'User ID is required');
    await expectError('POST', '/claim', 'user=&expiration=abc', 'USER_ID_REQUIRED', 'User ID is required');
    await expectError('POST', '/claim', 'user=u&expiration=abc&duration=-1', ...invalidExpiration);
    await expectError('POST', '/claim', 'user=u&expiration=5.0', ...invalidExpiration);
    await expectError('POST', '/claim', 'user=u&expiration=1', ...invalidExpiration);
    // Octoway's bound: 9999-12-31 (docs/migrating.md).
    await expectError('POST', '/claim', 'user=u&expiration=253402300800', ...invalidExpiration);
    await expectError('POST', '/claim', 'user=u&expiration=0', 'NEGATIVE_EXPIRATION', 'Can not use 0 or negative expiration');
    await expectError('POST', '/claim', 'user=u&expiration=-1', 'NEGATIVE_EXPIRATION', 'Can not use 0 or negative expiration');
    await expectError('POST', '/claim', 'user=u&duration=1e3', 'INVALID_DURATION', 'Could not parse duration (must be a integer)');
    await expectError('POST', '/claim', 'user=u&duration=-1', 'NEGATIVE_DURATION', 'Can not use 0 or negative duration');
    await claim('user=u&id=taken');
    await expectError('POST', '/claim', 'user=other&id=taken', 'CLAIM_ID_ALREADY_USED', 'Claim ID is already used');
    // A used claim's id may be made again.
    (await connect('claim=taken')).close();
    assert.equal((await claim('user=u&id=taken')).id, 'taken');
  });

  test('GET /connect?claim=: opens once, listed by /info as soon as the 101 is out; then 400 MISSING_CLAIM', async () => {
    const made = await claim('user=connector&session=web');
    await connect(`claim=${made.id as string}`);
    // No wait: the socket is registered before its 101 is written.
    const listed = await info('user=connector');
    assert.equal(listed.connections.length, 1);
    const [conn] = listed.connections as [Record<string, unknown>];
    assert.equal(conn.user, 'connector');
    assert.equal(conn.session, 'web');
    assert.match(conn.id as string, /^[a-z0-9]+-[a-z0-9]+$/);
    assert.equal(typeof conn.worker, 'string');
    assert.ok(Math.abs((conn.lastPing as number) - nowS()) <= 2);
    assert.deepEqual(listed.claims, []);
    const again = await rawConnect(port, `claim=${made.id as string}`);
    assert.equal(again.status, 400);
    assert.equal(again.headers['content-type'], 'application/json; charset=utf-8');
    assert.equal(again.headers['content-length'], String(Buffer.byteLength(again.body)));
    assert.equal(again.body, errorBody('MISSING_CLAIM', 'Could not find claim'));
  });

  test('GET /connect refusals: MISSING_AUTHENTICATION, INVALID_JWT, EXPIRED_CLAIM; an empty claim falls through to jwt', async () => {
    const expect = async (query: string, code: string, message: string): Promise<void> => {
      const answer = await rawConnect(port, query);
      assert.equal(answer.status, 400, query);
      assert.equal(answer.body, errorBody(code, message), query);
    };
    await expect('', 'MISSING_AUTHENTICATION', 'Did not provide an authentication method');
    await expect('claim=&jwt=', 'MISSING_AUTHENTICATION', 'Did not provide an authentication method');
    await expect('claim=&jwt=nope', 'INVALID_JWT', 'Could not validate JWT');
    await expect(`jwt=${jwt({ sub: 'u', exp: 'invalid' })}`, 'INVALID_JWT', 'Could not validate JWT');
    await expect(`jwt=${jwt({ sub: 'u', exp: nowS() - 5 })}`, 'INVALID_JWT', 'Could not validate JWT');
    await expect(`jwt=${jwt({ sub: 'u' }, 'wrong-secret')}`, 'INVALID_JWT', 'Could not validate JWT');
    await expect('claim=unknown', 'MISSING_CLAIM', 'Could not find claim');
    const made = await claim('user=late&duration=1');
    // The claim's last second is `expiration - 1`: wait until it is past.
    const waitMs = (made.expiration as number) * 1000 - Date.now() + 50;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, waitMs)));
    await expect(`claim=${made.id as string}`, 'EXPIRED_CLAIM', 'Claim has expired');
  });

  test('GET /connect?jwt=: HS256/HS384, sub is the user, sid the session; not closed at exp', async () => {
    const socket = await connect(`jwt=${jwt({ sub: 'jwt-user', sid: 'jwt-session', exp: nowS() + 2 }, 'abc123', 'HS384')}`);
    const listed = await info('user=jwt-user&session=jwt-session');
    assert.equal(listed.connections.length, 1);
    assert.equal(listed.connections[0]?.session, 'jwt-session');
    // Past its exp the socket still gets messages (dSock never closes it).
    await new Promise((resolve) => setTimeout(resolve, 3_100));
    await call(http, 'POST', '/send', 'user=jwt-user&type=text', { body: 'still here' });
    const [frame] = await socket.waitFor(1);
    assert.equal(frame?.data.toString(), 'still here');
  });

  test('a GET /connect that is not a handshake is refused without consuming the claim', async () => {
    const made = await claim('user=plain-get');
    const res = await fetch(`${http}/connect?claim=${made.id as string}`);
    assert.equal(res.status, 400);
    assert.equal(await res.text(), 'Bad Request');
    assert.equal((await info('user=plain-get')).claims.length, 1);
    const noAuth = await fetch(`${http}/connect`);
    assert.equal(await noAuth.text(), errorBody('MISSING_AUTHENTICATION', 'Did not provide an authentication method'));
    await connect(`claim=${made.id as string}`);
  });

  test('POST /send: text to a user\'s sockets, to one session, binary to one connection; raw bodies, in order', async () => {
    const web = await connectAs('sender', 'web');
    const phone = await connectAs('sender', 'phone');
    const bare = await connectAs('sender');
    const other = await connectAs('someone-else');
    const all = await call(http, 'POST', '/send', 'user=sender&type=text', { body: 'to all' });
    assert.equal(all.text, '{"success":true}');
    assert.equal(all.status, 200);
    assert.equal((await call(http, 'POST', '/send', 'user=sender&session=web&type=1', { body: '{"not":"parsed"}' })).status, 200);
    const { connections } = await info('user=sender&session=phone');
    const bytes = Uint8Array.from([1, 2, 3, 0, 255]);
    assert.equal((await call(http, 'POST', '/send', `id=${connections[0]?.id as string}&type=binary`, { body: bytes })).status, 200);
    assert.equal((await call(http, 'POST', '/send', 'user=sender&session=phone&type=2', { body: '' })).status, 200);
    const webFrames = await web.waitFor(2);
    assert.deepEqual(webFrames.map((f) => [f.data.toString(), f.binary]), [['to all', false], ['{"not":"parsed"}', false]]);
    const phoneFrames = await phone.waitFor(3);
    assert.equal(phoneFrames[0]?.data.toString(), 'to all');
    assert.deepEqual([...(phoneFrames[1]?.data ?? [])], [1, 2, 3, 0, 255]);
    assert.equal(phoneFrames[1]?.binary, true);
    assert.deepEqual([phoneFrames[2]?.data.length, phoneFrames[2]?.binary], [0, true]);
    // 50 sends in a row arrive in order (dSock may reorder them).
    for (let i = 0; i < 50; i++) await call(http, 'POST', '/send', 'user=sender&session=web&type=text', { body: String(i) });
    const ordered = await web.waitFor(52);
    assert.deepEqual(ordered.slice(2).map((f) => f.data.toString()), Array.from({ length: 50 }, (_, i) => String(i)));
    assert.deepEqual(bare.frames.map((f) => f.data.toString()), ['to all']);
    assert.deepEqual(other.frames, []);
  });

  test('POST /send is live only: a message for nobody is gone; an unknown target is still a success', async () => {
    assert.equal((await call(http, 'POST', '/send', 'user=nobody-yet&type=text', { body: 'lost' })).text, '{"success":true}');
    assert.equal((await call(http, 'POST', '/send', 'id=zz-1&type=text', { body: 'lost' })).text, '{"success":true}');
    const late = await connectAs('nobody-yet');
    await call(http, 'POST', '/send', 'user=nobody-yet&type=text', { body: 'live' });
    const frames = await late.waitFor(1);
    assert.deepEqual(frames.map((f) => f.data.toString()), ['live']);
  });

  test('POST /send errors: MISSING_CONNECTION_OR_USER first, then INVALID_MESSAGE_TYPE; 413 MESSAGE_TOO_LARGE past WS_MAX_BODY', async () => {
    const missing = ['MISSING_CONNECTION_OR_USER', 'Connection ID or user ID is missing'] as const;
    await expectError('POST', '/send', '', ...missing);
    await expectError('POST', '/send', 'type=&user=', ...missing);
    await expectError('POST', '/send', 'session=s&type=TEXT', ...missing);
    const badType = ['INVALID_MESSAGE_TYPE', 'Invalid message type, must be text or binary'] as const;
    await expectError('POST', '/send', 'id=a&type=&user=', ...badType);
    await expectError('POST', '/send', 'user=u&type=TEXT', ...badType);
    const big = await call(http, 'POST', '/send', 'user=u&type=text', { body: 'x'.repeat(2048) });
    assert.equal(big.status, 413);
    assert.equal(big.text, errorBody('MESSAGE_TOO_LARGE', 'Message is too large'));
  });

  test('POST /disconnect: closes with 1000 by user, by session, by id; drops the named claims unless keepClaims', async () => {
    const web = await connectAs('leaver', 'web');
    const phone = await connectAs('leaver', 'phone');
    await claim('user=leaver&session=web');
    await claim('user=leaver&session=phone');
    await claim('user=leaver');
    // One session: its socket and its claims only.
    assert.equal((await call(http, 'POST', '/disconnect', 'user=leaver&session=web')).text, '{"success":true}');
    assert.deepEqual(await web.closed, { code: 1000, reason: '' });
    let left = await info('user=leaver');
    assert.deepEqual(left.connections.map((c) => c.session), ['phone']);
    assert.deepEqual(left.claims.map((c) => c.session ?? null).sort(), [null, 'phone']);
    // keepClaims=true: the socket goes, the claims stay.
    assert.equal((await call(http, 'POST', '/disconnect', 'user=leaver&keepClaims=true')).status, 200);
    assert.deepEqual(await phone.closed, { code: 1000, reason: '' });
    left = await info('user=leaver');
    assert.deepEqual(left.connections, []);
    assert.equal(left.claims.length, 2);
    // By id alone: no claim is touched.
    const byId = await connectAs('leaver', 'tablet');
    const { connections } = await info('user=leaver');
    assert.equal((await call(http, 'POST', '/disconnect', `id=${connections[0]?.id as string}`)).status, 200);
    assert.equal((await byId.closed).code, 1000);
    assert.equal((await info('user=leaver')).claims.length, 2);
    // By user: every claim of the user, session ones included.
    await call(http, 'POST', '/disconnect', 'user=leaver');
    assert.deepEqual((await info('user=leaver')).claims, []);
    await expectError('POST', '/disconnect', 'session=s&keepClaims=true', 'MISSING_CONNECTION_OR_USER', 'Connection ID or user ID is missing');
    assert.equal((await call(http, 'POST', '/disconnect', 'user=nobody-at-all')).text, '{"success":true}');
  });

  test('GET /info: both arrays always; claims by user/session even with id; expired claims left out; client frames ignored', async () => {
    assert.equal((await call(http, 'GET', '/info', 'user=info-missing')).text, '{"claims":[],"connections":[],"success":true}');
    await expectError('GET', '/info', '', 'MISSING_CONNECTION_OR_USER', 'Connection ID or user ID is missing');
    await expectError('GET', '/info', 'session=s', 'MISSING_CONNECTION_OR_USER', 'Connection ID or user ID is missing');
    const socket = await connectAs('info-user', 's');
    socket.ws.send('ignored');
    socket.ws.send(Buffer.from([1, 2]));
    const made = await claim('user=info-user&session=s');
    await claim('user=info-user&session=other');
    const { connections } = await info('user=info-user');
    const byId = await info(`id=${connections[0]?.id as string}&user=info-user&session=s`);
    assert.equal(byId.connections.length, 1);
    assert.deepEqual(byId.claims.map((c) => c.id), [made.id]);
    assert.deepEqual((await info(`id=${connections[0]?.id as string}`)).claims, []);
    assert.deepEqual((await info('id=nope-1&user=info-user')).connections, []);
    const short = await claim('user=info-expiring&duration=1');
    assert.equal((await info('user=info-expiring')).claims.length, 1);
    await new Promise((resolve) => setTimeout(resolve, (short.expiration as number) * 1000 - Date.now() + 50));
    assert.deepEqual((await info('user=info-expiring')).claims, []);
    // The socket is still open after its frames.
    assert.equal((await info('user=info-user&session=s')).connections.length, 1);
  });
});
