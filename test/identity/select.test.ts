// The mode selector: one authenticator per request, chosen by `pick`; a refusal from pick is answered as is.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { OctowayError } from '../../src/errors.js';
import type { AuthResult, Authenticator } from '../../src/identity/authenticator.js';
import { identityFrom } from '../../src/identity/identity.js';
import { selectAuthenticator } from '../../src/identity/select.js';
import { upgradeRequest } from '../helpers/auth-backend.js';

/** An authenticator that admits everyone under one key and counts its calls and closes. */
function fixed(key: string) {
  const identity = identityFrom({ keys: [key] }, pino({ level: 'silent' }));
  assert.ok(!(identity instanceof OctowayError));
  const state = { calls: 0, closes: 0 };
  const auth: Authenticator = {
    authenticate: () => { state.calls++; return Promise.resolve({ ok: true, identity }); },
    load: { waiting: 1, inFlight: 2 },
    close: async () => { state.closes++; },
  };
  return { auth, state };
}

const keyOf = (r: AuthResult) => (r.ok ? r.identity.keys[0] : r.error.code);

test('each request goes to the authenticator pick names; pick may refuse; load sums; close closes each once', async () => {
  const forward = fixed('forward');
  const ticket = fixed('ticket');
  const auth = selectAuthenticator([forward.auth, ticket.auth, forward.auth], (request) => {
    if (request.query.startsWith('ticket=')) return ticket.auth;
    if (request.query.startsWith('token=')) return new OctowayError('INVALID_QUERY', 'jwt is not enabled');
    return forward.auth;
  });
  const signal = new AbortController().signal;
  assert.equal(keyOf(await auth.authenticate(upgradeRequest('ticket=t1'), signal)), 'ticket');
  assert.equal(keyOf(await auth.authenticate(upgradeRequest(''), signal)), 'forward');
  assert.equal(keyOf(await auth.authenticate(upgradeRequest('token=x'), signal)), 'INVALID_QUERY');
  assert.deepEqual({ forward: forward.state.calls, ticket: ticket.state.calls }, { forward: 1, ticket: 1 });
  assert.deepEqual({ ...auth.load }, { waiting: 2, inFlight: 4 });
  await auth.close();
  assert.deepEqual({ forward: forward.state.closes, ticket: ticket.state.closes }, { forward: 1, ticket: 1 });
});
