// dSock v0.2.0's answers and parameter checks, in its order, with gin's JSON byte for byte.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { authorized, claimAnswer, DSOCK_ERRORS, dsockError, generateClaimId, infoAnswer, parseClaim, parseConnect, parseDisconnect, parseInfo, parseSend, SUCCESS, verifyConnectJwt } from '../../../src/protocols/dsock/answers.js';

const NOW = 1_750_000_000_250;
const nowS = Math.floor(NOW / 1000);
const err = (code: keyof typeof DSOCK_ERRORS): { status: number; body: string } => ({ status: 400, body: `{"error":${JSON.stringify(DSOCK_ERRORS[code])},"errorCode":"${code}","success":false}` });

test('error answers: gin\'s sorted keys, dSock\'s messages; 500s for store failures', () => {
  assert.deepEqual(dsockError('USER_ID_REQUIRED'), { status: 400, body: '{"error":"User ID is required","errorCode":"USER_ID_REQUIRED","success":false}' });
  assert.deepEqual(dsockError('ERROR_GETTING_CLAIM', 500), { status: 500, body: '{"error":"Error getting claim","errorCode":"ERROR_GETTING_CLAIM","success":false}' });
  // dSock's 19, and Octoway's two for bounds dSock lacks.
  assert.equal(Object.keys(DSOCK_ERRORS).length, 21);
  assert.deepEqual(SUCCESS, { status: 200, body: '{"success":true}' });
});

test('API token: the token query value, or the Authorization header after 7 characters', () => {
  assert.ok(authorized('token=abc123', undefined, 'abc123'));
  assert.ok(authorized('', 'Bearer abc123', 'abc123'));
  assert.ok(authorized('', 'Token: abc123', 'abc123'), 'the prefix is not checked');
  assert.ok(!authorized('token=abc12', 'Bearer abc1234', 'abc123'));
  assert.ok(!authorized('', 'Bearer ', 'abc123'));
  assert.ok(!authorized('', undefined, 'abc123'));
});

test('/claim: user required; expiration checks then duration checks, in order; default 60 s', () => {
  assert.deepEqual(parseClaim('expiration=x', NOW), err('USER_ID_REQUIRED'));
  assert.deepEqual(parseClaim('user=', NOW), err('USER_ID_REQUIRED'));
  assert.deepEqual(parseClaim('user=u&expiration=soon&duration=x', NOW), err('INVALID_EXPIRATION'));
  assert.deepEqual(parseClaim('user=u&expiration=1.5', NOW), err('INVALID_EXPIRATION'));
  assert.deepEqual(parseClaim('user=u&expiration=0', NOW), err('NEGATIVE_EXPIRATION'));
  assert.deepEqual(parseClaim('user=u&expiration=-5', NOW), err('NEGATIVE_EXPIRATION'));
  assert.deepEqual(parseClaim(`user=u&expiration=${nowS - 1}`, NOW), err('INVALID_EXPIRATION'), 'in the past');
  assert.deepEqual(parseClaim(`user=u&expiration=${nowS}`, NOW), err('INVALID_EXPIRATION'), 'this second has begun');
  assert.deepEqual(parseClaim('user=u&expiration=99999999999999999999', NOW), err('INVALID_EXPIRATION'), 'beyond int64');
  assert.deepEqual(parseClaim('user=u&duration=x', NOW), err('INVALID_DURATION'));
  assert.deepEqual(parseClaim('user=u&duration=0', NOW), err('NEGATIVE_DURATION'));
  assert.deepEqual(parseClaim(`user=u&expiration=${nowS + 10}&duration=x`, NOW), { ok: true, user: 'u', session: undefined, expiration: nowS + 10, id: undefined }, 'expiration wins');
  assert.deepEqual(parseClaim('user=u&session=s&duration=%2B30&id=mine', NOW), { ok: true, user: 'u', session: 's', expiration: nowS + 30, id: 'mine' }, 'Atoi takes a sign');
  assert.deepEqual(parseClaim('user=u', NOW), { ok: true, user: 'u', session: undefined, expiration: nowS + 60, id: undefined });
});

test('claim ids are 32 letters and digits; the claim answer', () => {
  const id = generateClaimId();
  assert.match(id, /^[A-Za-z0-9]{32}$/);
  assert.notEqual(generateClaimId(), id);
  assert.deepEqual(claimAnswer({ id: 'abc', expiration: 1700000000, user: 'u<1>', session: 's' }), { status: 200, body: '{"claim":{"expiration":1700000000,"id":"abc","session":"s","user":"u\\u003c1\\u003e"},"success":true}' });
  assert.equal(claimAnswer({ id: 'abc', expiration: 1, user: 'u', session: undefined }).body, '{"claim":{"expiration":1,"id":"abc","user":"u"},"success":true}');
});

