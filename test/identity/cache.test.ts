// The auth decision cache: what is reused, for which credentials, and what never is.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createForwardPipeline, type ForwardPipelineOptions } from '../../src/identity/pipeline.js';
import { createAuthCache, credentialKey } from '../../src/identity/cache.js';
import type { AuthResult, UpgradeRequest } from '../../src/identity/authenticator.js';
import { captureLogger, forwardOptions, json, startAuthBackend, summary, upgradeRequest } from '../helpers/auth-backend.js';

const backend = await startAuthBackend();
after(() => backend.close());

/** How many backend calls the given upgrades cost, in order, through one authenticator. */
async function backendCalls(options: Partial<ForwardPipelineOptions>, requests: UpgradeRequest[]): Promise<number> {
  const { logger } = captureLogger();
  const auth = createForwardPipeline(await forwardOptions(backend.url, options), logger);
  const start = backend.requests.length;
  for (const request of requests) await auth.authenticate(request, new AbortController().signal);
  await auth.close();
  return backend.requests.length - start;
}

const on = { cacheTtlMs: 60_000, cacheNegativeTtlMs: 60_000 };

test('an allowed answer is reused for the same credentials, with the same keys', async () => {
  backend.setHandler(undefined);
  const { logger } = captureLogger();
  const auth = createForwardPipeline(await forwardOptions(backend.url, on), logger);
  const start = backend.requests.length;
  const request = upgradeRequest('email=a', { cookie: 's=1' });
  const first = await auth.authenticate(request, new AbortController().signal);
  const second = await auth.authenticate(request, new AbortController().signal);
  await auth.close();
  assert.deepEqual(summary(first), { ok: true, keys: ['a'] });
  assert.deepEqual(second, first);
  assert.equal(backend.requests.length - start, 1);
});

test('any change in cookie, authorization, a forwarded header or the query misses', async () => {
  backend.setHandler(undefined);
  const base = { cookie: 's=1', authorization: 'Bearer x', 'x-tenant': 't1' };
  const calls = await backendCalls({ ...on, forwardHeaders: ['x-tenant'] }, [
    upgradeRequest('email=a', base),
    upgradeRequest('email=a', { ...base, cookie: 's=2' }),
    upgradeRequest('email=a', { ...base, authorization: 'Bearer y' }),
    upgradeRequest('email=a', { ...base, 'x-tenant': 't2' }),
    upgradeRequest('email=a&token=2', base),
    upgradeRequest('email=a', base),
  ]);
  assert.equal(calls, 5);
});

test('a different Origin or client address misses: a backend may decide on either', async () => {
  backend.setHandler(undefined);
  const base = { cookie: 's=1', origin: 'https://app.example.com' };
  const calls = await backendCalls(on, [
    upgradeRequest('email=a', base),
    // The same cookie from another site's page must not borrow the answer given to the app's own page.
    upgradeRequest('email=a', { ...base, origin: 'https://evil.example' }),
    upgradeRequest('email=a', base, '198.51.100.9'),
    upgradeRequest('email=a', base),
  ]);
  assert.equal(calls, 3);
});

test('denials are cached for the negative TTL: 401, 403 and no keys', async () => {
  backend.setHandler(undefined);
  for (const query of ['', 'status=403']) {
    assert.equal(await backendCalls(on, [upgradeRequest(query), upgradeRequest(query)]), 1, query);
  }
  backend.setHandler((_req, res) => json(res, 200, { user: {} }));
  assert.equal(await backendCalls(on, [upgradeRequest(''), upgradeRequest('')]), 1, 'no keys');
});

test('outages, bad answers and other client errors are never cached', async () => {
  backend.setHandler(undefined);
  for (const query of ['status=500', 'status=429', 'status=302', 'status=404']) {
    assert.equal(await backendCalls(on, [upgradeRequest(query), upgradeRequest(query)]), 2, query);
  }
  backend.setHandler((_req, res) => { res.writeHead(200).end('<html>'); });
  assert.equal(await backendCalls(on, [upgradeRequest(''), upgradeRequest('')]), 2, 'HTML');
});

test('each TTL of 0 turns off its half; both 0 turns the cache off', async () => {
  backend.setHandler(undefined);
  const allowed = [upgradeRequest('email=a'), upgradeRequest('email=a')];
  const denied = [upgradeRequest(''), upgradeRequest('')];
  assert.equal(await backendCalls({ cacheTtlMs: 0, cacheNegativeTtlMs: 60_000 }, allowed), 2);
  assert.equal(await backendCalls({ cacheTtlMs: 0, cacheNegativeTtlMs: 60_000 }, denied), 1);
  assert.equal(await backendCalls({ cacheTtlMs: 60_000, cacheNegativeTtlMs: 0 }, denied), 2);
  assert.equal(await backendCalls({ cacheTtlMs: 60_000, cacheNegativeTtlMs: 0 }, allowed), 1);
  assert.equal(createAuthCache({ ttlMs: 0, negativeTtlMs: 0, max: 10 }), undefined);
  assert.equal(await backendCalls({ cacheTtlMs: 0, cacheNegativeTtlMs: 0 }, allowed), 2);
});

test('the cache holds at most max entries, dropping the least recently used', () => {
  const cache = createAuthCache({ ttlMs: 60_000, negativeTtlMs: 0, max: 2 });
  assert.ok(cache);
  const allowed: AuthResult = { ok: true, identity: { subject: undefined, session: undefined, keys: ['k'], claims: undefined, grants: { subscribe: [], publish: [] }, expiresAt: undefined } };
  cache.set('a', allowed);
  cache.set('b', allowed);
  cache.get('a');
  cache.set('c', allowed);
  assert.equal(cache.get('b'), undefined);
  assert.deepEqual(cache.get('a'), allowed);
  assert.deepEqual(cache.get('c'), allowed);
});

test('cache keys hash the credentials: unambiguous, and no value in the clear', () => {
  const names = ['cookie', 'authorization'];
  const key = credentialKey({ cookie: 'secret-session' }, names);
  assert.ok(!key.includes('secret'));
  assert.equal(key, credentialKey({ cookie: 'secret-session', 'user-agent': 'x' }, names));
  assert.notEqual(credentialKey({ cookie: '' }, names), credentialKey({}, names));
  assert.notEqual(credentialKey({ cookie: 'a', authorization: 'bc' }, names), credentialKey({ cookie: 'ab', authorization: 'c' }, names));
});
