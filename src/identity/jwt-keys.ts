// The keys JWTs are verified with, as configured: which algorithms each can verify, and how a
// public key is read from its PEM (or the base64 of a PEM, as notiflux's JWT_PUBLIC_KEY_B64 takes it).
// Used by config.ts at start, so a bad key stops the process before it listens.
import { createPublicKey, type KeyObject } from 'node:crypto';

export const HMAC_ALGORITHMS = ['HS256', 'HS384', 'HS512'] as const;
const RSA_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'] as const;
const PSS_ALGORITHMS = ['PS256', 'PS384', 'PS512'] as const;
/** `Ed25519` is the name RFC 9864 gives EdDSA over Ed25519; jose accepts both. */
const EDDSA_ALGORITHMS = ['EdDSA', 'Ed25519'] as const;
const EC_ALGORITHMS: Readonly<Record<string, string>> = { prime256v1: 'ES256', secp384r1: 'ES384', secp521r1: 'ES512' };

/** Every algorithm a key from a JWKS may use (the JWK's own `kty`/`crv`/`alg` narrow it further). */
export const ASYMMETRIC_ALGORITHMS: readonly string[] = [...RSA_ALGORITHMS, 'ES256', 'ES384', 'ES512', ...EDDSA_ALGORITHMS];
export const KNOWN_ALGORITHMS: readonly string[] = [...HMAC_ALGORITHMS, ...ASYMMETRIC_ALGORITHMS];

export function isHmacAlgorithm(alg: string): boolean {
  return alg.startsWith('HS');
}

/** Reads WS_JWT_PUBLIC_KEY: a PEM (with real newlines, or `\n` escapes as .env files often carry
 * them) or the base64 of one. A private key is refused: it does not belong in the gateway's
 * environment, and the gateway only verifies. Returns an explanation instead of a key on failure. */
export function readPublicKey(text: string): { key: KeyObject; algorithms: readonly string[] } | { problem: string } {
  let pem = text.replace(/\\n/g, '\n').trim();
  if (!pem.startsWith('-----BEGIN')) {
    const decoded = /^[A-Za-z0-9+/=\s_-]+$/.test(pem) ? Buffer.from(pem, 'base64').toString('utf8').trim() : '';
    if (!decoded.startsWith('-----BEGIN')) return { problem: 'a PEM public key ("-----BEGIN PUBLIC KEY-----…") or the base64 of one' };
    pem = decoded;
  }
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem)) return { problem: 'a public key, not a private one (give the gateway the public half only)' };
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch {
    return { problem: 'a PEM public key that can be parsed (this one cannot)' }; // the parser's text could echo key material
  }
  const algorithms = algorithmsOfKey(key);
  if (algorithms.length === 0) return { problem: `an RSA, EC (P-256, P-384, P-521) or Ed25519 public key (this one is ${key.asymmetricKeyType ?? 'unknown'})` };
  return { key, algorithms };
}

/** The algorithms a public key can verify: its family only. */
export function algorithmsOfKey(key: KeyObject): readonly string[] {
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return RSA_ALGORITHMS;
    case 'rsa-pss':
      return PSS_ALGORITHMS;
    case 'ec': {
      const alg = EC_ALGORITHMS[key.asymmetricKeyDetails?.namedCurve ?? ''];
      return alg === undefined ? [] : [alg];
    }
    case 'ed25519':
      return EDDSA_ALGORITHMS;
    default:
      return [];
  }
}
