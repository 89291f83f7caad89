// Philote's access keys: where the token is read from, jwt-go v3's checks and texts, read/write/api,
// and gorilla's origin check.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { goQueryValue } from '../../../src/protocols/go-query.js';
import { canRead, canWrite, originAllowed, philoteToken, verifyPhiloteToken, type PhiloteAccess } from '../../../src/protocols/philote/token.js';

const SECRET = 'philote-secret';
const NOW = 1_750_000_000_000;
const nowS = NOW / 1000;

function jwt(claims: object, options: { alg?: string; secret?: string; header?: object } = {}): string {
  const part = (v: object): string => Buffer.from(JSON.stringify(v)).toString('base64url');
  const alg = options.alg ?? 'HS256';
  const input = `${part(options.header ?? { alg, typ: 'JWT' })}.${part(claims)}`;
  const hash = { HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' }[alg] ?? 'sha256';
  return `${input}.${createHmac(hash, options.secret ?? SECRET).update(input).digest('base64url')}`;
}

function access(token: string): PhiloteAccess {
  const result = verifyPhiloteToken(token, SECRET, NOW);
  assert.ok(result.ok, `refused: ${result.ok ? '' : result.text}`);
  return result;
}
function refusal(token: string): string {
  const result = verifyPhiloteToken(token, SECRET, NOW);
  assert.ok(!result.ok, 'expected a refusal');
  return result.text;
}

test('the token: Authorization with or without "Bearer", else the first auth query value', () => {
  assert.equal(philoteToken('Bearer abc', ''), 'abc');
  assert.equal(philoteToken('abc', ''), 'abc');
  assert.equal(philoteToken('Bearerabc', ''), 'abc', 'TrimPrefix("Bearer") needs no space');
  assert.equal(philoteToken('  Bearer   abc \t', ''), 'Bearer   abc', 'a leading space keeps the prefix');
  assert.equal(philoteToken('bearer abc', ''), 'bearer abc', 'the prefix is case-sensitive');
  assert.equal(philoteToken(undefined, 'auth=q1&auth=q2'), 'q1');
  assert.equal(philoteToken('Bearer ', '?x=1&auth=a%2Eb+c'), 'a.b c');
  assert.equal(philoteToken('', 'auth=x;y&auth=z'), 'z', 'a pair with ; is skipped (Go 1.17+)');
  assert.equal(philoteToken(undefined, 'auth=%zz&auth=ok'), 'ok', 'a bad escape skips the pair');
  assert.equal(philoteToken(undefined, ''), '');
  assert.equal(goQueryValue('a=1', 'b'), undefined);
});

test('read, write and api claims; a client that may read but not write', () => {
  const reader = access(jwt({ read: ['news', 'chat'], write: [] }));
  assert.deepEqual(reader, { ok: true, read: ['news', 'chat'], write: [], api: false });
  assert.ok(canRead(reader, 'news') && !canWrite(reader, 'news'));
  const writer = access(jwt({ READ: null, Write: ['chat'], api: true }, { alg: 'HS512' }));
  assert.deepEqual(writer, { ok: true, read: [], write: ['chat'], api: true });
  assert.ok(canWrite(writer, 'chat') && !canRead(writer, 'chat'));
});

test('jwt-go\'s refusals and texts', () => {
  assert.equal(refusal(''), 'token contains an invalid number of segments');
  assert.equal(refusal('a.b'), 'token contains an invalid number of segments');
  assert.equal(refusal(jwt({ read: ['x'] }, { secret: 'wrong' })), 'signature is invalid');
  assert.equal(refusal(jwt({ exp: nowS - 65 })), 'token is expired by 1m5s');
  assert.equal(refusal(jwt({ nbf: nowS + 10 })), 'token is not valid yet');
  assert.equal(refusal(jwt({ iat: nowS + 10 })), 'Token used before issued');
  assert.equal(refusal(jwt({ exp: nowS - 5 }, { secret: 'wrong' })), 'signature is invalid', 'the signature\'s error wins');
  assert.equal(refusal(jwt({}, { header: { typ: 'JWT' } })), 'signing method (alg) is unspecified.');
  assert.equal(refusal(jwt({}, { header: { alg: 'XX1' } })), 'signing method (alg) is unavailable.');
  assert.equal(refusal(jwt({}, { header: { alg: 'RS256' } })), 'key is of invalid type');
  assert.equal(refusal(jwt({}, { header: { alg: 'none' } })), '\'none\' signature type is not allowed');
  assert.match(refusal(jwt({ read: 'news' })), /^json: cannot unmarshal/);
  assert.match(refusal(jwt({ api: 'yes' })), /^json: cannot unmarshal/);
  assert.match(refusal(jwt({ exp: 'soon' })), /^json: cannot unmarshal/);
  assert.match(refusal('a*b.c.d'), /^illegal base64 data at input byte/);
  // Still valid: exp exactly now, nbf/iat now, a padded base64url signature.
  access(jwt({ exp: nowS, nbf: nowS, iat: nowS }));
  const token = jwt({ read: ['a'] });
  const sig = token.slice(token.lastIndexOf('.') + 1);
  access(`${token.slice(0, token.lastIndexOf('.') + 1)}${sig}${'='.repeat((4 - (sig.length % 4)) % 4)}`);
});

test('CHECK_ORIGIN: no Origin passes; else its host:port must be the Host, case aside', () => {
  assert.ok(originAllowed(undefined, 'ws.example.com'));
  assert.ok(originAllowed('https://WS.example.com', 'ws.example.com'));
  assert.ok(originAllowed('http://localhost:6380', 'localhost:6380'));
  assert.ok(!originAllowed('http://localhost:3000', 'localhost:6380'));
  assert.ok(!originAllowed('https://evil.example', 'ws.example.com'));
  assert.ok(!originAllowed('null', 'ws.example.com'));
});
