// The publish API against the real gateway: bad input, batch bounds, bodies cut short or too large,
// credentials, routes. What a valid publish delivers or holds (keys, message_id, batches, expire) is the
// Broker contract's, run on memory and Redis (test/delivery/broker.contract.ts).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startAuthBackend, type AuthBackend } from '../helpers/auth-backend.js';
import { BASIC, startGateway, type GatewayProcess } from '../helpers/gateway.js';
import { connect } from '../helpers/client.js';
import { createConnection } from 'node:net';

/** Writes raw bytes and resolves with what comes back until the server closes or 2 s pass. */
function rawRequest(port: number, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const socket = createConnection(port, '127.0.0.1', () => socket.write(bytes));
    socket.on('data', (d) => { text += d.toString(); });
    socket.on('error', (err) => (text === '' ? reject(err) : resolve(text)));
    socket.on('close', () => resolve(text));
    socket.setTimeout(2000, () => socket.destroy());
  });
}

describe('publish API', () => {
  let auth: AuthBackend;
  let gw: GatewayProcess;
  before(async () => {
    auth = await startAuthBackend();
    gw = await startGateway({ WS_AUTH_URL: auth.url, WS_MAX_BODY: '4KiB', WS_MAX_BATCH: '5' });
  });
  after(async () => {
    assert.equal(await gw.stop(), 0);
    await auth.close();
  });

  test('a batch with one invalid message names its index and stores none', async () => {
    const r = await gw.publish({ messages: [{ key: 'held-batch', value: 1 }, { key: 'held-batch', value: 2, expire: 5 }] });
    assert.equal(r.status, 400);
    assert.equal(r.json.error, 'INVALID_EXPIRE');
    assert.match(r.json.message, /messages\[1\]/);
    assert.deepEqual((await gw.request('GET', '/?key=held-batch')).json, []);
    const tooMany = await gw.publish({ messages: Array.from({ length: 6 }, (_, i) => ({ key: 'k', value: i })) });
    assert.equal(tooMany.json.error, 'INVALID_BATCH');
  });

  test('a client gone mid-body (Content-Length or chunked) publishes nothing and breaks nothing', async () => {
    const errorsBefore = gw.logs.filter((l) => l.level >= 50).length;
    const head = `POST / HTTP/1.1\r\nHost: x\r\nAuthorization: ${BASIC}\r\n`;
    const partial = '{"key":"gone@example.com","value":"never';
    for (const bytes of [
      `${head}Content-Length: 200\r\n\r\n${partial}`,
      `${head}Transfer-Encoding: chunked\r\n\r\n${partial.length.toString(16)}\r\n${partial}\r\n`,
    ]) {
      await new Promise<void>((resolve, reject) => {
        const socket = createConnection(gw.port, '127.0.0.1', () => socket.write(bytes, () => setTimeout(() => socket.destroy(), 50)));
        socket.on('close', () => resolve());
        socket.on('error', reject);
      });
    }
    const socket = await connect(gw.ws('/ws?email=gone@example.com'));
    const r = await gw.publish({ key: 'gone@example.com', value: 'after' });
    assert.deepEqual([r.status, r.json.delivered], [202, 1]);
    assert.deepEqual((await socket.waitForFrames(1)).map((f) => f.payload), ['after']);
    assert.deepEqual((await gw.request('GET', '/')).json, []);
    assert.equal(gw.logs.filter((l) => l.level >= 50).length, errorsBefore, 'no error logged');
    await socket.close();
  });

  const invalid: Array<[string, string, string]> = [
    ['malformed JSON', '{"key": "a", "value": ', 'INVALID_JSON'],
    ['not an object', '[1, 2]', 'INVALID_MESSAGE'],
    ['missing key', '{"value": 1}', 'MISSING_KEY'],
    ['empty key', '{"key": "", "value": 1}', 'INVALID_KEY'],
    ['non-string key', '{"key": 7, "value": 1}', 'INVALID_KEY'],
    ['empty keys array', '{"keys": [], "value": 1}', 'INVALID_KEY'],
    ['null value', '{"key": "a", "value": null}', 'MISSING_VALUE'],
    ['missing value', '{"key": "a"}', 'MISSING_VALUE'],
    ['numeric expire', '{"key": "a", "value": 1, "expire": 30}', 'INVALID_EXPIRE'],
    ['unitless expire', '{"key": "a", "value": 1, "expire": "30"}', 'INVALID_EXPIRE'],
    ['garbage expire', '{"key": "a", "value": 1, "expire": "soon"}', 'INVALID_EXPIRE'],
    ['empty message_id', '{"key": "a", "value": 1, "message_id": ""}', 'INVALID_MESSAGE_ID'],
  ];
  for (const [name, body, code] of invalid) {
    test(`400 ${code} for ${name}, and nothing is held`, async () => {
      const r = await gw.request('POST', '/', { body });
      assert.equal(r.status, 400);
      assert.equal(r.json.error, code);
      assert.equal(typeof r.json.message, 'string');
      assert.deepEqual((await gw.request('GET', '/')).json, []);
    });
  }

  test('a body over WS_MAX_BODY gets 413, by Content-Length or streamed', async () => {
    const big = JSON.stringify({ key: 'a', value: 'x'.repeat(8000) });
    const r = await gw.request('POST', '/', { body: big });
    assert.equal(r.status, 413);
    assert.equal(r.json.error, 'BODY_TOO_LARGE');
    // Chunked, so the size is only known as it streams. A raw socket, because fetch gives up when
    // the server answers before the upload is finished (which is the point).
    const head = await rawRequest(gw.port, `POST / HTTP/1.1\r\nHost: x\r\nAuthorization: ${BASIC}\r\nTransfer-Encoding: chunked\r\n\r\n`
      + `3e8\r\n${'x'.repeat(1000)}\r\n`.repeat(10) + '0\r\n\r\n');
    assert.match(head, /^HTTP\/1\.1 413 /);
  });

  test('wrong or missing credentials: 401 with WWW-Authenticate on every endpoint of /', async () => {
    const wrong = `Basic ${Buffer.from('backend:wrong').toString('base64')}`;
    for (const method of ['POST', 'GET', 'DELETE']) {
      for (const headers of [{}, { authorization: wrong }, { authorization: 'Bearer x' }] as Array<Record<string, string>>) {
        const r = await gw.request(method, '/', { auth: false, headers, ...(method === 'POST' ? { body: '{"key":"a","value":1}' } : {}) });
        assert.equal(r.status, 401, `${method} ${JSON.stringify(headers)}`);
        assert.match(r.headers.get('www-authenticate') ?? '', /^Basic /);
        assert.equal(r.json.error, 'UNAUTHORIZED');
      }
    }
  });

  test('other methods 405, other paths 404, probes need no credentials', async () => {
    const put = await gw.request('PUT', '/', { body: '{}' });
    assert.equal(put.status, 405);
    assert.equal(put.headers.get('allow'), 'GET, HEAD, POST, DELETE');
    assert.equal((await gw.request('GET', '/nope')).status, 404);
    assert.equal((await gw.request('POST', '/api/publish', { body: '{}' })).json.error, 'NOT_FOUND');
    assert.equal((await gw.request('GET', '/healthz', { auth: false })).status, 200);
    assert.equal((await gw.request('GET', '/readyz', { auth: false })).status, 200);
    const probe = await gw.request('POST', '/healthz', { auth: false });
    assert.equal(probe.status, 405);
    assert.equal(probe.headers.get('allow'), 'GET, HEAD');
  });

  test('logs carry neither the password, the Authorization header, nor payloads', async () => {
    await gw.publish({ key: 'log-check', value: 'TOP-SECRET-PAYLOAD', expire: '0' });
    await gw.request('POST', '/', { body: 'not json TOP-SECRET-BODY' });
    const output = gw.output();
    assert.doesNotMatch(output, /pa55-w0rd-secret|TOP-SECRET|YmFja2VuZDpwYTU1/);
  });
});
