// The JWT verifier with real tokens signed by jose: every algorithm family, and each refusal's code.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from '../../src/config.js';
import { OctowayError } from '../../src/errors.js';
import { createLogger } from '../../src/log.js';
import { createJwtVerifier, type VerifiedJwt } from '../../src/identity/jwt-verifier.js';
import { jwtSettings, nowS, sign, signingKey, unsignedToken, type SigningKey } from '../helpers/jwt.js';

const log = createLogger('silent');

function verifierFor(key: SigningKey, env: Record<string, string> = {}) {
  const setting: Record<string, string> = key.alg.startsWith('HS') ? { WS_JWT_SECRET: key.configured } : { WS_JWT_PUBLIC_KEY: key.configured };
  return createJwtVerifier(jwtSettings({ ...setting, ...env }), log);
}

function assertRefused(result: VerifiedJwt | OctowayError, code: string, why?: string): void {
  assert.ok(result instanceof OctowayError, `expected ${code}, got accepted claims ${JSON.stringify(result)}`);
  assert.equal(result.code, code, why ?? result.message);
  assert.equal(result.status, 401);
}

function assertAccepted(result: VerifiedJwt | OctowayError): VerifiedJwt {
  assert.ok(!(result instanceof OctowayError), `refused: ${(result as OctowayError).code} ${(result as OctowayError).message}`);
  return result;
}

describe('every algorithm family verifies its own tokens', () => {
  for (const alg of ['HS256', 'HS384', 'HS512', 'RS256', 'PS256', 'ES256', 'ES384', 'EdDSA']) {
    test(alg, async () => {
      const key = await signingKey(alg);
      const exp = nowS() + 60;
      const verified = assertAccepted(await verifierFor(key).verify(await sign(key, { sub: 'ann', keys: ['team-1'], custom: { plan: 'pro' }, exp })));
      assert.equal(verified.claims.sub, 'ann');
      assert.deepEqual(verified.claims.custom, { plan: 'pro' }, 'claims are kept whole');
      assert.equal(verified.expiresAt, exp * 1000);
      // A forged token: same claims, signed by another key of the same family.
      const other = await signingKey(alg);
      assertRefused(await verifierFor(key).verify(await sign(other, { sub: 'ann', exp })), 'JWT_BAD_SIGNATURE');
    });
  }

  test('a public key given as the base64 of its PEM (notiflux\'s JWT_PUBLIC_KEY_B64) works as the PEM does', async () => {
    const key = await signingKey('ES256');
    const verifier = createJwtVerifier(jwtSettings({ WS_JWT_PUBLIC_KEY: Buffer.from(key.configured).toString('base64') }), log);
    assertAccepted(await verifier.verify(await sign(key, { sub: 'n', topics: ['t'], scope: 'subscribe', exp: nowS() + 60 })));
  });

  test('a token without exp has no expiry unless WS_JWT_REQUIRE_EXP', async () => {
    const key = await signingKey('HS256');
    const verified = assertAccepted(await verifierFor(key).verify(await sign(key, { sub: 'ann' })));
    assert.equal(verified.expiresAt, undefined);
  });
});

