// WS_AUTH_MODE: which authenticator an upgrade goes to, from what it carries; a presented ticket or
// JWT never reaches another mode; modes not listed are refused with their own codes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { OctowayError } from '../../src/errors.js';
import type { AuthResult, Authenticator } from '../../src/identity/authenticator.js';
import { identityFrom } from '../../src/identity/identity.js';
import { carriesJwt, createModeAuthenticator, presentedMode } from '../../src/identity/modes.js';
import { ticketOf } from '../../src/identity/ticket.js';
import { upgradeRequest } from '../helpers/auth-backend.js';

/** An authenticator that admits everyone under its own name as the key. */
function named(key: string): Authenticator {
  const identity = identityFrom({ keys: [key] }, pino({ level: 'silent' }));
  assert.ok(!(identity instanceof OctowayError));
  return { authenticate: () => Promise.resolve({ ok: true, identity }), load: { waiting: 0, inFlight: 0 }, close: async () => undefined };
}
const forward = named('forward');
const jwt = named('jwt');
const ticket = named('ticket');
const outcome = (r: AuthResult): string => (r.ok ? r.identity.keys[0]! : r.error.code);
const signal = new AbortController().signal;
const JWT = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1MSJ9.c2lnbmF0dXJl';

test('with forward alone (the default) every upgrade is forward auth\'s, whatever it carries', () => {
  assert.equal(createModeAuthenticator({ modes: ['forward'], forward }), forward, 'no selector in the path at all');
});

test('what each request presents', () => {
  const cases: Array<[string, Record<string, string>, 'ticket' | 'jwt' | undefined]> = [
    ['', {}, undefined],
    ['ticket=abc', {}, 'ticket'],
    ['claim=abc', {}, 'ticket'],
    ['ticket=abc&jwt=' + JWT, {}, 'ticket'],
    ['ticket=', {}, 'ticket'],
    ['jwt=anything', {}, 'jwt'],
    ['token=' + JWT, {}, 'jwt'],
    ['auth=' + JWT, {}, 'jwt'],
    ['token=opaque-session-token', {}, undefined],
    ['', { authorization: `Bearer ${JWT}` }, 'jwt'],
    ['', { authorization: 'Bearer opaque' }, undefined],
    ['', { authorization: 'Basic dTpw' }, undefined],
    ['', { 'sec-websocket-protocol': `chat, octoway.token.${JWT}` }, 'jwt'],
    ['', { 'sec-websocket-protocol': 'chat' }, undefined],
    ['', { cookie: `a=1; session_jwt=${JWT}` }, 'jwt'],
    ['', { cookie: 'a=1; other_jwt=x' }, undefined],
    ['tickets=1&claimed=2', {}, undefined],
  ];
  for (const [query, headers, expected] of cases) {
    assert.equal(presentedMode(upgradeRequest(query, headers), 'session_jwt'), expected, `${query} ${JSON.stringify(headers)}`);
  }
  assert.equal(carriesJwt(upgradeRequest('', { cookie: `session_jwt=${JWT}` })), false, 'no cookie is a JWT\'s without WS_JWT_COOKIE');
});

test('the ticket parameter: one value under one name, not empty', () => {
  assert.equal(ticketOf('ticket=a%2Bb'), 'a+b');
  assert.equal(ticketOf('x=1&claim=c'), 'c');
  assert.equal(ticketOf('x=1'), undefined);
  for (const bad of ['ticket=', 'ticket=a&ticket=b', 'ticket=a&claim=a', 'claim=']) {
    const got = ticketOf(bad);
    assert.ok(got instanceof OctowayError && got.code === 'TICKET_INVALID', bad);
  }
});

test('each credential goes to its mode only; without forward, missing or unlisted credentials are refused with their codes', async () => {
  const all = createModeAuthenticator({ modes: ['forward', 'jwt', 'ticket'], forward, jwt, ticket });
  assert.equal(outcome(await all.authenticate(upgradeRequest('ticket=t'), signal)), 'ticket');
  assert.equal(outcome(await all.authenticate(upgradeRequest(`jwt=${JWT}`), signal)), 'jwt');
  assert.equal(outcome(await all.authenticate(upgradeRequest('email=a@b'), signal)), 'forward');

  // An unlisted mode's credential is forward auth's when forward is listed: it may be the backend's own.
  const forwardTicket = createModeAuthenticator({ modes: ['forward', 'ticket'], forward, ticket });
  assert.equal(outcome(await forwardTicket.authenticate(upgradeRequest('', { authorization: `Bearer ${JWT}` }), signal)), 'forward');

  const ticketOnly = createModeAuthenticator({ modes: ['ticket'], ticket });
  assert.equal(outcome(await ticketOnly.authenticate(upgradeRequest('claim=t'), signal)), 'ticket');
  const noJwt = await ticketOnly.authenticate(upgradeRequest(`token=${JWT}`), signal);
  assert.equal(outcome(noJwt), 'AUTH_MODE_NOT_ENABLED');
  assert.equal(!noJwt.ok && noJwt.error.status, 401);
  assert.match(!noJwt.ok ? noJwt.error.message : '', /does not list jwt/);
  assert.equal(outcome(await ticketOnly.authenticate(upgradeRequest('email=a@b'), signal)), 'AUTH_CREDENTIALS_MISSING');

  const jwtOnly = createModeAuthenticator({ modes: ['jwt'], jwt });
  assert.match((await jwtOnly.authenticate(upgradeRequest('ticket=t'), signal) as { error: Error }).error.message, /does not list ticket/);
});

test('a listed mode with no authenticator fails the start with CONFIG_INVALID', () => {
  assert.throws(() => createModeAuthenticator({ modes: ['forward', 'jwt'], forward }), (err) => err instanceof OctowayError && err.code === 'CONFIG_INVALID' && /lists jwt/.test(err.message));
  assert.throws(() => createModeAuthenticator({ modes: ['ticket'] }), (err) => err instanceof OctowayError && err.code === 'CONFIG_INVALID');
});

test('jwtOf returns the token from its place; selectedProtocol never selects the token', async () => {
  const { jwtOf, selectedProtocol } = await import('../../src/identity/modes.js');
  assert.equal(jwtOf(upgradeRequest('', { 'sec-websocket-protocol': `chat, octoway.token.${JWT}` })), JWT);
  assert.equal(jwtOf(upgradeRequest(`jwt=${JWT}`)), JWT);
  assert.equal(jwtOf(upgradeRequest(`a=1&token=${JWT}`)), JWT);
  assert.equal(jwtOf(upgradeRequest(`auth=${JWT}`)), JWT);
  assert.equal(jwtOf(upgradeRequest('', { authorization: `Bearer ${JWT}` })), JWT);
  assert.equal(jwtOf(upgradeRequest('', { cookie: `a=1; session_jwt=${JWT}` }), 'session_jwt'), JWT);
  assert.equal(jwtOf(upgradeRequest('token=opaque')), undefined);
  assert.equal(jwtOf(upgradeRequest('jwt=')), '', 'a jwt parameter is a JWT presented, even empty');
  assert.equal(selectedProtocol(`octoway.token.${JWT}, chat`), 'chat');
  assert.equal(selectedProtocol(`octoway.token.${JWT}`), '');
  assert.equal(selectedProtocol('chat, other'), 'chat, other', 'without the token the header is passed on as before');
});
