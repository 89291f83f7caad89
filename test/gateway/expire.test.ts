// The `expire` bound in configuration: WS_MSG_EXPIRE past the documented maximum stops the start. The
// bound on a published message's `expire`, held and listed through each broker, is part of the
// Broker contract (test/delivery/broker.contract.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startExpectingFailure } from '../helpers/gateway.js';

test('WS_MSG_EXPIRE past the maximum stops the start with exit 2 and names the maximum', async () => {
  const { exitCode, stderr } = await startExpectingFailure({ WS_AUTH_URL: 'http://127.0.0.1:9/auth', WS_LOGIN: 'a', WS_PASSWORD: 'b', WS_MSG_EXPIRE: '366d' });
  assert.equal(exitCode, 2);
  assert.match(stderr, /^octoway: WS_MSG_EXPIRE="366d": expected .*at most 365d/m);
});
