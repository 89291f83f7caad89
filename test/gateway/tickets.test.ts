// Single-use tickets against the real gateway: POST /tickets, a socket opened with ?ticket= (or
// dSock's ?claim=) under the ticket's user and keys, and each refusal with its code.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { BASIC, startExpectingFailure, startGateway, withGateway, type GatewayProcess } from '../helpers/gateway.js';
import { connect, refusal } from '../helpers/client.js';

const JWT = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1MSJ9.c2lnbmF0dXJl';
const json = { 'content-type': 'application/json' };

/** POST /tickets with `body` (any JSON, or raw text). */
async function post(gw: GatewayProcess, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: any; headers: Headers }> {
  const r = await gw.request('POST', '/tickets', { body: typeof body === 'string' ? body : JSON.stringify(body), headers: { ...json, ...headers } });
  return { status: r.status, json: r.json, headers: r.headers };
}

async function make(gw: GatewayProcess, body: Record<string, unknown>): Promise<string> {
  const r = await post(gw, body);
  assert.equal(r.status, 201, JSON.stringify(r.json));
  return r.json.ticket as string;
}

const errorOf = (r: { body: string }): string => (JSON.parse(r.body) as { error: string }).error;

describe('WS_AUTH_MODE=ticket (no WS_AUTH_URL needed)', () => {
  let gw: GatewayProcess;
  const made: string[] = [];
  before(async () => {
    gw = await startGateway({ WS_AUTH_MODE: 'ticket' });
  });
  after(async () => {
    assert.equal(await gw.stop(), 0);
    // The ticket value is a secret: no log line, at debug, carries any of them.
    const output = gw.output();
    for (const t of made) assert.ok(!output.includes(t), 'a ticket value was logged');
  });
  const ticket = async (body: Record<string, unknown>): Promise<string> => {
    const t = await make(gw, body);
    made.push(t);
    return t;
  };

  test('POST /tickets answers 201 with an unguessable ticket; it opens one socket under the user and its keys, then is gone', async () => {
    const before = Date.now();
    const r = await post(gw, { user: 'u1', session: 's1', keys: ['team:7', 'u1'], claims: { role: 'admin' } });
    assert.equal(r.status, 201);
    const { ticket: value, ...rest } = r.json as { ticket: string; expires_at: number };
    made.push(value);
    assert.match(value, /^[A-Za-z0-9_-]{32}$/, '192 random bits, base64url');
    assert.deepEqual(Object.keys(rest).sort(), ['expires_at', 'session', 'user']);
    assert.equal(r.json.user, 'u1');
    assert.equal(r.json.session, 's1');
    const lifetime = r.json.expires_at * 1000 - before;
    assert.ok(lifetime > 58_000 && lifetime <= 61_000, `default lifetime 60 s (got ${lifetime} ms)`);

    const socket = await connect(gw.ws(`/ws?ticket=${value}`));
    assert.equal((await gw.publish({ key: 'u1', value: 'to the user' })).json.delivered, 1);
    assert.equal((await gw.publish({ key: 'team:7', value: 'to the team' })).json.delivered, 1);
    const frames = await socket.waitForFrames(2);
    assert.deepEqual(frames.map((f) => f.payload), ['to the user', 'to the team']);

    const again = await refusal(gw.ws(`/ws?ticket=${value}`));
    assert.equal(again.status, 401);
    assert.equal(errorOf(again), 'TICKET_NOT_FOUND');
    assert.equal((await gw.request('GET', '/tickets?user=u1')).json.tickets.length, 0);
    await socket.close();
  });

  test('dSock\'s ?claim= works the same, with a ticket id the backend chose; an id in use is 409', async () => {
    const id = `chosen-${Date.now()}`;
    await ticket({ user: 'u2', id });
    const taken = await post(gw, { user: 'u3', id });
    assert.equal(taken.status, 409);
    assert.equal(taken.json.error, 'TICKET_ID_TAKEN');
    const socket = await connect(gw.ws(`/ws?claim=${id}`));
    assert.equal((await gw.publish({ key: 'u2', value: 1 })).json.delivered, 1, 'under the first ticket\'s user');
    await socket.close();
  });

  test('an expired ticket is refused; a socket opened with a ticket outlives the ticket\'s expiry', async () => {
    const short = await ticket({ user: 'u4', ttl: '300ms' });
    const used = await ticket({ user: 'u5', ttl: '300ms' });
    const socket = await connect(gw.ws(`/ws?ticket=${used}`));
    await sleep(400);
    const r = await refusal(gw.ws(`/ws?ticket=${short}`));
    assert.equal(r.status, 401);
    assert.equal(errorOf(r), 'TICKET_EXPIRED');
    assert.equal((await gw.publish({ key: 'u5', value: 'still here' })).json.delivered, 1);
    await socket.waitForFrames(1);
    await socket.close();
  });

  test('expires_at (unix seconds) sets the expiry; the answer gives it back', async () => {
    const at = Math.floor(Date.now() / 1000) + 3600;
    const r = await post(gw, { user: 'u6', expires_at: at });
    assert.equal(r.status, 201);
    made.push(r.json.ticket);
    assert.equal(r.json.expires_at, at);
    assert.equal(r.json.session, undefined);
  });

  test('GET lists a user\'s unused tickets (by session too); DELETE removes them and answers how many', async () => {
    const [a1, a2, b1] = [await ticket({ user: 'lister', session: 'a', keys: ['k'] }), await ticket({ user: 'lister', session: 'a' }), await ticket({ user: 'lister', session: 'b', claims: { x: 1 } })];
    const all = await gw.request('GET', '/tickets?user=lister');
    assert.equal(all.status, 200);
    assert.deepEqual(all.json.tickets.map((t: { ticket: string }) => t.ticket).sort(), [a1, a2, b1].sort());
    const onlyB = await gw.request('GET', '/tickets?user=lister&session=b');
    assert.deepEqual(onlyB.json.tickets.map((t: Record<string, unknown>) => ({ ...t, expires_at: typeof t.expires_at })), [
      { ticket: b1, user: 'lister', session: 'b', keys: [], claims: { x: 1 }, expires_at: 'number' },
    ]);
    const removed = await gw.request('DELETE', '/tickets?user=lister&session=a');
    assert.deepEqual([removed.status, removed.json], [200, { removed: 2 }]);
    assert.equal(errorOf(await refusal(gw.ws(`/ws?ticket=${a1}`))), 'TICKET_NOT_FOUND');
    assert.deepEqual((await gw.request('DELETE', '/tickets?user=lister')).json, { removed: 1 });
    assert.deepEqual((await gw.request('GET', '/tickets?user=lister')).json, { tickets: [] });
  });

  test('every bad field gets 400 with its own code, and nothing is made', async () => {
    const cases: Array<[unknown, string]> = [
      ['{not json', 'INVALID_JSON'],
      [[1, 2], 'INVALID_TICKET'],
      [{ user: 'u', expiration: 5 }, 'INVALID_TICKET'],
      [{}, 'INVALID_TICKET_USER'],
      [{ user: '' }, 'INVALID_TICKET_USER'],
      [{ user: 7 }, 'INVALID_TICKET_USER'],
      [{ user: 'x'.repeat(1025) }, 'INVALID_TICKET_USER'],
      [{ user: 'bad', session: '' }, 'INVALID_TICKET_SESSION'],
      [{ user: 'bad', keys: 'k' }, 'INVALID_TICKET_KEYS'],
      [{ user: 'bad', keys: [''] }, 'INVALID_TICKET_KEYS'],
      [{ user: 'bad', keys: Array.from({ length: 100 }, (_, i) => `k${i}`) }, 'INVALID_TICKET_KEYS'],
      [{ user: 'bad', claims: [1] }, 'INVALID_TICKET_CLAIMS'],
      [{ user: 'bad', ttl: 30 }, 'INVALID_TICKET_TTL'],
      [{ user: 'bad', ttl: '0' }, 'INVALID_TICKET_TTL'],
      [{ user: 'bad', ttl: '366d' }, 'INVALID_TICKET_TTL'],
      [{ user: 'bad', ttl: '1m', expires_at: 2_000_000_000 }, 'INVALID_TICKET_TTL'],
      [{ user: 'bad', expires_at: 1_000_000_000 }, 'INVALID_TICKET_EXPIRES_AT'],
      [{ user: 'bad', expires_at: '2000000000' }, 'INVALID_TICKET_EXPIRES_AT'],
      [{ user: 'bad', expires_at: 2_000_000_000.5 }, 'INVALID_TICKET_EXPIRES_AT'],
      [{ user: 'bad', id: '' }, 'INVALID_TICKET_ID'],
      [{ user: 'bad', id: 'has space' }, 'INVALID_TICKET_ID'],
      [{ user: 'bad', id: 'x'.repeat(201) }, 'INVALID_TICKET_ID'],
    ];
    for (const [body, code] of cases) {
      const r = await post(gw, body);
      assert.deepEqual([r.status, r.json.error], [400, code], JSON.stringify(body).slice(0, 80));
    }
    assert.deepEqual((await gw.request('GET', '/tickets?user=bad')).json, { tickets: [] });
    const query = await gw.request('GET', '/tickets');
    assert.deepEqual([query.status, query.json.error], [400, 'INVALID_QUERY']);
    const widened = await gw.request('DELETE', '/tickets?usr=lister');
    assert.deepEqual([widened.status, widened.json.error], [400, 'INVALID_QUERY']);
    const method = await gw.request('PUT', '/tickets');
    assert.deepEqual([method.status, method.json.error, method.headers.get('allow')], [405, 'METHOD_NOT_ALLOWED', 'GET, HEAD, POST, DELETE']);
  });

  test('the tickets API needs the admin credentials', async () => {
    for (const [method, path] of [['POST', '/tickets'], ['GET', '/tickets?user=u1'], ['DELETE', '/tickets?user=u1']] as const) {
      const r = await gw.request(method, path, { auth: false, headers: json, ...(method === 'POST' ? { body: '{"user":"u"}' } : {}) });
      assert.deepEqual([r.status, r.json.error], [401, 'UNAUTHORIZED'], `${method} ${path}`);
      assert.match(r.headers.get('www-authenticate') ?? '', /^Basic/);
    }
    const wrong = await post(gw, { user: 'u' }, { authorization: `Basic ${Buffer.from('backend:nope').toString('base64')}` });
    assert.equal(wrong.status, 401);
    assert.deepEqual(await gw.request('GET', '/tickets?user=u', { auth: false, headers: { authorization: BASIC } }).then((r) => r.status), 200);
  });

  test('upgrades with no ticket, a bad ticket parameter, or a JWT (jwt not listed) are refused with their codes', async () => {
    const cases: Array<[string, Record<string, string>, number, string]> = [
      ['/ws', {}, 401, 'AUTH_CREDENTIALS_MISSING'],
      ['/ws?ticket=', {}, 400, 'TICKET_INVALID'],
      ['/ws?ticket=a&claim=b', {}, 400, 'TICKET_INVALID'],
      ['/ws?ticket=never-made', {}, 401, 'TICKET_NOT_FOUND'],
      [`/ws?jwt=${JWT}`, {}, 401, 'AUTH_MODE_NOT_ENABLED'],
      ['/ws', { authorization: `Bearer ${JWT}` }, 401, 'AUTH_MODE_NOT_ENABLED'],
    ];
    for (const [path, headers, status, code] of cases) {
      const r = await refusal(gw.ws(path), headers);
      assert.deepEqual([r.status, errorOf(r)], [status, code], path);
    }
  });
});

