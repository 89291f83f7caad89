// Start-up configuration: bad values stop the real process with exit code 2 and a clear line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startExpectingFailure, startGateway } from '../helpers/gateway.js';

const AUTH = 'http://127.0.0.1:9/auth';

test('missing WS_AUTH_URL and credentials: exit 2, one line per variable', async () => {
  const { exitCode, stderr } = await startExpectingFailure({});
  assert.equal(exitCode, 2);
  assert.match(stderr, /WS_AUTH_URL.*expected/);
  assert.match(stderr, /WS_LOGIN.*expected/);
  assert.match(stderr, /WS_PASSWORD.*expected/);
});

test('an unset variable is reported as not set, a secret as <hidden> only when it was given', async () => {
  const unset = await startExpectingFailure({ WS_AUTH_URL: AUTH, WS_LOGIN: 'a' });
  assert.equal(unset.exitCode, 2);
  assert.match(unset.stderr, /^octoway: WS_PASSWORD is not set: expected /m);
  assert.doesNotMatch(unset.stderr, /<hidden>/);
  const given = await startExpectingFailure({ WS_AUTH_URL: AUTH, WS_LOGIN: 'a', WS_PASSWORD: 'b', WS_REDIS_URL: 'http://user:s3cret@host/' });
  assert.equal(given.exitCode, 2);
  assert.match(given.stderr, /^octoway: WS_REDIS_URL="<hidden>": expected /m);
  assert.doesNotMatch(given.stderr, /s3cret/);
});

test('a malformed duration, size or number names the variable; the password is never printed', async () => {
  const { exitCode, stderr } = await startExpectingFailure({
    WS_AUTH_URL: AUTH, WS_LOGIN: 'a', WS_PASSWORD: 'hunter2', WS_MSG_EXPIRE: '30', WS_MAX_BODY: '1XB', WS_PORT: 'eighty',
    WS_DELIVERY: 'sometimes', WS_TRUSTED_PROXIES: '10.0.0.0/99',
  });
  assert.equal(exitCode, 2);
  for (const name of ['WS_MSG_EXPIRE', 'WS_MAX_BODY', 'WS_PORT', 'WS_DELIVERY', 'WS_TRUSTED_PROXIES']) assert.match(stderr, new RegExp(`^octoway: ${name}=`, 'm'));
  assert.doesNotMatch(stderr, /hunter2/);
});

test('durations past what their timers take stop the start with exit 2 instead of misbehaving', async () => {
  // Before the bound: WS_IDLE_TIMEOUT=2000s aborted inside uWS with a C++ "terminate called", and
  // 30d timeouts overflowed Node's timers to 1 ms (the shutdown deadline fired at once).
  const { exitCode, stderr } = await startExpectingFailure({
    WS_AUTH_URL: AUTH, WS_LOGIN: 'a', WS_PASSWORD: 'b',
    WS_IDLE_TIMEOUT: '2000s', WS_SHUTDOWN_TIMEOUT: '30d', WS_AUTH_TIMEOUT: '30d', WS_PRESENCE_TTL: '30d',
  });
  assert.equal(exitCode, 2);
  assert.match(stderr, /^octoway: WS_IDLE_TIMEOUT="2000s": .*at least 8000ms and at most 960s$/m);
  for (const name of ['WS_SHUTDOWN_TIMEOUT', 'WS_AUTH_TIMEOUT', 'WS_PRESENCE_TTL']) assert.match(stderr, new RegExp(`^octoway: ${name}="30d": .*(at most|to) 24d$`, 'm'));
});

test('an unusable exporter stops the start with exit 2', async () => {
  const { exitCode, stderr } = await startExpectingFailure({ WS_AUTH_URL: AUTH, WS_LOGIN: 'a', WS_PASSWORD: 'b', WS_AUTH_EXPORTER: './no/such/module.js' });
  assert.equal(exitCode, 2);
  assert.match(stderr, /WS_AUTH_EXPORTER/);
});

test('WS_INSECURE_NO_AUTH=true starts without credentials and lets anyone publish', async () => {
  const gw = await startGateway({ WS_AUTH_URL: AUTH, WS_LOGIN: '', WS_PASSWORD: '', WS_INSECURE_NO_AUTH: 'true' });
  try {
    await gw.waitForLog((l) => /WS_INSECURE_NO_AUTH/.test(l.msg));
    const r = await gw.request('POST', '/', { body: JSON.stringify({ key: 'k', value: 1, expire: '0' }), auth: false });
    assert.equal(r.status, 202);
  } finally {
    assert.equal(await gw.stop(), 0);
  }
});
