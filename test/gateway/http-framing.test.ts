// HTTP/1.1 framing against the real gateway over raw sockets, where a client library would hide
// the bytes: HEAD answers carry no body, conflicting Content-Lengths are refused, and the cases
// uWS decides in its C++ parser before any JavaScript runs get a prompt close, never a hang.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createConnection, type Socket } from 'node:net';
import { once } from 'node:events';
import { BASIC, gatewayForSuite } from '../helpers/gateway.js';

interface RawResponse { status: number; headers: Record<string, string>; body: string }

/** One connection: writes raw bytes, reads whole responses (by Content-Length, or none after a
 * HEAD, as RFC 9110 §9.3.2 says), and tells whether and when the server closed it. */
class RawConnection {
  readonly socket: Socket;
  #buffer = '';
  #closed = false;
  readonly #waiters: Array<() => void> = [];
  readonly closed: Promise<void>;

  constructor(port: number) {
    this.socket = createConnection(port, '127.0.0.1');
    this.socket.setEncoding('latin1');
    this.socket.on('data', (d: string) => { this.#buffer += d; this.#wake(); });
    this.socket.on('error', () => undefined); // a reset counts as a close: see `closed`
    this.closed = once(this.socket, 'close').then(() => { this.#closed = true; this.#wake(); });
  }

  write(bytes: string): void {
    this.socket.write(bytes, 'latin1');
  }

  /** The next whole response; rejects if the connection closes first or bytes that are not a
   * response arrive (a HEAD body taken for the next response, say). */
  async response(afterHead = false): Promise<RawResponse> {
    for (;;) {
      const parsed = this.#take(afterHead);
      if (parsed !== undefined) return parsed;
      if (this.#closed) throw new Error(`closed before a whole response; received ${JSON.stringify(this.#buffer)}`);
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  /** Whatever arrives until the server closes, rejecting if it has not closed in `withinMs`. */
  async untilClosed(withinMs: number): Promise<string> {
    const timer = setTimeout(() => this.socket.destroy(new Error('still open')), withinMs);
    await this.closed;
    clearTimeout(timer);
    if (this.socket.errored?.message === 'still open') throw new Error(`still open after ${withinMs} ms; received ${JSON.stringify(this.#buffer)}`);
    return this.#buffer;
  }

  end(): void {
    this.socket.destroy();
  }

  #take(afterHead: boolean): RawResponse | undefined {
    const end = this.#buffer.indexOf('\r\n\r\n');
    if (end < 0) {
      if (this.#buffer.length > 0 && !'HTTP/1.1 '.startsWith(this.#buffer.slice(0, 9))) throw new Error(`not a response: ${JSON.stringify(this.#buffer)}`);
      return undefined;
    }
    const [statusLine, ...lines] = this.#buffer.slice(0, end).split('\r\n');
    const match = /^HTTP\/1\.1 (\d{3}) /.exec(statusLine as string);
    if (match === null) throw new Error(`not a response: ${JSON.stringify(this.#buffer)}`);
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      const name = line.slice(0, colon).toLowerCase();
      if (name in headers) throw new Error(`repeated response header ${name}: ${JSON.stringify(this.#buffer)}`);
      headers[name] = line.slice(colon + 1).trim();
    }
    const length = afterHead ? 0 : Number(headers['content-length'] ?? 0);
    if (this.#buffer.length < end + 4 + length) return undefined;
    const body = this.#buffer.slice(end + 4, end + 4 + length);
    this.#buffer = this.#buffer.slice(end + 4 + length);
    return { status: Number(match[1]), headers, body };
  }

  #wake(): void {
    for (const resolve of this.#waiters.splice(0)) resolve();
  }
}

describe('HTTP framing', () => {
  const suite = gatewayForSuite();

  const get = (path: string, auth = ''): string => `GET ${path} HTTP/1.1\r\nHost: x\r\n${auth}\r\n`;
  const head = (path: string, auth = ''): string => `HEAD ${path} HTTP/1.1\r\nHost: x\r\n${auth}\r\n`;
  const authHeader = `Authorization: ${BASIC}\r\n`;

  test('HEAD anywhere answers GET\'s status and headers with no body, and the connection stays usable', async () => {
    const { gw } = suite;
    const cases: Array<[string, string, number]> = [
      ['/healthz', '', 200], ['/readyz', '', 200], ['/', authHeader, 200], ['/', '', 401], ['/nope', '', 404],
    ];
    for (const [path, auth, status] of cases) {
      const conn = new RawConnection(gw.port);
      conn.write(head(path, auth) + get('/healthz'));
      const answer = await conn.response(true);
      assert.equal(answer.status, status, `HEAD ${path}`);
      assert.equal(answer.body, '');
      const full = await conn.response().catch((err: Error) => assert.fail(`HEAD ${path} left bytes behind: ${err.message}`));
      assert.deepEqual([full.status, full.body], [200, '{"status":"ok"}'], `the request after HEAD ${path}`);
      if (status === 200) {
        const getAnswer = await gw.request('GET', path);
        assert.equal(answer.headers['content-length'], String(Buffer.byteLength(getAnswer.text)), `HEAD ${path}'s Content-Length is GET's`);
      }
      conn.end();
    }
  });

  test('two different Content-Length headers: 400 INVALID_CONTENT_LENGTH, connection closed, nothing published', async () => {
    const { gw } = suite;
    const body = '{"key":"smuggled","value":1}';
    const conn = new RawConnection(gw.port);
    conn.write(`POST / HTTP/1.1\r\nHost: x\r\n${authHeader}Content-Length: ${body.length}\r\nContent-Length: 0\r\n\r\n${body}`);
    const answer = await conn.response();
    assert.equal(answer.status, 400);
    assert.equal(JSON.parse(answer.body).error, 'INVALID_CONTENT_LENGTH');
    await conn.untilClosed(5_000);
    // The other order, where uWS would read no body and take the body for the next request.
    const reversed = new RawConnection(gw.port);
    reversed.write(`POST / HTTP/1.1\r\nHost: x\r\n${authHeader}Content-Length: 0\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    assert.equal((await reversed.response()).status, 400);
    await reversed.untilClosed(5_000);
    // On a HEAD: the same refusal, still without a body.
    const headConn = new RawConnection(gw.port);
    headConn.write(`HEAD /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab`);
    const headAnswer = await headConn.response(true);
    assert.equal(headAnswer.status, 400);
    assert.equal(await headConn.untilClosed(5_000), '', 'nothing after the HEAD answer');
    assert.deepEqual((await gw.request('GET', '/?key=smuggled')).json, []);
  });

  test('repeated identical Content-Length headers are one value (RFC 9110 §8.6): accepted', async () => {
    const { gw } = suite;
    const body = '{"key":"twice","value":1,"expire":"0"}';
    const conn = new RawConnection(gw.port);
    conn.write(`POST / HTTP/1.1\r\nHost: x\r\n${authHeader}Content-Length: ${body.length}\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    assert.equal((await conn.response()).status, 202);
    conn.end();
  });

  // Decided by uWS 20.30's C++ parser before any JavaScript runs: it closes the connection at
  // once, with no answer. These pin that behaviour, so a uWS upgrade that changes it shows here.
  const closedByUws: Array<[string, string]> = [
    ['Content-Length: abc', `POST / HTTP/1.1\r\nHost: x\r\n${authHeader}Content-Length: abc\r\n\r\n`],
    ['Content-Length: -1', `POST / HTTP/1.1\r\nHost: x\r\n${authHeader}Content-Length: -1\r\n\r\n`],
    ['Content-Length of 10 digits', `POST / HTTP/1.1\r\nHost: x\r\n${authHeader}Content-Length: 1000000000\r\n\r\n`],
    ['Content-Length with Transfer-Encoding', `POST / HTTP/1.1\r\nHost: x\r\n${authHeader}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`],
    ['no Host (with another header)', 'GET /healthz HTTP/1.1\r\nAccept: */*\r\n\r\n'],
    ['1,000 headers (over 4 KiB)', `GET /healthz HTTP/1.1\r\nHost: x\r\n${'X-Filler: 0123456789\r\n'.repeat(1000)}\r\n`],
    ['a method outside uWS\'s nine, with a body', `PROPFIND / HTTP/1.1\r\nHost: x\r\n${authHeader}Content-Length: 5\r\n\r\nhello`],
  ];
  for (const [name, bytes] of closedByUws) {
    test(`${name}: closed at once by uWS, no answer; the gateway keeps serving`, async () => {
      const { gw } = suite;
      const conn = new RawConnection(gw.port);
      conn.write(bytes);
      assert.equal(await conn.untilClosed(5_000), '');
      assert.equal((await gw.request('GET', '/healthz', { auth: false })).status, 200);
    });
  }

  test('a standard method with a body it does not take: answered, the body skipped, the next request answered', async () => {
    const { gw } = suite;
    for (const method of ['PATCH', 'PUT', 'OPTIONS']) {
      const conn = new RawConnection(gw.port);
      conn.write(`${method} / HTTP/1.1\r\nHost: x\r\n${authHeader}Content-Length: 11\r\n\r\nGET /nope\r\n`);
      conn.write(get('/healthz'));
      assert.equal((await conn.response()).status, 405, method);
      assert.equal((await conn.response()).status, 200, `${method}: the request after it`);
      conn.end();
    }
  });
});