test('forward,ticket: forward auth still serves plain upgrades; a failed ticket is refused, never handed to forward auth', async () => {
  await withGateway({ WS_AUTH_MODE: 'forward,ticket' }, async (gw, auth) => {
    const plain = await connect(gw.ws('/ws?email=fwd@example.com'));
    assert.equal(auth.requests.length, 1);
    const value = await make(gw, { user: 'tk' });
    const socket = await connect(gw.ws(`/ws?ticket=${value}&email=fwd@example.com`));
    const r = await refusal(gw.ws(`/ws?ticket=${value}&email=fwd@example.com`));
    assert.equal(errorOf(r), 'TICKET_NOT_FOUND');
    assert.equal(auth.requests.length, 1, 'the auth backend saw neither ticket upgrade');
    assert.equal((await gw.publish({ key: 'tk', value: 1 })).json.delivered, 1);
    await Promise.all([plain.close(), socket.close()]);
  });
});

test('the default (forward alone) is unchanged: a ?ticket= goes to the auth backend, and /tickets does not exist', async () => {
  await withGateway({}, async (gw, auth) => {
    const socket = await connect(gw.ws('/ws?ticket=whatever&email=a@example.com'));
    assert.equal(auth.requests.length, 1);
    const r = await post(gw, { user: 'u' });
    assert.deepEqual([r.status, r.json.error], [404, 'NOT_FOUND']);
    await socket.close();
  });
});

