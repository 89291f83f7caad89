// Forward auth against a real backend: how each kind of backend answer maps to an AuthResult.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { createForwardPipeline } from '../../src/identity/pipeline.js';
import type { AuthResult } from '../../src/identity/authenticator.js';
import type { Exporter } from '../../src/identity/exporters.js';
import {
  captureLogger, forwardOptions, json, startAuthBackend, summary, upgradeRequest, type AuthBackend, type Handler,
} from '../helpers/auth-backend.js';

const backend = await startAuthBackend();
after(() => backend.close());

async function authOnce(query: string, options: Parameters<typeof forwardOptions>[1] = {}, target: AuthBackend = backend) {
  const { logger, lines, raw } = captureLogger();
  const auth = createForwardPipeline(await forwardOptions(target.url, options), logger);
  try {
    const result = await auth.authenticate(upgradeRequest(query, { cookie: 'session=s3cret' }), new AbortController().signal);
    return { result, lines, raw };
  } finally {
    await auth.close();
  }
}

function assertError(result: AuthResult, code: string, status: number): void {
  assert.equal(result.ok, false, 'expected a failure');
  if (result.ok) return;
  assert.equal(result.error.code, code);
  assert.equal(result.error.status, status);
}

function withHandler(handler: Handler): AuthBackend {
  backend.setHandler(handler);
  return backend;
}

test('200 with a Goctopus body gives the email and organisation as keys', async () => {
  backend.setHandler(undefined);
  const { result, lines } = await authOnce('email=a%40x.io&org=acme');
  assert.deepEqual(summary(result), { ok: true, keys: ['a@x.io', 'acme'] });
  assert.equal(lines.filter((l) => l.level > 20).length, 0, 'nothing above debug on success');
});

test('calls the auth URL with GET, keeping its own query', async () => {
  backend.setHandler(undefined);
  const before = backend.requests.length;
  const url = `${backend.url}?app=chat`;
  const { logger } = captureLogger();
  const auth = createForwardPipeline(await forwardOptions(url), logger);
  await auth.authenticate(upgradeRequest('email=a'), new AbortController().signal);
  await auth.close();
  const seen = backend.requests[before];
  assert.equal(seen?.method, 'GET');
  assert.equal(seen?.url, '/auth?app=chat');
});

for (const [status, code, httpStatus] of [
  [401, 'AUTH_DENIED', 401],
  [403, 'AUTH_FORBIDDEN', 403],
  [404, 'AUTH_BACKEND_NOT_FOUND', 502],
  [400, 'AUTH_FORBIDDEN', 403],
  [429, 'AUTH_BACKEND_UNAVAILABLE', 503],
  [500, 'AUTH_BACKEND_UNAVAILABLE', 503],
  [503, 'AUTH_BACKEND_UNAVAILABLE', 503],
  [302, 'AUTH_BACKEND_INVALID', 502],
] as const) {
  test(`backend ${status} maps to ${code} (${httpStatus})`, async () => {
    backend.setHandler(undefined);
    const { result } = await authOnce(`status=${status}`);
    assertError(result, code, httpStatus);
  });
}

test('a 404 (a wrong WS_AUTH_URL) is logged as such, as an error, not as a refusal of the client', async () => {
  backend.setHandler(undefined);
  const { result, lines } = await authOnce('status=404');
  assertError(result, 'AUTH_BACKEND_NOT_FOUND', 502);
  assert.ok(lines.some((l) => l.level === 50 && l['code'] === 'AUTH_BACKEND_NOT_FOUND' && l.msg === 'auth backend answered 404: check WS_AUTH_URL'));
});

test('503 carries the backend Retry-After when numeric and sane, else a small default', async () => {
  const retryAfter = (value: string): Handler => (_req, res) => {
    res.setHeader('retry-after', value);
    json(res, 503, {});
  };
  const numeric = await authOnce('', {}, withHandler(retryAfter('7')));
  assertError(numeric.result, 'AUTH_BACKEND_UNAVAILABLE', 503);
  assert.equal(!numeric.result.ok && numeric.result.error.retryAfter, 7);
  for (const bad of ['Wed, 21 Oct 2015 07:28:00 GMT', '999999', 'soon']) {
    const { result } = await authOnce('', {}, withHandler(retryAfter(bad)));
    assert.equal(!result.ok && result.error.retryAfter, 2, bad);
  }
  const status429 = await authOnce('', {}, withHandler((_req, res) => { res.setHeader('retry-after', '3'); json(res, 429, {}); }));
  assert.equal(!status429.result.ok && status429.result.error.retryAfter, 3);
});

