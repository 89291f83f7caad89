// handshakeError: which header sets are a valid RFC 6455 handshake.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { handshakeError } from '../../src/socket/handshake.js';

const VALID = { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==', 'sec-websocket-version': '13' };
const codeOf = (headers: Record<string, string | undefined>, repeated: string[] = []): string | undefined => {
  const defined = Object.fromEntries(Object.entries(headers).filter((e): e is [string, string] => e[1] !== undefined));
  return handshakeError(defined, repeated)?.code;
};

test('a browser handshake passes, with any casing and other Connection tokens', () => {
  assert.equal(codeOf(VALID), undefined);
  assert.equal(codeOf({ ...VALID, connection: 'keep-alive, UPGRADE' }), undefined);
  assert.equal(codeOf({ ...VALID, upgrade: 'WebSocket' }), undefined);
  assert.equal(codeOf({ ...VALID, 'sec-websocket-version': ' 13 ' }), undefined);
  assert.equal(codeOf(VALID, ['cookie', 'accept']), undefined);
});

test('a repeated handshake header is refused, whatever its values (uWS reads only the first)', () => {
  for (const name of Object.keys(VALID)) assert.equal(codeOf(VALID, [name]), 'INVALID_HANDSHAKE', name);
});

test('Connection must list "Upgrade" and not "close"', () => {
  for (const connection of [undefined, '', 'close', 'keep-alive', 'close, Upgrade', 'Upgrade, close', 'Upgrade,CLOSE', 'upgrades']) {
    assert.equal(codeOf({ ...VALID, connection }), 'INVALID_HANDSHAKE', String(connection));
  }
});

test('Upgrade must be "websocket"', () => {
  for (const upgrade of [undefined, '', 'foo', 'websocket2', 'h2c']) assert.equal(codeOf({ ...VALID, upgrade }), 'INVALID_HANDSHAKE', String(upgrade));
});

test('Sec-WebSocket-Key must be the base64 of 16 bytes', () => {
  for (const key of [undefined, '', '!!!!!!!!!!!!!!!!!!!!!!!!', 'AAAAAAAAAAAAAAAAAAAAAAA=', 'AAAAAAAAAAAAAAAAAAAAAA', 'AAAAAAAAAAAAAAAAAAAAAA==AA']) {
    assert.equal(codeOf({ ...VALID, 'sec-websocket-key': key }), 'INVALID_HANDSHAKE', String(key));
  }
});

test('a missing version is malformed (400); another version is unsupported (426)', () => {
  assert.equal(codeOf({ ...VALID, 'sec-websocket-version': undefined }), 'INVALID_HANDSHAKE');
  for (const version of ['8', '12', '013', '13, 8', 'abc']) {
    const error = handshakeError({ ...VALID, 'sec-websocket-version': version }, []);
    assert.equal(error?.code, 'UNSUPPORTED_WEBSOCKET_VERSION', version);
    assert.equal(error?.status, 426);
  }
});
