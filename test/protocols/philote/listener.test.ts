// Philote's listener against the real gateway (seed listeners only: no WS_AUTH_URL, no WS_LOGIN):
// tokens from the header or `auth` on any path, publish within `write`, delivery within `read`, no
// echo, the issuer, bad and expired keys, /api, the origin check and MAX_CONNECTIONS.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SignJWT } from 'jose';
import { startGateway, type GatewayProcess } from '../../helpers/gateway.js';
import { listenerPort, refused, textSocket, type TextSocket } from '../../helpers/seed.js';

const SECRET = 'philote-test-secret-0123456789abcdef';
const nowS = (): number => Math.floor(Date.now() / 1000);

function key(claims: Record<string, unknown>, secret = SECRET): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(secret));
}

const ISSUER = /^[a-z0-9]+-[a-z0-9]+$/;

function pong(socket: TextSocket): Promise<void> {
  return new Promise((resolve) => {
    socket.ws.once('pong', () => resolve());
    socket.ws.ping();
  });
}

describe('Philote listener', () => {
  let gw: GatewayProcess;
  let url: string;
  let http: string;
  const open: TextSocket[] = [];
  const connect = async (claims: Record<string, unknown>, path = '/'): Promise<TextSocket> => {
    const socket = await textSocket(`${url}${path}`, { Authorization: `Bearer ${await key(claims)}` });
    open.push(socket);
    return socket;
  };

  before(async () => {
    gw = await startGateway({ WS_LOGIN: '', WS_PASSWORD: '', WS_PHILOTE_PORT: '0', WS_PHILOTE_SECRET: SECRET, WS_PHILOTE_CHECK_ORIGIN: 'true' });
    const port = await listenerPort(gw, 'philote');
    url = `ws://127.0.0.1:${port}`;
    http = `http://127.0.0.1:${port}`;
  });
  after(async () => {
    await Promise.all(open.map((s) => s.close()));
    await gw.stop();
  });

  test('a frame on a written channel reaches every reader of it but the sender, as {"issuer","channel","data"}', async () => {
    const reader = await connect({ read: ['news'], write: [] });
    const writer = await connect({ read: ['news'], write: ['news'] });
    const other = await connect({ read: ['news'], write: ['news'] });
    // The Go client's field names, and an extra field Philote ignores.
    writer.ws.send(JSON.stringify({ Channel: 'news', Data: 'one', Event: 'x' }));
    const [first] = await reader.waitFor(1);
    assert.match(first as string, /^\{"issuer":"[a-z0-9-]+","channel":"news","data":"one"\}\n$/);
    const issuer = (JSON.parse(first as string) as { issuer: string }).issuer;
    assert.match(issuer, ISSUER);
    // The sender's next frame names the same issuer; another sender's another.
    other.ws.send(JSON.stringify({ channel: 'news', data: 'two' }));
    const [, second] = await reader.waitFor(2);
    assert.notEqual(JSON.parse(second as string).issuer, issuer);
    // The writer got the other's message only: its own never came back.
    const [mine] = await writer.waitFor(1);
    assert.deepEqual(JSON.parse(mine as string), { issuer: JSON.parse(second as string).issuer, channel: 'news', data: 'two' });
    assert.equal(writer.texts.length, 1);
  });

  test('a client that may read but not write publishes nothing; readers of other channels get nothing', async () => {
    const readOnly = await connect({ read: ['room'], write: [] });
    const elsewhere = await connect({ read: ['lobby'], write: [] });
    const writer = await connect({ read: [], write: ['room'] });
    const reader = await connect({ read: ['room'], write: [] });
    readOnly.ws.send(JSON.stringify({ channel: 'room', data: 'refused' }));
    // The pong comes after the gateway read the frame before it: the refused frame was handled.
    await pong(readOnly);
    writer.ws.send(JSON.stringify({ channel: 'room', data: 'sentinel' }));
    const [got] = await reader.waitFor(1);
    assert.equal(JSON.parse(got as string).data, 'sentinel');
    await readOnly.waitFor(1);
    assert.deepEqual(readOnly.texts.map((t) => JSON.parse(t).data), ['sentinel']);
    assert.equal(reader.texts.length, 1);
    assert.deepEqual(elsewhere.texts, []);
  });

  test('the `auth` query parameter on any path; empty data and channel are left out as Go omits them', async () => {
    const reader = await textSocket(`${url}/some/path?auth=${await key({ read: ['c'], write: [] })}`);
    open.push(reader);
    const writer = await connect({ read: [], write: ['c'] }, '/other');
    writer.ws.send('{"channel":"c","data":""}');
    const [frame] = await reader.waitFor(1);
    assert.match(frame as string, /^\{"issuer":"[a-z0-9-]+","channel":"c"\}\n$/);
  });

  test('a frame that is not JSON drops the connection without a close frame', async () => {
    const socket = await connect({ read: [], write: [] });
    socket.ws.send('not json');
    assert.equal(await socket.closed, 1006);
  });

  test('a bad key is answered 200 with jwt-go\'s text and no upgrade: wrong secret, expired, none', async () => {
    const wrong = await refused(url, { Authorization: `Bearer ${await key({ read: ['c'] }, 'another-secret-0123456789abcdef')}` });
    assert.deepEqual(wrong, { status: 200, body: 'signature is invalid' });
    const expired = await refused(url, { Authorization: `Bearer ${await key({ read: ['c'], exp: nowS() - 10 })}` });
    assert.equal(expired.status, 200);
    assert.match(expired.body, /^token is expired by \d+s$/);
    const none = await refused(`${url}/x`);
    assert.deepEqual(none, { status: 200, body: 'token contains an invalid number of segments' });
  });

  test('CHECK_ORIGIN: an Origin naming another host is refused 403 with gorilla\'s text', async () => {
    const token = await key({ read: ['c'] });
    const answer = await refused(url, { Authorization: `Bearer ${token}`, Origin: 'http://evil.example' });
    assert.deepEqual(answer, { status: 403, body: 'Forbidden\nwebsocket: request origin not allowed by Upgrader.CheckOrigin' });
    const same = await textSocket(url, { Authorization: `Bearer ${token}`, Origin: `http://${new URL(url).host}` });
    await same.close();
  });

  test('GET /api/info with an `api` key: the hive info; other /api paths 420; a key without api is not the API', async () => {
    const api = await key({ api: true });
    const info = await fetch(`${http}/api/info`, { headers: { Authorization: api } });
    assert.equal(info.status, 200);
    const body = await info.json() as Record<string, unknown>;
    assert.equal(body.max_connections, 255);
    assert.equal(body.check_origin, true);
    assert.equal(typeof body.connections, 'number');
    assert.deepEqual(Object.keys(body), ['version', 'go_arch', 'go_os', 'go_version', 'num_cpu', 'uptime_in_seconds', 'uptime_in_days', 'tcp_port', 'pid', 'connections', 'max_connections', 'read_buffer_size', 'write_buffer_size', 'check_origin']);
    const other = await fetch(`${http}/api/other`, { headers: { Authorization: api } });
    assert.equal(other.status, 420);
    const plain = await fetch(`${http}/api/info`, { headers: { Authorization: await key({ read: ['c'] }) } });
    assert.equal(plain.status, 400);
    assert.match(await plain.text(), /^Bad Request\nwebsocket: the client is not using the websocket protocol/);
    const bad = await fetch(`${http}/api/info?auth=nope`);
    assert.equal(bad.status, 200);
    assert.equal(await bad.text(), 'token contains an invalid number of segments');
  });

  test('the main port serves health, readiness and metrics only', async () => {
    assert.equal((await gw.request('GET', '/healthz')).status, 200);
    assert.equal((await gw.request('GET', '/readyz')).status, 200);
    const reader = await connect({ read: ['m'] });
    const metrics = await gw.request('GET', '/metrics');
    assert.equal(metrics.status, 200);
    // This test's socket at least (others of this file may still be closing).
    const open = /^octoway_listener_connections\{listener="philote"\} (\d+)$/m.exec(metrics.text);
    assert.ok(open !== null && Number(open[1]) >= 1, 'octoway_listener_connections{listener="philote"} counts the open socket');
    await reader.close();
    const publish = await gw.request('POST', '/', { body: '{"key":"k","value":1}' });
    assert.equal(publish.status, 404);
    assert.equal(publish.json.error, 'NOT_FOUND');
  });
});

describe('Philote listener: WS_PHILOTE_MAX_CONNECTIONS', () => {
  test('past the limit a connection is upgraded, then dropped; a place freed is taken again', async () => {
    const gw = await startGateway({ WS_LOGIN: '', WS_PASSWORD: '', WS_PHILOTE_PORT: '0', WS_PHILOTE_SECRET: SECRET, WS_PHILOTE_MAX_CONNECTIONS: '1' });
    try {
      const url = `ws://127.0.0.1:${await listenerPort(gw, 'philote')}`;
      const headers = { Authorization: `Bearer ${await key({ read: ['c'], write: ['c'] })}` };
      const first = await textSocket(url, headers);
      const second = await textSocket(url, headers);
      assert.equal(await second.closed, 1006);
      await gw.waitForLog((l) => l.msg === 'WS_PHILOTE_MAX_CONNECTIONS reached, dropping new connection');
      await first.close();
      const third = await textSocket(url, headers);
      const reader = await textSocket(url, headers).catch(() => undefined);
      // The third took the freed place: it stays open while the fourth is dropped.
      assert.equal(await reader?.closed, 1006);
      await third.close();
    } finally {
      await gw.stop();
    }
  });
});
