// Driplet's client tokens (golang-jwt v5 with its HMAC-only key function) and its status answers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { DRIPLET_ANSWERS, DRIPLET_STATUS, pingAnswer } from '../../../src/protocols/driplet/answers.js';
import { verifyDripletToken } from '../../../src/protocols/driplet/token.js';

const SECRET = 'web-jwt-secret';
const NOW = 1_750_000_000_500;
const nowS = Math.floor(NOW / 1000);

function jwt(claims: object | string, options: { alg?: string; secret?: string } = {}): string {
  const alg = options.alg ?? 'HS256';
  const part = (v: string): string => Buffer.from(v).toString('base64url');
  const input = `${part(JSON.stringify({ alg, typ: 'JWT' }))}.${part(typeof claims === 'string' ? claims : JSON.stringify(claims))}`;
  const hash = { HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' }[alg] ?? 'sha256';
  return `${input}.${createHmac(hash, options.secret ?? SECRET).update(input).digest('base64url')}`;
}
const ok = (token: string): unknown => {
  const result = verifyDripletToken(token, SECRET, NOW);
  assert.ok('ok' in result, 'refused');
  return result.custom;
};
const refused = (token: string, why: string): void => assert.equal(verifyDripletToken(token, SECRET, NOW), DRIPLET_ANSWERS.unauthorized, why);

test('HS256/384/512 with the endpoint\'s secret; the custom claim is returned for targeting', () => {
  assert.deepEqual(ok(jwt({ sub: 'u', custom: { user: { id: 7 }, roles: ['a'] } })), { user: { id: 7 }, roles: ['a'] });
  assert.equal(ok(jwt({ sub: 'u' }, { alg: 'HS512' })), undefined);
  assert.deepEqual(ok(jwt({ CUSTOM: { a: 1 } }, { alg: 'HS384' })), { a: 1 }, 'Go matches field names case-insensitively');
  assert.equal(ok(jwt('null')), undefined);
});

test('refusals: wrong secret, other algorithms, malformed tokens, wrongly typed claims', () => {
  refused(jwt({}, { secret: 'wrong' }), 'wrong secret');
  refused(jwt({}, { alg: 'none' }), 'none');
  refused(jwt({}, { alg: 'RS256' }), 'not HMAC');
  refused('', 'empty');
  refused('a.b', 'two segments');
  refused(`${jwt({})}=`, 'padding (RawURLEncoding)');
  refused(jwt({ custom: [1] }), 'custom not an object');
  refused(jwt({ sub: 5 }), 'sub not a string');
  refused(jwt({ aud: [1] }), 'aud not strings');
  refused(jwt({ exp: 'later' }), 'exp not a number');
});

test('exp and nbf when present, no leeway; iat not checked; exp may be a numeric string or a fraction', () => {
  refused(jwt({ exp: nowS }), 'exp this second: now is not before it');
  refused(jwt({ exp: nowS - 1 }), 'expired');
  refused(jwt({ nbf: nowS + 1 }), 'not yet valid');
  ok(jwt({ exp: nowS + 1, nbf: nowS, iat: nowS + 1000 }));
  ok(jwt({ exp: `${nowS + 5}` }));
  refused(jwt({ exp: nowS + 0.9 }), 'a fraction is truncated');
  assert.deepEqual(ok(jwt(`{"custom":{"a":1}} trailing`)), { a: 1 }, "the claims decoder stops after the first value");
});

test('status answers: GET / and the ping, as json.Encoder writes them', () => {
  assert.deepEqual(DRIPLET_STATUS, { status: 200, body: '{"status":"ok"}\n', contentType: 'application/json' });
  assert.deepEqual(pingAnswer('web'), { status: 200, body: '{"endpoint":"web","status":"ok"}\n', contentType: 'application/json' });
  assert.deepEqual(DRIPLET_ANSWERS.unauthorized, { status: 401, body: 'Unauthorized\n' });
});
