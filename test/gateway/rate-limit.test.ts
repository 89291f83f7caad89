// WS_RATE_LIMIT / WS_RATE_BURST against the real gateway: upgrades and API requests share one
// budget per client address, refused with 429, RATE_LIMITED and Retry-After before credentials or
// the auth endpoint; X-Forwarded-For picks the address only from a trusted peer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startExpectingFailure, withGateway, type GatewayProcess } from '../helpers/gateway.js';
import { connect, refusal } from '../helpers/client.js';

// A token per 100 s, a burst of 3: no refill worth a token happens during a test.
const LIMITED = { WS_RATE_LIMIT: '0.01', WS_RATE_BURST: '3' };

const post = (gw: GatewayProcess, from: string, auth = true): ReturnType<GatewayProcess['request']> =>
  gw.request('POST', '/', { auth, body: JSON.stringify({ key: 'k', value: 1 }), headers: { 'content-type': 'application/json', 'x-forwarded-for': from } });

test('POSTs: the burst passes, then 429 RATE_LIMITED with Retry-After, before credentials are checked', async () => {
  await withGateway(LIMITED, async (gw) => {
    const from = '203.0.113.10';
    for (let i = 0; i < 3; i++) assert.equal((await post(gw, from)).status, 202, `request ${i + 1} of the burst`);
    const limited = await post(gw, from);
    assert.equal(limited.status, 429);
    assert.equal(limited.json.error, 'RATE_LIMITED');
    assert.equal(limited.headers.get('retry-after'), '100');
    // Wrong credentials get 429 too: the budget is checked first (as Goctopus does).
    assert.equal((await post(gw, from, false)).status, 429);
    // GET and DELETE count as well; another address has its own budget; probes are never limited.
    assert.equal((await gw.request('GET', '/', { headers: { 'x-forwarded-for': from } })).status, 429);
    assert.equal((await post(gw, '203.0.113.11')).status, 202);
    for (let i = 0; i < 5; i++) assert.equal((await gw.request('GET', '/healthz', { headers: { 'x-forwarded-for': from } })).status, 200);
  });
});

test('upgrades: the burst opens, then 429 RATE_LIMITED with Retry-After and no auth call; the API shares the budget', async () => {
  await withGateway(LIMITED, async (gw, auth) => {
    const headers = { 'x-forwarded-for': '203.0.113.20' };
    const sockets = [];
    for (let i = 0; i < 2; i++) sockets.push(await connect(gw.ws('/ws?email=ann'), headers));
    assert.equal((await post(gw, '203.0.113.20')).status, 202, 'the third request of the burst is a POST');
    const calls = auth.requests.length;
    const refused = await refusal(gw.ws('/ws?email=ann'), headers);
    assert.equal(refused.status, 429);
    assert.equal(JSON.parse(refused.body).error, 'RATE_LIMITED');
    assert.equal(refused.headers['retry-after'], '100');
    assert.equal(auth.requests.length, calls, 'the auth endpoint is not called for a limited upgrade');
    // Another client still connects; the limited sockets already open stay open.
    const other = await connect(gw.ws('/ws?email=ann'), { 'x-forwarded-for': '203.0.113.21' });
    await gw.publish({ key: 'ann', value: 'to all three' });
    for (const s of [...sockets, other]) assert.equal((await s.waitForFrames(1))[0]?.payload, 'to all three');
    for (const s of [...sockets, other]) await s.close();
  });
});

test('X-Forwarded-For is ignored from a peer outside WS_TRUSTED_PROXIES: the peer address is the budget', async () => {
  await withGateway({ ...LIMITED, WS_TRUSTED_PROXIES: '10.0.0.0/8' }, async (gw) => {
    // Loopback is not trusted here: every request counts against 127.0.0.1, whatever it claims.
    for (let i = 0; i < 3; i++) assert.equal((await post(gw, `198.51.100.${i}`)).status, 202);
    assert.equal((await post(gw, '198.51.100.99')).status, 429);
    assert.equal((await refusal(gw.ws('/ws?email=ann'), { 'x-forwarded-for': '198.51.100.98' })).status, 429);
  });
});

test('WS_TRUST_PROXY_HEADERS=true believes every peer, with a warning at start', async () => {
  await withGateway({ ...LIMITED, WS_TRUSTED_PROXIES: '10.0.0.0/8', WS_TRUST_PROXY_HEADERS: 'true' }, async (gw) => {
    const warning = await gw.waitForLog((l) => l.msg.startsWith('WS_TRUST_PROXY_HEADERS=true'));
    assert.equal(warning.level, 40);
    for (let i = 0; i < 3; i++) assert.equal((await post(gw, '198.51.100.1')).status, 202);
    assert.equal((await post(gw, '198.51.100.1')).status, 429);
    // The leftmost address is the client's.
    assert.equal((await post(gw, '198.51.100.2, 198.51.100.1')).status, 202);
  });
});

test('WS_RATE_LIMIT unset: no request is ever limited', async () => {
  await withGateway({}, async (gw) => {
    const answers = await Promise.all(Array.from({ length: 50 }, () => post(gw, '203.0.113.30')));
    assert.ok(answers.every((a) => a.status === 202));
  });
});

test('a malformed WS_RATE_LIMIT, WS_RATE_BURST, WS_TRUST_PROXY_HEADERS or WS_COMPRESS stops the start with exit code 2', async () => {
  const { exitCode, stderr } = await startExpectingFailure({
    WS_AUTH_URL: 'http://127.0.0.1:9/auth', WS_LOGIN: 'l', WS_PASSWORD: 'p',
    WS_RATE_LIMIT: '-1', WS_RATE_BURST: '2.5', WS_TRUST_PROXY_HEADERS: 'maybe', WS_COMPRESS: 'gzip',
  });
  assert.equal(exitCode, 2);
  assert.match(stderr, /^octoway: WS_RATE_LIMIT="-1": expected requests per second per client address, a number from 0 \(off\)/m);
  assert.match(stderr, /^octoway: WS_RATE_BURST="2\.5": expected a whole number/m);
  assert.match(stderr, /^octoway: WS_TRUST_PROXY_HEADERS="maybe": expected true or false$/m);
  assert.match(stderr, /^octoway: WS_COMPRESS="gzip": expected true or false$/m);
});
