// notiflux's ES256 tokens: its own published test key pair and tokens (fixtures from its
// repository), and tokens signed here with that key for the cases it has none for.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { grants, verifyNotifluxToken } from '../../../src/protocols/notiflux/token.js';

const fixtures = new URL('../../../../test/fixtures/notiflux/', import.meta.url);
const publicKey = createPublicKey(await readFile(new URL('public_key.pem', fixtures), 'utf8'));
const privatePem = await readFile(new URL('private_key.pem', fixtures), 'utf8');
const privateKey = createPrivateKey(privatePem.slice(privatePem.indexOf('-----BEGIN EC PRIVATE KEY-----')));
const tokens = JSON.parse(await readFile(new URL('tokens.json', fixtures), 'utf8')) as Record<string, string>;
const now = Math.floor(Date.now() / 1000);

function jwt(payload: unknown, options: { header?: object; key?: KeyObject; rawPayload?: string } = {}): string {
  const part = (v: string): string => Buffer.from(v).toString('base64url');
  const input = `${part(JSON.stringify(options.header ?? { alg: 'ES256', typ: 'JWT' }))}.${part(options.rawPayload ?? JSON.stringify(payload))}`;
  const signature = sign('sha256', Buffer.from(input), { key: options.key ?? privateKey, dsaEncoding: 'ieee-p1363' });
  return `${input}.${signature.toString('base64url')}`;
}
const claims = (extra: object = {}): object => ({ sub: 'notiflux', exp: now + 600, topics: ['foo'], scope: 'subscribe', ...extra });

test('notiflux\'s own tokens: subscribe foo, broadcast bar, and an invalid scope refused', () => {
  const subscribe = verifyNotifluxToken(tokens.subscribe_foo as string, publicKey);
  assert.deepEqual(subscribe, { sub: 'notiflux', scope: 'subscribe', topics: ['foo'], expiresAt: 4865678255000 });
  assert.ok(grants(subscribe, 'subscribe', 'foo'));
  assert.ok(!grants(subscribe, 'subscribe', 'bar'));
  assert.ok(!grants(subscribe, 'broadcast', 'foo'));
  const broadcast = verifyNotifluxToken(tokens.broadcast_bar as string, publicKey);
  assert.equal(broadcast?.scope, 'broadcast');
  assert.ok(grants(broadcast, 'broadcast', 'bar'));
  assert.equal(verifyNotifluxToken(tokens.invalid_scope_bar as string, publicKey), undefined);
  assert.ok(!grants(undefined, 'subscribe', 'foo'));
});

test('a token signed with another key, or tampered with, is refused', () => {
  const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  assert.equal(verifyNotifluxToken(jwt(claims(), { key: other }), publicKey), undefined);
  const [h, , s] = (tokens.subscribe_foo as string).split('.');
  const forged = Buffer.from(JSON.stringify({ sub: 'notiflux', exp: 4865678255, topics: ['foo', 'admin'], scope: 'subscribe' })).toString('base64url');
  assert.equal(verifyNotifluxToken(`${h}.${forged}.${s}`, publicKey), undefined);
});

test('ES256 only: HS256 (even keyed with the public key) and none are refused', () => {
  const [, p] = jwt(claims()).split('.');
  const hs = `${Buffer.from('{"alg":"HS256"}').toString('base64url')}.${p}.${Buffer.alloc(32).toString('base64url')}`;
  assert.equal(verifyNotifluxToken(hs, publicKey), undefined);
  assert.equal(verifyNotifluxToken(`${Buffer.from('{"alg":"none"}').toString('base64url')}.${p}.`, publicKey), undefined);
  assert.equal(verifyNotifluxToken('not a token', publicKey), undefined);
});

test('exp: required, whole seconds, honoured until 60 s after it', () => {
  assert.ok(verifyNotifluxToken(jwt(claims({ exp: now - 50 })), publicKey), 'within the leeway');
  assert.equal(verifyNotifluxToken(jwt(claims({ exp: now - 70 })), publicKey), undefined, 'expired past the leeway');
  assert.equal(verifyNotifluxToken(jwt({ sub: 's', topics: ['foo'], scope: 'subscribe' }), publicKey), undefined, 'no exp');
  assert.equal(verifyNotifluxToken(jwt(null, { rawPayload: `{"sub":"s","exp":${now + 600}.5,"topics":["foo"],"scope":"subscribe"}` }), publicKey), undefined, 'a fraction');
  assert.equal(verifyNotifluxToken(jwt(claims({ exp: `${now + 600}` })), publicKey), undefined, 'a string');
});

test('claims: sub, topics (strings) and scope required, each once; aud refused', () => {
  assert.equal(verifyNotifluxToken(jwt(claims({ sub: undefined })), publicKey), undefined);
  assert.equal(verifyNotifluxToken(jwt(claims({ topics: 'foo' })), publicKey), undefined);
  assert.equal(verifyNotifluxToken(jwt(claims({ topics: ['foo', 1] })), publicKey), undefined);
  assert.equal(verifyNotifluxToken(jwt(claims({ scope: undefined })), publicKey), undefined);
  assert.equal(verifyNotifluxToken(jwt(claims({ aud: 'x' })), publicKey), undefined);
  assert.equal(verifyNotifluxToken(jwt(null, { rawPayload: `{"sub":"s","exp":${now + 600},"topics":["foo"],"scope":"broadcast","scope":"subscribe"}` }), publicKey), undefined, 'a repeated field');
  assert.deepEqual(verifyNotifluxToken(jwt(claims({ extra: { any: 1 }, topics: [] })), publicKey)?.topics, [], 'extra claims ignored');
});
