// One WS_WORKERS gate shared by several authenticators (one per app, src/apps.ts): they draw slots
// from one bound and queue in one FIFO, and each reports its own share of the load.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createConcurrencyGate } from '../../src/identity/gate.js';
import type { AuthResult, Authenticator } from '../../src/identity/authenticator.js';
import { captureLogger, upgradeRequest } from '../helpers/auth-backend.js';

/** An authenticator whose calls wait until `release` answers them, in order. */
function pending(name: string): Authenticator & { calls: string[]; release(): void } {
  const answers: Array<(r: AuthResult) => void> = [];
  const calls: string[] = [];
  return {
    calls,
    authenticate(request) {
      calls.push(request.query);
      return new Promise((resolve) => answers.push(resolve));
    },
    release() {
      answers.shift()?.({ ok: true, identity: { keys: [name] } as never });
    },
    load: { waiting: 0, inFlight: 0 },
    async close() {},
  };
}

test('two authenticators on one gate: one slot, one queue, in arrival order; each counts its own calls', async () => {
  const gate = createConcurrencyGate({ workers: 1, queueLimit: 1 }, captureLogger().logger);
  const blue = pending('blue');
  const green = pending('green');
  const gatedBlue = gate.wrap(blue);
  const gatedGreen = gate.wrap(green);
  const signal = new AbortController().signal;

  const first = gatedBlue.authenticate(upgradeRequest('b1'), signal);
  const second = gatedGreen.authenticate(upgradeRequest('g1'), signal);
  // The slot is blue's and the queue's one place green's: a third call, of either, is refused.
  const third = await gatedGreen.authenticate(upgradeRequest('g2'), signal);
  assert.equal(!third.ok && third.error.code, 'AUTH_QUEUE_FULL');
  assert.deepEqual([{ ...gatedBlue.load }, { ...gatedGreen.load }], [{ waiting: 0, inFlight: 1 }, { waiting: 1, inFlight: 0 }]);
  assert.deepEqual([blue.calls, green.calls], [['b1'], []]);

  blue.release();
  assert.equal((await first).ok, true);
  // Blue's freed slot went to green's waiting call at once.
  assert.deepEqual(green.calls, ['g1']);
  assert.deepEqual([{ ...gatedBlue.load }, { ...gatedGreen.load }], [{ waiting: 0, inFlight: 0 }, { waiting: 0, inFlight: 1 }]);
  green.release();
  assert.equal((await second).ok, true);
  assert.deepEqual({ ...gatedGreen.load }, { waiting: 0, inFlight: 0 });
});

test('a queued call whose client goes away leaves its app\'s count and the shared queue', async () => {
  const gate = createConcurrencyGate({ workers: 1, queueLimit: 1 }, captureLogger().logger);
  const blue = pending('blue');
  const green = pending('green');
  const gatedBlue = gate.wrap(blue);
  const gatedGreen = gate.wrap(green);
  const first = gatedBlue.authenticate(upgradeRequest('b1'), new AbortController().signal);
  const gone = new AbortController();
  const waiting = gatedGreen.authenticate(upgradeRequest('g1'), gone.signal);
  gone.abort();
  assert.equal(!(await waiting).ok && (await waiting as { error: { code: string } }).error.code, 'CLIENT_GONE');
  assert.deepEqual({ ...gatedGreen.load }, { waiting: 0, inFlight: 0 });
  // The queue's place is free again.
  const next = gatedGreen.authenticate(upgradeRequest('g2'), new AbortController().signal);
  assert.deepEqual({ ...gatedGreen.load }, { waiting: 1, inFlight: 0 });
  blue.release();
  await first;
  green.release();
  assert.equal((await next).ok, true);
  assert.deepEqual(green.calls, ['g2']);
});