describe('refusals, each with its code', () => {
  test('alg none is refused, whatever the key', async () => {
    for (const alg of ['HS256', 'ES256']) {
      const verifier = verifierFor(await signingKey(alg));
      assertRefused(await verifier.verify(unsignedToken({ sub: 'ann' })), 'JWT_ALG_NONE');
      const shouted = `${Buffer.from('{"alg":"NONE"}').toString('base64url')}.${Buffer.from('{"sub":"a"}').toString('base64url')}.`;
      assertRefused(await verifier.verify(shouted), 'JWT_ALG_NONE');
    }
  });

  test('an HMAC token signed with the public key as its secret is the confusion attack', async () => {
    for (const alg of ['RS256', 'ES256']) {
      const key = await signingKey(alg);
      const forged = await sign({ alg: 'HS256', key: new TextEncoder().encode(key.configured), configured: '' }, { sub: 'admin' });
      assertRefused(await verifierFor(key).verify(forged), 'JWT_ALG_CONFUSION');
    }
  });

  test('an algorithm outside WS_JWT_ALGORITHMS, or of another family than the key, is refused', async () => {
    const hs = await signingKey('HS256');
    const onlyHs256 = verifierFor(hs, { WS_JWT_ALGORITHMS: 'HS256' });
    assertRefused(await onlyHs256.verify(await sign({ ...hs, alg: 'HS512' }, { sub: 'a' })), 'JWT_ALG_NOT_ALLOWED');
    const rs = await signingKey('RS256');
    assertRefused(await verifierFor(hs).verify(await sign(rs, { sub: 'a' })), 'JWT_ALG_NOT_ALLOWED');
    // The default allow-list is the key's family: a P-256 key verifies ES256 only.
    const es256 = await signingKey('ES256');
    const es384 = await signingKey('ES384');
    assertRefused(await verifierFor(es256).verify(await sign(es384, { sub: 'a' })), 'JWT_ALG_NOT_ALLOWED');
  });

  test('a secret and a public key side by side: each token is checked by the key of its own family', async () => {
    const hs = await signingKey('HS256');
    const es = await signingKey('ES256');
    const verifier = createJwtVerifier(jwtSettings({ WS_JWT_SECRET: hs.configured, WS_JWT_PUBLIC_KEY: es.configured }), log);
    assertAccepted(await verifier.verify(await sign(hs, { sub: 'a' })));
    assertAccepted(await verifier.verify(await sign(es, { sub: 'a' })));
  });

  test('a tampered payload fails the signature', async () => {
    const key = await signingKey('HS256');
    const [head, , signature] = (await sign(key, { sub: 'ann' })).split('.');
    const tampered = `${head}.${Buffer.from('{"sub":"admin"}').toString('base64url')}.${signature}`;
    assertRefused(await verifierFor(key).verify(tampered), 'JWT_BAD_SIGNATURE');
  });

  test('expired, and accepted within WS_JWT_LEEWAY', async () => {
    const key = await signingKey('ES256');
    const token = await sign(key, { sub: 'a', exp: nowS() - 30 });
    assertRefused(await verifierFor(key).verify(token), 'JWT_EXPIRED');
    assertAccepted(await verifierFor(key, { WS_JWT_LEEWAY: '60s' }).verify(token));
  });

  test('nbf in the future, and accepted within WS_JWT_LEEWAY', async () => {
    const key = await signingKey('HS384');
    const token = await sign(key, { sub: 'a', nbf: nowS() + 30 });
    assertRefused(await verifierFor(key).verify(token), 'JWT_NOT_YET_VALID');
    assertAccepted(await verifierFor(key, { WS_JWT_LEEWAY: '1m' }).verify(token));
  });

  test('exp missing with WS_JWT_REQUIRE_EXP=true, or of the wrong type (dSock\'s "exp":"invalid") in any case', async () => {
    const key = await signingKey('HS256');
    const strict = verifierFor(key, { WS_JWT_REQUIRE_EXP: 'true' });
    assertRefused(await strict.verify(await sign(key, { sub: 'a' })), 'JWT_EXP_INVALID');
    assertRefused(await strict.verify(await sign(key, { sub: 'a', exp: 'invalid' as unknown as number })), 'JWT_EXP_INVALID');
    assertRefused(await verifierFor(key).verify(await sign(key, { sub: 'a', exp: 'invalid' as unknown as number })), 'JWT_EXP_INVALID');
    assertRefused(await verifierFor(key).verify(await sign(key, { sub: 'a', nbf: 'soon' as unknown as number })), 'JWT_CLAIM_INVALID');
  });

  test('audience and issuer: any listed value matches; another, or none, is refused', async () => {
    const key = await signingKey('RS256');
    const verifier = verifierFor(key, { WS_JWT_AUDIENCE: 'octoway,push', WS_JWT_ISSUER: 'https://id.example.com' });
    const iss = 'https://id.example.com';
    assertAccepted(await verifier.verify(await sign(key, { sub: 'a', aud: ['other', 'push'], iss })));
    assertRefused(await verifier.verify(await sign(key, { sub: 'a', aud: 'billing', iss })), 'JWT_WRONG_AUDIENCE');
    assertRefused(await verifier.verify(await sign(key, { sub: 'a', iss })), 'JWT_WRONG_AUDIENCE');
    assertRefused(await verifier.verify(await sign(key, { sub: 'a', aud: 'octoway', iss: 'https://evil.example.com' })), 'JWT_WRONG_ISSUER');
  });

  test('malformed tokens', async () => {
    const verifier = verifierFor(await signingKey('HS256'));
    for (const token of ['', 'abc', 'a.b', 'a.b.c.d', '!!.??.**', 'e30.e30.', `${Buffer.from('not json').toString('base64url')}.e30.abc`, 'x'.repeat(20_000)]) {
      assertRefused(await verifier.verify(token), 'JWT_MALFORMED');
    }
    const noAlg = `${Buffer.from('{"typ":"JWT"}').toString('base64url')}.e30.abc`;
    assertRefused(await verifier.verify(noAlg), 'JWT_MALFORMED');
    const arrayClaims = `${Buffer.from('{"alg":"HS256"}').toString('base64url')}.${Buffer.from('[1]').toString('base64url')}.abc`;
    const result = await verifier.verify(arrayClaims);
    assert.ok(result instanceof OctowayError && ['JWT_MALFORMED', 'JWT_BAD_SIGNATURE'].includes(result.code));
  });
});

