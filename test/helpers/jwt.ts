// Real keys and real tokens signed by jose, for the tests of every mode that takes a JWT.
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type JWK, type JWTPayload } from 'jose';
import { loadConfig, type JwtSettings } from '../../src/config.js';

export interface SigningKey {
  readonly alg: string;
  /** The private half (CryptoKey) or the HMAC secret's bytes. */
  readonly key: CryptoKey | Uint8Array;
  /** What WS_JWT_SECRET or WS_JWT_PUBLIC_KEY is set to. */
  readonly configured: string;
  /** The public half as a JWK (asymmetric keys only). */
  readonly jwk?: JWK;
}

/** A fresh key for `alg`: a random 32-byte-or-more secret for HS*, a generated pair otherwise. */
export async function signingKey(alg: string): Promise<SigningKey> {
  if (alg.startsWith('HS')) {
    const secret = `test-secret-${alg}-${Math.random().toString(36).slice(2)}-padding-to-64-bytes-for-hs512-0123456789`;
    return { alg, key: new TextEncoder().encode(secret), configured: secret };
  }
  const pair = await generateKeyPair(alg, { extractable: true, ...(alg === 'EdDSA' ? { crv: 'Ed25519' } : {}) });
  return { alg, key: pair.privateKey, configured: await exportSPKI(pair.publicKey), jwk: await exportJWK(pair.publicKey) };
}

/** Signs `claims` with `key`; `header` overrides header fields (a `kid`, a lying `alg`). */
export function sign(key: SigningKey, claims: JWTPayload, header: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: key.alg, ...header }).sign(key.key);
}

export const nowS = (): number => Math.floor(Date.now() / 1000);

/** The JWT settings loadConfig makes of `env` (plus what it requires of every deployment). */
export function jwtSettings(env: Record<string, string>): JwtSettings {
  const config = loadConfig({ WS_AUTH_URL: 'http://auth.invalid/', WS_LOGIN: 'l', WS_PASSWORD: 'p', ...env });
  if (config.jwt === undefined) throw new Error('no JWT key in the test environment');
  return config.jwt;
}

/** An unsigned token (`alg: none`), as an attacker would send it. */
export function unsignedToken(claims: JWTPayload): string {
  const part = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({ alg: 'none', typ: 'JWT' })}.${part(claims)}.`;
}
