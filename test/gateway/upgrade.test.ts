// WebSocket upgrades through forward auth, against the real gateway and a real auth backend.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createConnection } from 'node:net';
import { json, startAuthBackend, type AuthBackend } from '../helpers/auth-backend.js';
import { startGateway, withGateway, type GatewayProcess } from '../helpers/gateway.js';
import { connect, refusal } from '../helpers/client.js';
import { requestText, VALID_HANDSHAKE } from '../helpers/raw-http.js';

describe('upgrade and forward auth', () => {
  let auth: AuthBackend;
  let gw: GatewayProcess;
  before(async () => {
    auth = await startAuthBackend();
    gw = await startGateway({
      WS_AUTH_URL: auth.url, WS_AUTH_TIMEOUT: '400ms', WS_ALLOWED_ORIGINS: 'https://app.example.com',
    });
  });
  after(async () => {
    assert.equal(await gw.stop(), 0);
    await auth.close();
  });

  test('the backend sees cookies, credentials and the client URI, never Host or Sec-WebSocket-*', async () => {
    const before = auth.requests.length;
    const socket = await connect(gw.ws('/ws?email=ann@example.com&token=abc'), {
      cookie: 'sessionid=s3cr3t-cookie', authorization: 'Bearer t0ken', origin: 'https://app.example.com', 'x-forwarded-for': '6.6.6.6',
    });
    const seen = auth.requests[before]!;
    assert.equal(seen.method, 'GET');
    assert.equal(seen.headers.cookie, 'sessionid=s3cr3t-cookie');
    assert.equal(seen.headers.authorization, 'Bearer t0ken');
    assert.equal(seen.headers['x-forwarded-uri'], '/ws?email=ann@example.com&token=abc');
    assert.equal(seen.headers['x-forwarded-proto'], 'http');
    assert.equal(seen.headers['x-forwarded-host'], `127.0.0.1:${gw.port}`);
    // The test client is on loopback, a trusted proxy by default: its X-Forwarded-For is kept and appended to.
    assert.equal(seen.headers['x-forwarded-for'], '6.6.6.6, 127.0.0.1');
    assert.notEqual(seen.headers.host, `127.0.0.1:${gw.port}`);
    assert.equal(Object.keys(seen.headers).filter((h) => h.startsWith('sec-websocket')).length, 0);
    assert.equal(seen.headers.upgrade, undefined);
    await socket.close();
    assert.doesNotMatch(gw.output(), /s3cr3t-cookie|t0ken/);
  });

  test('both /ws and / (Goctopus README) accept sockets', async () => {
    const a = await connect(gw.ws('/?email=root@example.com'));
    const r = await gw.publish({ key: 'root@example.com', value: 'via-root' });
    assert.equal(r.json.delivered, 1);
    assert.equal((await a.waitForFrames(1))[0]!.payload, 'via-root');
    await a.close();
  });

  const mapped: Array<[string, number, string]> = [
    ['401 from the backend', 401, 'AUTH_DENIED'],
    ['403 from the backend', 403, 'AUTH_FORBIDDEN'],
    ['404 from the backend', 502, 'AUTH_BACKEND_NOT_FOUND'],
    ['429 from the backend', 503, 'AUTH_BACKEND_UNAVAILABLE'],
    ['500 from the backend', 503, 'AUTH_BACKEND_UNAVAILABLE'],
    ['302 from the backend', 502, 'AUTH_BACKEND_INVALID'],
  ];
  for (const [name, status, code] of mapped) {
    test(`${name}: the client gets ${status} ${code}`, async () => {
      const backendStatus = name.split(' ')[0];
      const r = await refusal(gw.ws(`/ws?status=${backendStatus}`));
      assert.equal(r.status, status);
      assert.equal(JSON.parse(r.body).error, code);
      if (status === 503) assert.ok(Number(r.headers['retry-after']) > 0);
      await gw.waitForLog((l) => l.msg === 'upgrade refused' && l.code === code);
    });
  }

  test('a 2xx HTML body is 502, zero keys 403', async () => {
    auth.setHandler((_req, res) => { res.writeHead(200, { 'content-type': 'text/html' }); res.end('<html>login</html>'); });
    assert.equal((await refusal(gw.ws('/ws'))).status, 502);
    auth.setHandler((_req, res) => json(res, 200, { user: { email: '' } }));
    assert.equal(JSON.parse((await refusal(gw.ws('/ws'))).body).error, 'AUTH_NO_KEYS');
    auth.setHandler(undefined);
  });

  test('a backend hanging past WS_AUTH_TIMEOUT gives 503', async () => {
    auth.setHandler(() => { /* never answers */ });
    const r = await refusal(gw.ws('/ws?email=slow@example.com'));
    assert.equal(r.status, 503);
    auth.setHandler(undefined);
  });

  test('another origin is refused with 403 before the backend is asked; no Origin passes', async () => {
    const before = auth.requests.length;
    const r = await refusal(gw.ws('/ws?email=x@example.com'), { origin: 'https://evil.example' });
    assert.equal(r.status, 403);
    assert.equal(JSON.parse(r.body).error, 'ORIGIN_NOT_ALLOWED');
    assert.equal(auth.requests.length, before);
    // The refusal log names the origin (truncated: it is the client's text).
    await gw.waitForLog((l) => l.msg === 'upgrade refused' && l.origin === 'https://evil.example');
    await refusal(gw.ws('/ws'), { origin: `https://${'a'.repeat(300)}.example` });
    const long = await gw.waitForLog((l) => l.msg === 'upgrade refused' && typeof l.origin === 'string' && l.origin.startsWith('https://aaa'));
    assert.equal((long.origin as string).length, 200);
    const native = await connect(gw.ws('/ws?email=x@example.com'));
    await native.close();
  });
});