test('a redirect is not followed', async () => {
  const before = backend.requests.length;
  const { result } = await authOnce('', {}, withHandler((req, res) => {
    if (req.url?.startsWith('/elsewhere')) return json(res, 200, { user: { email: 'followed' } });
    res.writeHead(302, { location: '/elsewhere' }).end();
  }));
  assertError(result, 'AUTH_BACKEND_INVALID', 502);
  assert.equal(backend.requests.length - before, 1);
});

test('an HTML 200 is AUTH_BACKEND_INVALID', async () => {
  const { result, lines } = await authOnce('', {}, withHandler((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' }).end('<html>login</html>');
  }));
  assertError(result, 'AUTH_BACKEND_INVALID', 502);
  assert.ok(lines.some((l) => l.level === 40 && l['status'] === 200));
});

test('a body over 64 KiB is AUTH_BACKEND_INVALID, with or without Content-Length', async () => {
  const big = JSON.stringify({ user: { email: 'a', pad: 'x'.repeat(70 * 1024) } });
  const declared = await authOnce('', {}, withHandler((_req, res) => { res.writeHead(200).end(big); }));
  assertError(declared.result, 'AUTH_BACKEND_INVALID', 502);
  const chunked = await authOnce('', {}, withHandler((_req, res) => {
    res.writeHead(200, { 'transfer-encoding': 'chunked' });
    res.write(big.slice(0, 40 * 1024));
    res.end(big.slice(40 * 1024));
  }));
  assertError(chunked.result, 'AUTH_BACKEND_INVALID', 502);
});

test('a 200 whose body maps to no key is AUTH_NO_KEYS', async () => {
  const { result } = await authOnce('', {}, withHandler((_req, res) => json(res, 200, { user: { email: '' } })));
  assertError(result, 'AUTH_NO_KEYS', 403);
});

test('an exporter that throws, rejects or returns garbage is EXPORTER_FAILED and logged without secrets', async () => {
  backend.setHandler(undefined);
  const exporters: Exporter[] = [
    () => { throw new Error('token s3cret leaked'); },
    () => Promise.reject(new Error('s3cret')),
    () => [1, 2] as unknown as { keys: string[] },
    () => 'a' as unknown as { keys: string[] },
    () => ({ keys: ['a'], claims: 5 }) as unknown as { keys: string[] },
  ];
  for (const exporter of exporters) {
    const { result, lines, raw } = await authOnce('email=a', { exporter });
    assertError(result, 'EXPORTER_FAILED', 502);
    assert.ok(lines.some((l) => l.level >= 50 && l.msg === 'auth exporter failed'));
    assert.ok(!raw.join('').includes('s3cret'), 'no secrets in logs');
  }
});

test('an exporter that never settles is EXPORTER_FAILED after WS_AUTH_TIMEOUT, and frees its slot', async () => {
  backend.setHandler(undefined);
  let calls = 0;
  const exporter: Exporter = () => (++calls === 1 ? new Promise<never>(() => undefined) : { keys: ['second'] });
  const { logger, lines } = captureLogger();
  const auth = createForwardPipeline(await forwardOptions(backend.url, { exporter, timeoutMs: 150, workers: 1 }), logger);
  try {
    const hung = auth.authenticate(upgradeRequest('email=a'), new AbortController().signal);
    // With one worker, this call can only run once the hung one gave its slot back.
    const next = auth.authenticate(upgradeRequest('email=b'), new AbortController().signal);
    assertError(await hung, 'EXPORTER_FAILED', 502);
    assert.deepEqual(summary(await next), { ok: true, keys: ['second'] });
    assert.ok(lines.some((l) => l.msg === 'auth exporter failed' && l['exporterError'] === 'the exporter did not settle within WS_AUTH_TIMEOUT'));
  } finally {
    await auth.close();
  }
});

test('a hanging backend past the timeout is AUTH_BACKEND_UNAVAILABLE', async () => {
  const held: ServerResponse[] = [];
  const { result, lines } = await authOnce('', { timeoutMs: 100 }, withHandler((_req, res) => { held.push(res); }));
  assertError(result, 'AUTH_BACKEND_UNAVAILABLE', 503);
  assert.ok(lines.some((l) => l.level === 40 && l.msg === 'auth backend timed out'));
  for (const res of held) res.destroy();
});

test('a backend that is down is AUTH_BACKEND_UNAVAILABLE, logged by error code only', async () => {
  const down = await startAuthBackend();
  await down.close();
  const { result, lines, raw } = await authOnce('token=s3cret', {}, down);
  assertError(result, 'AUTH_BACKEND_UNAVAILABLE', 503);
  assert.ok(lines.some((l) => l.level === 40 && l['code'] === 'ECONNREFUSED'));
  assert.ok(!raw.join('').includes('s3cret'));
});