test('/send: a target first (id wins over user), then type, which is required', () => {
  assert.deepEqual(parseSend('type=zzz'), err('MISSING_CONNECTION_OR_USER'));
  assert.deepEqual(parseSend('session=s&type=text'), err('MISSING_CONNECTION_OR_USER'));
  assert.deepEqual(parseSend('user=u'), err('INVALID_MESSAGE_TYPE'));
  assert.deepEqual(parseSend('user=u&type=TEXT'), err('INVALID_MESSAGE_TYPE'));
  assert.deepEqual(parseSend('user=u&session=s&type=1'), { ok: true, target: { kind: 'user', user: 'u', session: 's' }, binary: false });
  assert.deepEqual(parseSend('id=c1&user=u&type=binary'), { ok: true, target: { kind: 'connection', id: 'c1' }, binary: true });
  assert.deepEqual(parseSend('id=c1&type=2'), { ok: true, target: { kind: 'connection', id: 'c1' }, binary: true });
});

test('/disconnect: claims of the named user/session dropped unless keepClaims=true exactly', () => {
  assert.deepEqual(parseDisconnect('keepClaims=true'), err('MISSING_CONNECTION_OR_USER'));
  assert.deepEqual(parseDisconnect('user=u&session=s'), { ok: true, target: { kind: 'user', user: 'u', session: 's' }, dropClaimsOf: { user: 'u', session: 's' } });
  assert.deepEqual(parseDisconnect('user=u&keepClaims=true'), { ok: true, target: { kind: 'user', user: 'u', session: undefined }, dropClaimsOf: undefined });
  assert.deepEqual((parseDisconnect('user=u&keepClaims=1') as { dropClaimsOf: unknown }).dropClaimsOf, { user: 'u', session: undefined });
  assert.deepEqual(parseDisconnect('id=c1'), { ok: true, target: { kind: 'connection', id: 'c1' }, dropClaimsOf: undefined });
});

test('/info: same targets; claims by user/session even with an id; the answer', () => {
  assert.deepEqual(parseInfo(''), err('MISSING_CONNECTION_OR_USER'));
  assert.deepEqual(parseInfo('id=c1&user=u'), { ok: true, target: { kind: 'connection', id: 'c1' }, claimsOf: { user: 'u', session: undefined } });
  assert.deepEqual(parseInfo('user=u&session=s'), { ok: true, target: { kind: 'user', user: 'u', session: 's' }, claimsOf: { user: 'u', session: 's' } });
  assert.deepEqual(infoAnswer([], []), { status: 200, body: '{"claims":[],"connections":[],"success":true}' });
  const body = infoAnswer([{ id: 'c1', worker: 'n1', lastPing: 1700000000, user: 'u', session: 's' }, { id: 'c2', worker: 'n2', lastPing: 1, user: 'u', session: undefined }], [{ id: 'k', expiration: 2, user: 'u', session: undefined }]).body;
  assert.equal(body, '{"claims":[{"expiration":2,"id":"k","user":"u"}],"connections":[{"id":"c1","lastPing":1700000000,"session":"s","user":"u","worker":"n1"},{"id":"c2","lastPing":1,"user":"u","worker":"n2"}],"success":true}');
});

test('/connect: claim wins over jwt; jwt only with a secret; else MISSING_AUTHENTICATION', () => {
  assert.deepEqual(parseConnect('claim=c&jwt=j', true), { kind: 'claim', id: 'c' });
  assert.deepEqual(parseConnect('jwt=j', true), { kind: 'jwt', token: 'j' });
  assert.deepEqual(parseConnect('jwt=j', false), err('MISSING_AUTHENTICATION'));
  assert.deepEqual(parseConnect('claim=', true), err('MISSING_AUTHENTICATION'));
});

test('?jwt=: dSock\'s own e2e tokens (secret abc123): a good one, and "exp":"invalid" refused', () => {
  const good = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJjb25uZWN0Iiwic2lkIjoiand0IiwiZXhwIjoyMTQ3NDg1NTQ2fQ.oMbgPfg86I1sWs6IK25AP0H4ftzUVt9asKr9W9binW0';
  const badExp = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJjb25uZWN0Iiwic2lkIjoiaW52YWxpZCIsImV4cCI6ImludmFsaWQifQ.afZ4Mi-K0FeS35n7sivpNlq41JUi-QKVEjkH6mGWOrk';
  assert.deepEqual(verifyConnectJwt(good, 'abc123', NOW), { user: 'connect', session: 'jwt' });
  assert.deepEqual(verifyConnectJwt(badExp, 'abc123', NOW), err('INVALID_JWT'));
  assert.deepEqual(verifyConnectJwt(good, 'wrong', NOW), err('INVALID_JWT'));
  assert.deepEqual(verifyConnectJwt(good, 'abc123', 2147485547_000), err('INVALID_JWT'), 'expired');
});