test('a backend that is down gives 503', async () => {
  const auth = await startAuthBackend();
  const url = auth.url;
  await auth.close();
  const gw = await startGateway({ WS_AUTH_URL: url });
  try {
    assert.equal((await refusal(gw.ws('/ws?email=a@example.com'))).status, 503);
  } finally {
    await gw.stop();
  }
});

test('a client that leaves during auth frees its WS_WORKERS slot at once', async () => {
  await withGateway({ WS_WORKERS: '1', WS_AUTH_TIMEOUT: '30s' }, async (gw, auth) => {
    auth.setHandler((req, res) => {
      // The first caller hangs; every later one is answered.
      if ((req.headers['x-forwarded-uri'] ?? '').includes('hang')) return;
      json(res, 200, { user: { email: 'b@example.com' } });
    });
    const raw = createConnection(gw.port, '127.0.0.1');
    raw.write(requestText('/ws?hang=1', VALID_HANDSHAKE));
    await auth.waitForRequests(1);
    raw.destroy();
    // With the one slot still taken this would wait 30 s; freed, it opens at once.
    const socket = await connect(gw.ws('/ws?email=b@example.com'));
    await socket.close();
    assert.equal(auth.requests.length, 2);
  });
});

test('WS_MAX_CONNECTIONS refuses the next upgrade with 503', async () => {
  await withGateway({ WS_MAX_CONNECTIONS: '2' }, async (gw) => {
    const a = await connect(gw.ws('/ws?email=a@example.com'));
    const b = await connect(gw.ws('/ws?email=b@example.com'));
    const r = await refusal(gw.ws('/ws?email=c@example.com'));
    assert.equal(r.status, 503);
    assert.equal(JSON.parse(r.body).error, 'TOO_MANY_CONNECTIONS');
    await a.close();
    await gw.waitForLog((l) => l.msg === 'socket closed');
    const c = await connect(gw.ws('/ws?email=c@example.com'));
    await Promise.all([b.close(), c.close()]);
  });
});

test('SIGTERM closes sockets with 1001 and exits 0', async () => {
  await withGateway({}, async (gw) => {
    const socket = await connect(gw.ws('/ws?email=a@example.com'));
    const code = gw.stop('SIGTERM');
    assert.equal(await socket.closed, 1001);
    assert.equal(await code, 0);
  });
});

test('idle sockets are pinged automatically (WS_IDLE_TIMEOUT at its 8 s minimum)', async () => {
  await withGateway({ WS_IDLE_TIMEOUT: '8s' }, async (gw) => {
    const socket = await connect(gw.ws('/ws?email=a@example.com'));
    await new Promise<void>((resolve) => socket.ws.once('ping', () => resolve()));
    await socket.close();
  });
});

test('oversized inbound frames close the socket (WS_MAX_PAYLOAD)', async () => {
  await withGateway({ WS_MAX_PAYLOAD: '1KiB' }, async (gw) => {
    const socket = await connect(gw.ws('/ws?email=a@example.com'));
    socket.ws.send('x'.repeat(2048));
    const code = await socket.closed;
    assert.notEqual(code, 1000);
  });
});

test('sockets upgraded after auth stay open, and uWS warns about corking at most once', async () => {
  await withGateway({}, async (gw) => {
    const first = await connect(gw.ws('/ws?email=crowd'));
    // Concurrent upgrades, each completed after its auth answer (outside uWS's own callback).
    const crowd = await Promise.all(Array.from({ length: 60 }, () => connect(gw.ws('/ws?email=crowd'))));
    const r = await gw.publish({ key: 'crowd', value: 'all' });
    assert.equal(r.json.delivered, 61);
    for (const socket of [first, ...crowd]) assert.deepEqual((await socket.waitForFrames(1)).map((f) => f.payload), ['all']);
    // The first upgrade had no other socket to run inside (see upgradeLater): one warning, no more.
    assert.ok((gw.output().match(/Warning: uWS/g) ?? []).length <= 1, gw.output());
    await Promise.all([first, ...crowd].map((s) => s.close()));
  });
});
