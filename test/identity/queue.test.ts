// Forward auth concurrency (the gate around the backend call): the worker limit, the waiting-queue limit and clients that go away.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { createForwardPipeline } from '../../src/identity/pipeline.js';
import type { AbortListener } from '../../src/identity/authenticator.js';
import {
  captureLogger, defaultHandler, forwardOptions, startAuthBackend, summary, upgradeRequest,
} from '../helpers/auth-backend.js';

const backend = await startAuthBackend();
after(() => backend.close());

/** Requests whose X-Forwarded-Uri says `hang` get no answer until released. */
const held: ServerResponse[] = [];
backend.setHandler((req, res) => {
  if (String(req.headers['x-forwarded-uri']).includes('hang')) held.push(res);
  else defaultHandler(req, res);
});

function releaseHeld(): void {
  for (const res of held.splice(0)) defaultHandler({ headers: { 'x-forwarded-uri': '/ws?email=released' } } as never, res);
}

function seenUris(from: number): string[] {
  return backend.requests.slice(from).map((r) => String(r.headers['x-forwarded-uri']));
}

async function authenticator(workers: number, queueLimit: number) {
  const { logger, lines } = captureLogger();
  return { auth: createForwardPipeline(await forwardOptions(backend.url, { workers, queueLimit }), logger), lines };
}

test('past the waiting limit the next call gets AUTH_QUEUE_FULL at once', async () => {
  const { auth } = await authenticator(1, 1);
  const start = backend.requests.length;
  const signal = new AbortController().signal;
  const first = auth.authenticate(upgradeRequest('hang&email=1'), signal);
  await backend.waitForRequests(start + 1);
  const second = auth.authenticate(upgradeRequest('email=2'), signal);
  assert.deepEqual({ ...auth.load }, { waiting: 1, inFlight: 1 });
  const third = await auth.authenticate(upgradeRequest('email=3'), signal);
  assert.equal(third.ok, false);
  assert.equal(!third.ok && third.error.code, 'AUTH_QUEUE_FULL');
  assert.equal(!third.ok && third.error.status, 503);
  assert.equal(!third.ok && third.error.retryAfter, 1);
  releaseHeld();
  assert.deepEqual(summary(await first), { ok: true, keys: ['released'] });
  assert.deepEqual(summary(await second), { ok: true, keys: ['2'] });
  assert.deepEqual({ ...auth.load }, { waiting: 0, inFlight: 0 });
  assert.deepEqual(seenUris(start), ['/ws?hang&email=1', '/ws?email=2']);
  await auth.close();
});

test('with a waiting limit of 0 calls still run while a worker is free', async () => {
  const { auth } = await authenticator(2, 0);
  const signal = new AbortController().signal;
  const results = await Promise.all([
    auth.authenticate(upgradeRequest('email=a'), signal),
    auth.authenticate(upgradeRequest('email=b'), signal),
    auth.authenticate(upgradeRequest('email=c'), signal),
  ]);
  assert.deepEqual(results.map((r) => (r.ok ? r.identity.keys[0] : r.error.code)), ['a', 'b', 'AUTH_QUEUE_FULL']);
  await auth.close();
});

test('a client that goes away while queued is dropped: the backend never sees it', async () => {
  const { auth, lines } = await authenticator(1, 4);
  const start = backend.requests.length;
  const first = auth.authenticate(upgradeRequest('hang&email=1'), new AbortController().signal);
  await backend.waitForRequests(start + 1);
  const leaving = new AbortController();
  const queued = auth.authenticate(upgradeRequest('email=gone'), leaving.signal);
  assert.equal(auth.load.waiting, 1);
  leaving.abort();
  const dropped = await queued;
  assert.equal(!dropped.ok && dropped.error.code, 'CLIENT_GONE', 'a client leaving is not AUTH_BACKEND_UNAVAILABLE');
  assert.equal(auth.load.waiting, 0);
  releaseHeld();
  await first;
  assert.deepEqual(summary(await auth.authenticate(upgradeRequest('email=next'), new AbortController().signal)), { ok: true, keys: ['next'] });
  assert.deepEqual(seenUris(start), ['/ws?hang&email=1', '/ws?email=next']);
  assert.equal(lines.filter((l) => l.level >= 40).length, 0, 'a client leaving is not a backend failure');
  await auth.close();
});

