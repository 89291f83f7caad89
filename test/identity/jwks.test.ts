// WS_JWT_JWKS_URL against a real local HTTP server serving a key set: cached, refetched when a new
// kid appears (at most once per WS_JWT_JWKS_COOLDOWN), kept when the server fails, timed out.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type ServerResponse } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { JWK } from 'jose';
import { OctowayError } from '../../src/errors.js';
import { createLogger } from '../../src/log.js';
import { createJwtVerifier } from '../../src/identity/jwt-verifier.js';
import { jwtSettings, nowS, sign, signingKey, type SigningKey } from '../helpers/jwt.js';

const log = createLogger('silent');

/** The identity provider: serves `keys` as a JWKS and counts the fetches. */
interface Provider { url: string; fetches: number; keys: JWK[]; mode: 'ok' | 'fail' | 'hang' }
const provider: Provider = { url: '', fetches: 0, keys: [], mode: 'ok' };
const hanging: ServerResponse[] = [];
const server = createServer((req, res) => {
  provider.fetches++;
  if (provider.mode === 'fail') return res.writeHead(500).end('down');
  if (provider.mode === 'hang') return void hanging.push(res);
  res.writeHead(200, { 'content-type': 'application/jwk-set+json' }).end(JSON.stringify({ keys: provider.keys }));
});
server.listen(0, '127.0.0.1');
await once(server, 'listening');
provider.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
after(() => {
  for (const res of hanging) res.destroy();
  server.close();
});

async function keyWithId(alg: string, kid: string): Promise<SigningKey & { jwk: JWK }> {
  const key = await signingKey(alg);
  return { ...key, jwk: { ...key.jwk, kid, alg, use: 'sig' } };
}

const verifierWith = (env: Record<string, string> = {}) => createJwtVerifier(jwtSettings({ WS_JWT_JWKS_URL: provider.url, ...env }), log);
const token = (key: SigningKey, kid: string) => sign(key, { sub: 'ann', exp: nowS() + 60 }, { kid });

function reset(keys: JWK[]): void {
  provider.keys = keys;
  provider.fetches = 0;
  provider.mode = 'ok';
}

describe('JWKS', () => {
  test('fetched once and cached: many tokens, one fetch', async () => {
    const a = await keyWithId('ES256', 'a');
    const rs = await keyWithId('RS256', 'r');
    reset([a.jwk, rs.jwk]);
    const verifier = verifierWith();
    const results = await Promise.all([...Array.from({ length: 10 }, () => token(a, 'a')), token(rs, 'r')].map(async (t) => verifier.verify(await t)));
    for (const r of results) assert.ok(!(r instanceof OctowayError), r instanceof OctowayError ? r.code : '');
    assert.equal(provider.fetches, 1, 'concurrent verifications share one fetch');
  });

  test('rotation: a token with a new kid makes it fetch again, and the new key verifies it', async () => {
    const a = await keyWithId('ES256', 'a');
    const b = await keyWithId('EdDSA', 'b');
    reset([a.jwk]);
    const verifier = verifierWith({ WS_JWT_JWKS_COOLDOWN: '0' });
    assert.ok(!((await verifier.verify(await token(a, 'a'))) instanceof OctowayError));
    provider.keys = [a.jwk, b.jwk]; // the provider publishes b beside a
    const rotated = await verifier.verify(await token(b, 'b'));
    assert.ok(!(rotated instanceof OctowayError), rotated instanceof OctowayError ? rotated.code : '');
    assert.equal(provider.fetches, 2);
    // A kid the provider never published: fetched again, still unknown.
    const unknown = await verifier.verify(await token(a, 'zz'));
    assert.ok(unknown instanceof OctowayError && unknown.code === 'JWT_KEY_UNKNOWN');
    assert.equal(provider.fetches, 3);
  });

  test('cooldown: an unknown kid within WS_JWT_JWKS_COOLDOWN of the last fetch does not fetch again', async () => {
    const a = await keyWithId('ES256', 'a');
    const b = await keyWithId('ES256', 'b');
    reset([a.jwk]);
    const verifier = verifierWith({ WS_JWT_JWKS_COOLDOWN: '1h' });
    assert.ok(!((await verifier.verify(await token(a, 'a'))) instanceof OctowayError));
    provider.keys = [a.jwk, b.jwk];
    for (let i = 0; i < 20; i++) {
      const r = await verifier.verify(await token(b, 'b'));
      assert.ok(r instanceof OctowayError && r.code === 'JWT_KEY_UNKNOWN');
    }
    assert.equal(provider.fetches, 1, 'a flood of unknown kids costs the provider nothing');
  });

  test('a provider that fails: 503 JWT_KEYS_UNAVAILABLE before any set was fetched, then retried', async () => {
    const a = await keyWithId('ES256', 'a');
    reset([a.jwk]);
    provider.mode = 'fail';
    const verifier = verifierWith();
    const r = await verifier.verify(await token(a, 'a'));
    assert.ok(r instanceof OctowayError);
    assert.equal(r.code, 'JWT_KEYS_UNAVAILABLE');
    assert.equal(r.status, 503);
    assert.ok(r.retryAfter !== undefined);
    // Right after a failure nothing is fetched (no hammering of a provider that is down).
    await verifier.verify(await token(a, 'a'));
    assert.equal(provider.fetches, 1);
  });

  test('a provider that fails after a successful fetch: the cached keys keep verifying', async () => {
    const a = await keyWithId('ES256', 'a');
    const b = await keyWithId('ES256', 'b');
    reset([a.jwk]);
    const verifier = verifierWith({ WS_JWT_JWKS_COOLDOWN: '0' });
    assert.ok(!((await verifier.verify(await token(a, 'a'))) instanceof OctowayError));
    provider.mode = 'fail';
    const r = await verifier.verify(await token(b, 'b')); // forces a fetch, which fails
    assert.ok(r instanceof OctowayError && r.code === 'JWT_KEY_UNKNOWN');
    assert.equal(provider.fetches, 2);
    assert.ok(!((await verifier.verify(await token(a, 'a'))) instanceof OctowayError), 'kid a still verifies');
  });

  test('a provider that never answers: refused after WS_JWT_JWKS_TIMEOUT', async () => {
    const a = await keyWithId('ES256', 'a');
    reset([a.jwk]);
    provider.mode = 'hang';
    const verifier = verifierWith({ WS_JWT_JWKS_TIMEOUT: '200ms' });
    const started = Date.now();
    const r = await verifier.verify(await token(a, 'a'));
    assert.ok(r instanceof OctowayError && r.code === 'JWT_KEYS_UNAVAILABLE');
    assert.ok(Date.now() - started < 5_000, 'bounded by the timeout');
  });
});
