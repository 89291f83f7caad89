// What every seed listener shares, against the real gateway: several listeners in one process, each
// on its own port with the main listener's TLS, apps kept apart, and shutdown closing their sockets
// with 1001.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'node:https';
import WebSocket from 'ws';
import { SignJWT } from 'jose';
import { startGateway } from '../helpers/gateway.js';
import { listenerPort } from '../helpers/seed.js';
import { NOTIFLUX_PUBLIC_KEY_B64, notifluxToken } from '../helpers/notiflux.js';

const FIXTURES = fileURLToPath(new URL('../../../test/fixtures/tls/', import.meta.url));
const CA = await readFile(join(FIXTURES, 'ca.crt'));
const SECRET = 'listener-test-secret-0123456789abcdef';

function httpsStatus(port: number, method: string, path: string, body?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, ca: CA, headers: { 'content-type': 'application/json' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function wss(url: string, headers: Record<string, string> = {}): Promise<{ ws: WebSocket; texts: string[]; next: () => Promise<string>; closed: Promise<number> }> {
  const ws = new WebSocket(url, { ca: CA, headers });
  const texts: string[] = [];
  let waiter: (() => void) | undefined;
  ws.on('message', (d) => { texts.push(d.toString()); waiter?.(); });
  const closed = new Promise<number>((resolve) => ws.once('close', resolve));
  const next = (): Promise<string> => new Promise((resolve) => {
    const count = texts.length;
    waiter = () => { if (texts.length > count) resolve(texts[count] as string); };
  });
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ ws, texts, next, closed }));
    ws.once('error', reject);
  });
}

test('Philote and notiflux in one process over TLS: each on its port, apps apart, closed with 1001 on SIGTERM', async () => {
  const gw = await startGateway({
    WS_LOGIN: '', WS_PASSWORD: '', WS_TLS_CERT: join(FIXTURES, 'server.crt'), WS_TLS_KEY: join(FIXTURES, 'server.key'),
    WS_PHILOTE_PORT: '0', WS_PHILOTE_SECRET: SECRET, WS_NOTIFLUX_PORT: '0', WS_NOTIFLUX_JWT_PUBLIC_KEY_B64: NOTIFLUX_PUBLIC_KEY_B64,
  });
  let stopped = false;
  try {
    const philote = await listenerPort(gw, 'philote');
    const notiflux = await listenerPort(gw, 'notiflux');
    assert.notEqual(philote, notiflux);
    assert.equal(await httpsStatus(gw.port, 'GET', '/readyz'), 200);
    assert.equal(await httpsStatus(notiflux, 'GET', '/health'), 200);
    const key = await new SignJWT({ read: ['same'], write: ['same'] }).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(SECRET));
    const reader = await wss(`wss://127.0.0.1:${philote}/`, { Authorization: key });
    const writer = await wss(`wss://127.0.0.1:${philote}/`, { Authorization: key });
    const subscriber = await wss(`wss://127.0.0.1:${notiflux}/ws`);
    subscriber.ws.send(`/subscribe same ${notifluxToken('subscribe', ['same'])}`);
    await new Promise<void>((resolve) => { subscriber.ws.once('pong', () => resolve()); subscriber.ws.ping(); });
    // A topic of the same name in each app: a Philote frame reaches Philote's reader only, a
    // notiflux broadcast notiflux's subscriber only.
    const philoteFrame = reader.next();
    writer.ws.send('{"channel":"same","data":"philote"}');
    assert.equal(JSON.parse(await philoteFrame).data, 'philote');
    const notifluxFrame = subscriber.next();
    assert.equal(await httpsStatus(notiflux, 'POST', '/broadcast', JSON.stringify({ topic: 'same', message: 'notiflux', token: notifluxToken('broadcast', ['same']) })), 200);
    assert.equal(await notifluxFrame, 'notiflux');
    assert.deepEqual(subscriber.texts, ['notiflux']);
    assert.equal(reader.texts.length, 1);
    assert.equal(writer.texts.length, 0);
    stopped = true;
    const [exit, ...codes] = await Promise.all([gw.stop(), reader.closed, writer.closed, subscriber.closed]);
    assert.equal(exit, 0);
    assert.deepEqual(codes, [1001, 1001, 1001]);
  } finally {
    if (!stopped) await gw.stop();
  }
});

test('a seed listener selects no subprotocol, as the seeds do: a client offering two gets a valid 101 without one', async () => {
  const gw = await startGateway({ WS_LOGIN: '', WS_PASSWORD: '', WS_NOTIFLUX_PORT: '0', WS_NOTIFLUX_JWT_PUBLIC_KEY_B64: NOTIFLUX_PUBLIC_KEY_B64 });
  try {
    const port = await listenerPort(gw, 'notiflux');
    const { request: plain } = await import('node:http');
    const headers = await new Promise<Record<string, unknown>>((resolve, reject) => {
      const req = plain({ host: '127.0.0.1', port, path: '/ws', headers: {
        Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Protocol': 'one, two',
      } });
      req.on('upgrade', (res, socket) => { socket.destroy(); resolve(res.headers); });
      req.on('response', (res) => reject(new Error(`no upgrade: ${res.statusCode}`)));
      req.on('error', reject);
      req.end();
    });
    assert.equal(headers['sec-websocket-accept'], 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
    assert.equal(headers['sec-websocket-protocol'], undefined);
  } finally {
    await gw.stop();
  }
});