describe('the synchronous checks refuse what jose refused', () => {
  test('RS384, RS512, PS384, PS512 and Ed25519 verify too', async () => {
    for (const alg of ['RS384', 'RS512', 'PS384', 'PS512', 'Ed25519']) {
      const key = await signingKey(alg);
      assertAccepted(await verifierFor(key).verify(await sign(key, { sub: 'ann', exp: nowS() + 60 })));
    }
  });

  test('a crit header other than b64, and an unencoded payload, are malformed', async () => {
    const key = await signingKey('HS256');
    const verifier = verifierFor(key);
    // Signed by hand: jose will not sign an extension it does not know.
    const { createHmac } = await import('node:crypto');
    const signed = (header: object): string => {
      const input = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from('{"sub":"a"}').toString('base64url')}`;
      return `${input}.${createHmac('sha256', key.configured).update(input).digest('base64url')}`;
    };
    assertRefused(await verifier.verify(signed({ alg: 'HS256', crit: ['exp'], exp: 1 })), 'JWT_MALFORMED');
    assertRefused(await verifier.verify(signed({ alg: 'HS256', crit: [] })), 'JWT_MALFORMED');
    assertRefused(await verifier.verify(signed({ alg: 'HS256', crit: ['b64'], b64: false })), 'JWT_MALFORMED');
    // b64 true under crit is the default spelled out: jose accepted it.
    assertAccepted(await verifier.verify(await sign(key, { sub: 'a' }, { crit: ['b64'], b64: true })));
  });

  test('signed claims that are not a JSON object, or a signature of an impossible length, are refused', async () => {
    const key = await signingKey('HS256');
    const head = Buffer.from('{"alg":"HS256"}').toString('base64url');
    const body = Buffer.from('[1]').toString('base64url');
    const { createHmac } = await import('node:crypto');
    const mac = createHmac('sha256', key.configured).update(`${head}.${body}`).digest('base64url');
    assertRefused(await verifierFor(key).verify(`${head}.${body}.${mac}`), 'JWT_MALFORMED');
    const [h, p, sig = ''] = (await sign(key, { sub: 'a' })).split('.');
    assertRefused(await verifierFor(key).verify(`${h}.${p}.${sig}AA`), 'JWT_MALFORMED', 'base64url of 45 characters: 4n+1 cannot be decoded');
    const es = await signingKey('ES256');
    const [eh, ep, esig = ''] = (await sign(es, { sub: 'a' })).split('.');
    assertRefused(await verifierFor(es).verify(`${eh}.${ep}.${esig.slice(0, -4)}`), 'JWT_BAD_SIGNATURE');
  });

  test('iat of the wrong type is a claim of the wrong type; exp exactly now is expired', async () => {
    const key = await signingKey('HS256');
    assertRefused(await verifierFor(key).verify(await sign(key, { sub: 'a', iat: 'today' as unknown as number })), 'JWT_CLAIM_INVALID');
    assertRefused(await verifierFor(key).verify(await sign(key, { sub: 'a', exp: nowS() })), 'JWT_EXPIRED');
  });

  test('the secret and public-key paths settle within the call: no thread-pool hop', async () => {
    const key = await signingKey('HS256');
    const verifier = verifierFor(key);
    const token = await sign(key, { sub: 'a' });
    let settled = false;
    void verifier.verify(token).then(() => { settled = true; });
    await Promise.resolve();
    await Promise.resolve();
    assert.ok(settled, 'the verification waited for more than microtasks');
  });
});

describe('configuration of the keys', () => {
  const base = { WS_AUTH_URL: 'http://auth.invalid/', WS_LOGIN: 'l', WS_PASSWORD: 'p' };
  const problems = (env: Record<string, string>): string => {
    try {
      loadConfig({ ...base, ...env });
    } catch (err) {
      if (err instanceof ConfigError) return err.problems.join('\n');
      throw err;
    }
    return '';
  };

  test('an empty secret, a private key, a broken PEM, two public-key sources and a foreign algorithm are refused', async () => {
    assert.match(problems({ WS_JWT_SECRET: '' }), /^WS_JWT_SECRET is set but empty: expected a secret, or leave it unset/m);
    assert.match(problems({ WS_JWT_SECRET: '   ' }), /^WS_JWT_SECRET is set but empty/m);
    assert.match(problems({ WS_JWT_PUBLIC_KEY: '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----' }), /WS_JWT_PUBLIC_KEY=.*: expected a public key, not a private one/);
    assert.match(problems({ WS_JWT_PUBLIC_KEY: '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----' }), /expected a PEM public key that can be parsed/);
    assert.match(problems({ WS_JWT_PUBLIC_KEY: 'not a key' }), /expected a PEM public key/);
    const es = await signingKey('ES256');
    assert.match(problems({ WS_JWT_PUBLIC_KEY: es.configured, WS_JWT_JWKS_URL: 'http://id.invalid/jwks' }), /WS_JWT_JWKS_URL=.*: expected unset when WS_JWT_PUBLIC_KEY is set/);
    assert.match(problems({ WS_JWT_PUBLIC_KEY: es.configured, WS_JWT_ALGORITHMS: 'ES256,RS256' }), /"RS256" needs a WS_JWT_PUBLIC_KEY of its family/);
    assert.match(problems({ WS_JWT_SECRET: 's', WS_JWT_ALGORITHMS: 'none' }), /"none" is not one/);
    assert.match(problems({ WS_JWT_LEEWAY: 'soon' }), /WS_JWT_LEEWAY="soon"/, 'checked even without a key');
  });

  test('the default allow-list is the configured keys\' families', async () => {
    assert.deepEqual(jwtSettings({ WS_JWT_SECRET: 's' }).algorithms, ['HS256', 'HS384', 'HS512']);
    assert.deepEqual(jwtSettings({ WS_JWT_PUBLIC_KEY: (await signingKey('ES384')).configured }).algorithms, ['ES384']);
    assert.deepEqual(jwtSettings({ WS_JWT_PUBLIC_KEY: (await signingKey('EdDSA')).configured }).algorithms, ['EdDSA', 'Ed25519']);
    assert.ok(jwtSettings({ WS_JWT_PUBLIC_KEY: (await signingKey('RS256')).configured }).algorithms.includes('PS256'));
    assert.equal(loadConfig(base).jwt, undefined, 'no key: no JWT settings');
  });
});
