// Malformed WebSocket handshakes, sent raw to the real gateway with an auth backend that accepts
// everyone: each is refused with a readable error before the auth call, and the process lives on.
// Two Connection headers, `close` first, once crashed the gateway (SIGSEGV) for every socket.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AuthBackend } from '../helpers/auth-backend.js';
import { BASIC, startAcceptingGateway, type AcceptingGateway, type GatewayProcess } from '../helpers/gateway.js';
import { handshakeWith, rawRequest, requestText, VALID_HANDSHAKE, type HeaderList } from '../helpers/raw-http.js';

const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';

const refused: Array<[string, HeaderList, number, string]> = [
  ['two Connection headers, close first', handshakeWith('Connection', 'close', 'Upgrade'), 400, 'INVALID_HANDSHAKE'],
  ['two Connection headers, Upgrade first', handshakeWith('Connection', 'Upgrade', 'close'), 400, 'INVALID_HANDSHAKE'],
  ['two Connection headers, both Upgrade', handshakeWith('Connection', 'Upgrade', 'Upgrade'), 400, 'INVALID_HANDSHAKE'],
  ['Connection: close', handshakeWith('Connection', 'close'), 400, 'INVALID_HANDSHAKE'],
  ['Connection: close, Upgrade', handshakeWith('Connection', 'close, Upgrade'), 400, 'INVALID_HANDSHAKE'],
  ['Connection: Upgrade, close', handshakeWith('Connection', 'Upgrade, Close'), 400, 'INVALID_HANDSHAKE'],
  ['no Connection header', handshakeWith('Connection'), 400, 'INVALID_HANDSHAKE'],
  ['no Upgrade header', handshakeWith('Upgrade'), 400, 'INVALID_HANDSHAKE'],
  ['Upgrade: foo', handshakeWith('Upgrade', 'foo'), 400, 'INVALID_HANDSHAKE'],
  ['two Upgrade headers', handshakeWith('Upgrade', 'websocket', 'websocket'), 400, 'INVALID_HANDSHAKE'],
  ['two Sec-WebSocket-Key headers', handshakeWith('Sec-WebSocket-Key', KEY, 'AAAAAAAAAAAAAAAAAAAAAA=='), 400, 'INVALID_HANDSHAKE'],
  ['no Sec-WebSocket-Key', handshakeWith('Sec-WebSocket-Key'), 400, 'INVALID_HANDSHAKE'],
  ['a short Sec-WebSocket-Key', handshakeWith('Sec-WebSocket-Key', 'abc'), 400, 'INVALID_HANDSHAKE'],
  ['a short key first, a valid one second', handshakeWith('Sec-WebSocket-Key', 'abc', KEY), 400, 'INVALID_HANDSHAKE'],
  ['a 24-character key that is not base64', handshakeWith('Sec-WebSocket-Key', '!!!!!!!!!!!!!!!!!!!!!!!!'), 400, 'INVALID_HANDSHAKE'],
  ['a key that is the base64 of 17 bytes', handshakeWith('Sec-WebSocket-Key', 'AAAAAAAAAAAAAAAAAAAAAAA='), 400, 'INVALID_HANDSHAKE'],
  ['no Sec-WebSocket-Version', handshakeWith('Sec-WebSocket-Version'), 400, 'INVALID_HANDSHAKE'],
  ['two Sec-WebSocket-Version headers', handshakeWith('Sec-WebSocket-Version', '13', '13'), 400, 'INVALID_HANDSHAKE'],
  ['Sec-WebSocket-Version: 8', handshakeWith('Sec-WebSocket-Version', '8'), 426, 'UNSUPPORTED_WEBSOCKET_VERSION'],
];

describe('malformed handshakes', () => {
  let ctx: AcceptingGateway;
  let auth: AuthBackend;
  let gw: GatewayProcess;
  before(async () => {
    ctx = await startAcceptingGateway('anyone');
    ({ auth, gw } = ctx);
  });
  after(() => ctx.stop());

  for (const [name, headers, status, code] of refused) {
    test(`${name}: ${status} ${code}, and the auth endpoint is not called`, async () => {
      const calls = auth.requests.length;
      const r = await rawRequest(gw.port, requestText('/ws', headers));
      assert.equal(r.status, status);
      assert.equal(r.headers['content-type'], 'application/json');
      const body = JSON.parse(r.body) as { error: string; message: string };
      assert.equal(body.error, code);
      assert.ok(body.message.length > 0);
      if (status === 426) assert.equal(r.headers['sec-websocket-version'], '13');
      assert.equal(auth.requests.length, calls);
      assert.equal(gw.child.exitCode, null);
      assert.equal(gw.child.signalCode, null);
    });
  }

  test('valid hand-written handshakes still open, in any casing and with other Connection tokens', async () => {
    const valid: HeaderList[] = [
      VALID_HANDSHAKE,
      handshakeWith('Connection', 'keep-alive, Upgrade'),
      handshakeWith('connection', 'UPGRADE'),
      handshakeWith('Upgrade', 'WebSocket'),
    ];
    for (const headers of valid) {
      const r = await rawRequest(gw.port, requestText('/ws', headers));
      assert.equal(r.status, 101);
      assert.equal(r.headers['sec-websocket-accept'], 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
    }
  });

  test('a keyless handshake on / is refused as a handshake; an admin GET asking for h2c still reaches the API', async () => {
    assert.equal(JSON.parse((await rawRequest(gw.port, requestText('/', handshakeWith('Sec-WebSocket-Key')))).body).error, 'INVALID_HANDSHAKE');
    const h2c: HeaderList = [['Host', '127.0.0.1'], ['Connection', 'Upgrade, HTTP2-Settings'], ['Upgrade', 'h2c'], ['HTTP2-Settings', 'AAMAAABkAAQAoAAAAAIAAAAA'], ['Authorization', BASIC]];
    const r = await rawRequest(gw.port, requestText('/', h2c));
    assert.equal(r.status, 200);
    assert.ok(Array.isArray(JSON.parse(r.body)));
  });

  test('after every refusal the gateway still serves: the socket opened before gets a publish', async () => {
    const r = await gw.publish({ key: 'anyone', value: 'still here' });
    assert.equal(r.status, 202);
    assert.deepEqual((await ctx.bystander.waitForFrames(1)).map((f) => f.payload), ['still here']);
    assert.match(gw.output(), /"code":"INVALID_HANDSHAKE"/);
  });
});
