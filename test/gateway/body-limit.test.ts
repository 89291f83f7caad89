// A body over WS_MAX_BODY, sent the way backends send it (Node's http client, which uploads while
// it reads): the 413 must reach the client, not a reset (EPIPE, ECONNRESET) from a close while the
// client is still sending. The gateway reads and drops the rest, within a bound, before closing.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { createConnection } from 'node:net';
import { once } from 'node:events';
import { BASIC, gatewayForSuite } from '../helpers/gateway.js';

interface Outcome { status?: number; body?: string; error?: string }

/** POSTs `total` bytes in 64 KiB writes, honouring backpressure, as a streaming upload does. */
function upload(port: number, total: number, headers: Record<string, string>): Promise<Outcome> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/', headers: { authorization: BASIC, ...headers } });
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message }));
    });
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message }));
    const chunk = Buffer.alloc(64 * 1024, 'x');
    let sent = 0;
    const pump = (): void => {
      while (sent < total) {
        sent += chunk.length;
        if (!req.write(chunk)) { req.once('drain', pump); return; }
      }
      req.end();
    };
    pump();
  });
}

describe('bodies over WS_MAX_BODY', () => {
  const suite = gatewayForSuite({ WS_MAX_BODY: '64KiB' });
  const BIG = 8 * 1024 * 1024;

  for (const [name, headers] of [['chunked', {}], ['with a declared Content-Length', { 'content-length': String(BIG) }]] as const) {
    test(`Node's http client uploading 8 MiB ${name} reads the 413 and its error`, async () => {
      const outcome = await upload(suite.gw.port, BIG, headers);
      assert.equal(outcome.error, undefined, `the client saw ${outcome.error} instead of the answer`);
      assert.equal(outcome.status, 413);
      assert.equal(JSON.parse(outcome.body as string).error, 'BODY_TOO_LARGE');
    });
  }

  test('a client that declares a huge body and stops sending is closed within the linger time', { timeout: 20_000 }, async () => {
    const socket = createConnection(suite.gw.port, '127.0.0.1');
    let received = '';
    socket.setEncoding('latin1').on('data', (d: string) => { received += d; });
    socket.on('error', () => undefined);
    socket.write(`POST / HTTP/1.1\r\nHost: x\r\nAuthorization: ${BASIC}\r\nContent-Length: 999999999\r\n\r\n${'x'.repeat(1000)}`);
    const started = Date.now();
    await once(socket, 'close');
    assert.match(received, /^HTTP\/1\.1 413 /);
    assert.ok(Date.now() - started < 9_000, `closed after ${Date.now() - started} ms: the linger bound (5 s), not uWS's idle timeout`);
  });

  test('the gateway still serves after all that', async () => {
    assert.equal((await suite.gw.publish({ key: 'after', value: 1 })).status, 202);
  });
});