test('a client that goes away in flight frees its worker while the backend still hangs', async () => {
  const { auth, lines } = await authenticator(1, 4);
  const start = backend.requests.length;
  const leaving = new AbortController();
  const first = auth.authenticate(upgradeRequest('hang&email=1'), leaving.signal);
  await backend.waitForRequests(start + 1);
  const second = auth.authenticate(upgradeRequest('email=2'), new AbortController().signal);
  assert.deepEqual({ ...auth.load }, { waiting: 1, inFlight: 1 });
  leaving.abort();
  const gone = await first;
  assert.equal(!gone.ok && gone.error.code, 'CLIENT_GONE');
  assert.deepEqual(summary(await second), { ok: true, keys: ['2'] });
  assert.equal(held.length, 1, 'the backend has not answered the first call');
  assert.equal(lines.filter((l) => l.level >= 40).length, 0);
  held.splice(0).forEach((res) => res.destroy());
  await auth.close();
});

test('an already-aborted signal resolves without calling the backend', async () => {
  const { auth } = await authenticator(1, 4);
  const start = backend.requests.length;
  const result = await auth.authenticate(upgradeRequest('email=a'), AbortSignal.abort());
  assert.equal(result.ok, false);
  assert.equal(backend.requests.length, start);
  await auth.close();
});

test('workers bound the calls in flight', async () => {
  const { auth } = await authenticator(2, 8);
  const start = backend.requests.length;
  const signal = new AbortController().signal;
  const calls = [1, 2, 3, 4].map((n) => auth.authenticate(upgradeRequest(`hang&email=${n}`), signal));
  await backend.waitForRequests(start + 2);
  assert.deepEqual({ ...auth.load }, { waiting: 2, inFlight: 2 });
  assert.equal(held.length, 2);
  releaseHeld();
  await backend.waitForRequests(start + 4);
  releaseHeld();
  assert.equal((await Promise.all(calls)).filter((r) => r.ok).length, 4);
  await auth.close();
});

test('close() answers waiting calls SHUTTING_DOWN at once; they never reach the backend', async () => {
  const { auth } = await authenticator(1, 4);
  const start = backend.requests.length;
  const signal = new AbortController().signal;
  const first = auth.authenticate(upgradeRequest('hang&email=1'), signal);
  await backend.waitForRequests(start + 1);
  const queued = auth.authenticate(upgradeRequest('email=2'), signal);
  const closing = auth.close();
  const result = await queued;
  assert.equal(!result.ok && result.error.code, 'SHUTTING_DOWN');
  assert.deepEqual({ ...auth.load }, { waiting: 0, inFlight: 1 });
  releaseHeld();
  assert.deepEqual(summary(await first), { ok: true, keys: ['released'] });
  await closing;
  assert.deepEqual(seenUris(start), ['/ws?hang&email=1']);
});

test('a signal that is not an AbortSignal works: the gate\'s and the call\'s listeners, removed once the call settles', async () => {
  const { auth } = await authenticator(1, 4);
  const listeners = new Set<AbortListener>();
  const signal = {
    aborted: false,
    addEventListener: (_type: 'abort', l: AbortListener) => void listeners.add(l),
    removeEventListener: (_type: 'abort', l: AbortListener) => void listeners.delete(l),
  };
  const start = backend.requests.length;
  const pending = auth.authenticate(upgradeRequest('hang&email=1'), signal);
  await backend.waitForRequests(start + 1);
  assert.equal(listeners.size, 2, 'the gate and the backend call each listen');
  signal.aborted = true;
  for (const l of [...listeners]) typeof l === 'function' ? l() : l.handleEvent();
  assert.equal((await pending).ok, false);
  assert.equal(listeners.size, 0);
  assert.deepEqual({ ...auth.load }, { waiting: 0, inFlight: 0 });
  held.splice(0).forEach((res) => res.destroy());
  assert.deepEqual(summary(await auth.authenticate(upgradeRequest('email=next'), new AbortController().signal)), { ok: true, keys: ['next'] });
  await auth.close();
});