test('bodies are consumed, so one connection serves successive answers of every kind', { timeout: 4000 }, async () => {
  // Bodies bigger than undici's 64 KiB read-ahead hold the connection until someone reads them.
  const ports: number[] = [];
  backend.setHandler((req, res) => {
    ports.push(req.socket.remotePort ?? 0);
    const status = new URL(String(req.headers['x-forwarded-uri']), 'http://x').searchParams.get('status');
    if (status === null) return json(res, 200, { user: { email: 'a' } });
    res.writeHead(Number(status), { 'content-type': 'text/plain' }).end('y'.repeat(200_000));
  });
  const { logger } = captureLogger();
  const auth = createForwardPipeline(await forwardOptions(backend.url, { workers: 1, timeoutMs: 1000 }), logger);
  const signal = new AbortController().signal;
  const codes: string[] = [];
  for (const query of ['', 'status=401', 'status=500', 'status=404', '']) {
    const result = await auth.authenticate(upgradeRequest(query), signal);
    codes.push(result.ok ? 'ok' : result.error.code);
  }
  await auth.close();
  assert.deepEqual(codes, ['ok', 'AUTH_DENIED', 'AUTH_BACKEND_UNAVAILABLE', 'AUTH_BACKEND_NOT_FOUND', 'ok']);
  assert.equal(new Set(ports).size, 1, 'every call reused the first connection');
});

test('a body that stalls past the timeout after the headers is AUTH_BACKEND_UNAVAILABLE', async () => {
  const held: ServerResponse[] = [];
  const { result, lines } = await authOnce('', { timeoutMs: 100 }, withHandler((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': 100 });
    res.write('{"user":');
    held.push(res);
  }));
  assertError(result, 'AUTH_BACKEND_UNAVAILABLE', 503);
  assert.ok(lines.some((l) => l.level === 40 && l.msg === 'auth backend timed out'));
  for (const res of held) res.destroy();
});

test('a body trickled in under each per-phase timeout still ends at WS_AUTH_TIMEOUT overall, and frees its slot', { timeout: 5000 }, async () => {
  const held: ServerResponse[] = [];
  const backendWithTrickle = withHandler((req, res) => {
    if (!String(req.headers['x-forwarded-uri']).includes('trickle')) return json(res, 200, { user: { email: 'next' } });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': 10_000 });
    held.push(res);
    // One space every 40 ms: never a gap as long as the 200 ms timeout, never finished.
    const drip = setInterval(() => (res.destroyed ? clearInterval(drip) : res.write(' ')), 40);
  });
  const { logger, lines } = captureLogger();
  const auth = createForwardPipeline(await forwardOptions(backendWithTrickle.url, { workers: 1, timeoutMs: 200 }), logger);
  const signal = new AbortController().signal;
  const started = performance.now();
  assertError(await auth.authenticate(upgradeRequest('trickle'), signal), 'AUTH_BACKEND_UNAVAILABLE', 503);
  const took = performance.now() - started;
  assert.ok(took >= 200, `gave up after ${took.toFixed(0)} ms, before the timeout`);
  assert.ok(lines.some((l) => l.level === 40 && l.msg === 'auth backend timed out' && l['code'] === 'OCTOWAY_AUTH_DEADLINE'));
  // The single slot is free again, and the next answer is read whole on a fresh connection.
  assert.deepEqual(summary(await auth.authenticate(upgradeRequest('next'), signal)), { ok: true, keys: ['next'] });
  await auth.close();
  for (const res of held) res.destroy();
});

test('an error body past the discard limit keeps the status decision; the next call still works', async () => {
  backend.setHandler((req, res) => {
    if (String(req.headers['x-forwarded-uri']).includes('huge')) {
      res.writeHead(401, { 'content-type': 'text/plain' }).end('n'.repeat(600_000));
      return;
    }
    json(res, 200, { user: { email: 'a' } });
  });
  const { logger } = captureLogger();
  const auth = createForwardPipeline(await forwardOptions(backend.url, { workers: 1, timeoutMs: 1000 }), logger);
  const signal = new AbortController().signal;
  assertError(await auth.authenticate(upgradeRequest('huge'), signal), 'AUTH_DENIED', 401);
  assert.deepEqual(summary(await auth.authenticate(upgradeRequest(''), signal)), { ok: true, keys: ['a'] });
  await auth.close();
});

test('after close() it answers SHUTTING_DOWN without calling the backend', async () => {
  backend.setHandler(undefined);
  const { logger } = captureLogger();
  const auth = createForwardPipeline(await forwardOptions(backend.url), logger);
  await auth.close();
  const before = backend.requests.length;
  const result = await auth.authenticate(upgradeRequest('email=a'), new AbortController().signal);
  assertError(result, 'SHUTTING_DOWN', 503);
  assert.equal(backend.requests.length, before);
});