test('WS_INSECURE_NO_AUTH=true with ticket mode warns that anyone can create tickets, and so act as any user', async () => {
  await withGateway({ WS_INSECURE_NO_AUTH: 'true', WS_LOGIN: '', WS_PASSWORD: '', WS_AUTH_MODE: 'forward,ticket' }, async (gw) => {
    const warning = await gw.waitForLog((l) => /^WS_INSECURE_NO_AUTH=true/.test(l.msg));
    assert.match(warning.msg, /create tickets \(connect as any user/);
    const made = await gw.request('POST', '/tickets', { auth: false, body: JSON.stringify({ user: 'anyone' }) });
    assert.equal(made.status, 201, 'which is what the warning says');
  });
});

test('WS_AUTH_MODE is checked at start: unknown modes, and jwt without a WS_JWT_* key, stop the start with exit 2', async () => {
  const bogus = await startExpectingFailure({ WS_LOGIN: 'a', WS_PASSWORD: 'b', WS_AUTH_MODE: 'ticket,magic' });
  assert.equal(bogus.exitCode, 2);
  assert.match(bogus.stderr, /WS_AUTH_MODE="ticket,magic": expected a comma list of forward, jwt and ticket/);
  const jwt = await startExpectingFailure({ WS_LOGIN: 'a', WS_PASSWORD: 'b', WS_AUTH_MODE: 'jwt' });
  assert.equal(jwt.exitCode, 2);
  assert.match(jwt.stderr, /WS_JWT_SECRET.*WS_JWT_PUBLIC_KEY or WS_JWT_JWKS_URL \(WS_AUTH_MODE lists jwt\)/);
  const noUrl = await startExpectingFailure({ WS_LOGIN: 'a', WS_PASSWORD: 'b', WS_AUTH_MODE: 'forward,ticket' });
  assert.equal(noUrl.exitCode, 2);
  assert.match(noUrl.stderr, /WS_AUTH_URL is not set/);
  const dummy = await startExpectingFailure({ WS_INSECURE_NO_AUTH: 'true', WS_AUTHORIZER: 'dummy', WS_AUTH_URL: 'everyone', WS_AUTH_MODE: 'ticket' });
  assert.equal(dummy.exitCode, 2);
  assert.match(dummy.stderr, /WS_AUTHORIZER="dummy": expected proxy unless WS_AUTH_MODE lists forward/);
});
