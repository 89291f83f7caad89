// Local JWT verification, for every mode that takes a JWT (client `jwt`, publisher `jwt`).
// Checks run before the signature in an order that gives each refusal its own code: shape, then
// `alg` (none, HMAC against a public key, the allow-list), then the signature and claims checks:
// synchronous node:crypto ones (jwt-sync.ts) for the configured secret and public key, jose's for
// a JWKS, whose key getter fetches. Both give the same refusal for the same token.
import { createSecretKey, type KeyObject } from 'node:crypto';
import { errors, jwtVerify, type JWTPayload, type JWTVerifyOptions } from 'jose';
import type { JwtSettings } from '../config.js';
import { OctowayError, type ErrorCode } from '../errors.js';
import type { Logger } from '../log.js';
import { createJwks, JwksUnavailable, type JwksKey } from './jwks.js';
import { algorithmsOfKey, isHmacAlgorithm } from './jwt-keys.js';
import { jsonObjectOf, verifyWithKey, type ClaimRules } from './jwt-sync.js';

export interface VerifiedJwt {
  /** The claims, whole (`custom`, `topics`, `read`… are kept for grants and targeting). */
  readonly claims: Readonly<JWTPayload>;
  /** `exp` in milliseconds since the epoch; undefined for a token without `exp`. */
  readonly expiresAt: number | undefined;
}

export interface JwtVerifier {
  /** Verifies one compact JWS. Never throws or rejects: a refusal is the returned OctowayError.
   * With a secret or a public key the promise is already settled (the work was done in the call). */
  verify(token: string): Promise<VerifiedJwt | OctowayError>;
}

/** Longer than any token a header or query string carries in practice; refused before parsing. */
const MAX_TOKEN_LENGTH = 16 * 1024;
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$/;

export function createJwtVerifier(settings: JwtSettings, log: Logger): JwtVerifier {
  const allowed = new Set(settings.algorithms);
  // A KeyObject, not the bytes: jose imports raw bytes anew on every verification, but converts a
  // KeyObject once per algorithm and caches it (HS256 verification took ~4x longer from bytes).
  const secret = settings.secret === undefined ? undefined : createSecretKey(settings.secret);
  const publicKey: KeyObject | JwksKey | undefined = settings.publicKey
    ?? (settings.jwksUrl === undefined ? undefined : createJwks({ url: settings.jwksUrl, timeoutMs: settings.jwksTimeoutMs, cooldownMs: settings.jwksCooldownMs }, log));
  const rules: ClaimRules = { leewayS: settings.leewayMs / 1000, requireExp: settings.requireExp, audience: settings.audience, issuer: settings.issuer };
  // The algorithms the configured public key can verify (config.ts keeps the allow-list to them);
  // jose refused RSA keys under 2048 bits with a TypeError, which stays an internal error here.
  const keyAlgorithms = settings.publicKey === undefined ? [] : algorithmsOfKey(settings.publicKey);
  const weakRsa = (settings.publicKey?.asymmetricKeyDetails?.modulusLength ?? 2048) < 2048;
  const options: JWTVerifyOptions = {
    algorithms: settings.algorithms as string[],
    clockTolerance: settings.leewayMs / 1000,
    ...(settings.requireExp ? { requiredClaims: ['exp'] } : {}),
    ...(settings.audience.length > 0 ? { audience: settings.audience as string[] } : {}),
    ...(settings.issuer.length > 0 ? { issuer: settings.issuer as string[] } : {}),
  };

  /** The key for `alg`, or the refusal when the configuration has none for it. */
  const keyFor = (alg: string): KeyObject | JwksKey | OctowayError => {
    if (alg.toLowerCase() === 'none') return refusal('JWT_ALG_NONE');
    if (isHmacAlgorithm(alg)) {
      // The classic confusion attack: a token signed with HMAC using the (public) key as the secret.
      if (secret === undefined) return refusal(publicKey === undefined ? 'JWT_ALG_NOT_ALLOWED' : 'JWT_ALG_CONFUSION');
      return allowed.has(alg) ? secret : refusal('JWT_ALG_NOT_ALLOWED', `algorithm ${JSON.stringify(alg)} is not in WS_JWT_ALGORITHMS`);
    }
    if (!allowed.has(alg) || publicKey === undefined) return refusal('JWT_ALG_NOT_ALLOWED', `algorithm ${JSON.stringify(alg.slice(0, 20))} is not in WS_JWT_ALGORITHMS`);
    return publicKey;
  };

  /** The JWKS path: jose with the key getter, which may fetch. */
  const verifyWithJwks = async (token: string, key: JwksKey): Promise<VerifiedJwt | OctowayError> => {
    try {
      const { payload } = await jwtVerify(token, key, options);
      return { claims: payload, expiresAt: typeof payload.exp === 'number' ? payload.exp * 1000 : undefined };
    } catch (err) {
      return refusalOf(err, log);
    }
  };

  const verifyNow = (token: string): VerifiedJwt | OctowayError | Promise<VerifiedJwt | OctowayError> => {
    if (token.length > MAX_TOKEN_LENGTH || !COMPACT_JWS.test(token)) return refusal('JWT_MALFORMED');
    const header = jsonObjectOf(token.slice(0, token.indexOf('.')));
    if (header === undefined) return refusal('JWT_MALFORMED', 'the token\'s header is not base64url-encoded JSON');
    const alg = header.alg;
    if (typeof alg !== 'string') return refusal('JWT_MALFORMED', 'the token\'s header has no "alg"');
    const key = keyFor(alg);
    if (key instanceof OctowayError) return key;
    if (typeof key === 'function') return verifyWithJwks(token, key);
    if (key === publicKey) {
      if (!keyAlgorithms.includes(alg)) return refusal('JWT_ALG_NOT_ALLOWED', `algorithm ${JSON.stringify(alg)} does not fit WS_JWT_PUBLIC_KEY`);
      if (weakRsa) {
        log.error('WS_JWT_PUBLIC_KEY is an RSA key under 2048 bits: RS* and PS* tokens cannot be verified with it');
        return new OctowayError('INTERNAL_ERROR');
      }
    }
    return verifyWithKey(token, header, alg, key, rules);
  };

  return {
    verify(token) {
      try {
        const result = verifyNow(token);
        return result instanceof Promise ? result : Promise.resolve(result);
      } catch (err) {
        // Nothing above throws by design; the promise must never reject all the same.
        return Promise.resolve(refusalOf(err, log));
      }
    },
  };
}

function refusal(code: ErrorCode, message?: string): OctowayError {
  return new OctowayError(code, message, code === 'JWT_KEYS_UNAVAILABLE' ? { retryAfter: 5 } : undefined);
}

/** jose's error (or a fetch failure) as Octoway's code. */
function refusalOf(err: unknown, log: Logger): OctowayError {
  if (err instanceof errors.JWTExpired) return refusal('JWT_EXPIRED');
  if (err instanceof errors.JWTClaimValidationFailed) return claimRefusal(err);
  if (err instanceof errors.JWSSignatureVerificationFailed) return refusal('JWT_BAD_SIGNATURE');
  if (err instanceof errors.JOSEAlgNotAllowed) return refusal('JWT_ALG_NOT_ALLOWED');
  if (err instanceof errors.JWKSNoMatchingKey) return refusal('JWT_KEY_UNKNOWN');
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid || err instanceof errors.JOSENotSupported) {
    return refusal('JWT_MALFORMED', `the token is not a well-formed signed JWT: ${err.message}`);
  }
  if (err instanceof JwksUnavailable) return refusal('JWT_KEYS_UNAVAILABLE');
  // A JWK in the set that jose cannot use for this token: the token's key is as good as unknown.
  if (err instanceof errors.JWKInvalid || err instanceof errors.JWKSInvalid) return refusal('JWT_KEY_UNKNOWN', `the JWKS key for this token cannot be used: ${err.message}`);
  log.error({ err }, 'unexpected error while verifying a JWT');
  return new OctowayError('INTERNAL_ERROR');
}

function claimRefusal(err: InstanceType<typeof errors.JWTClaimValidationFailed>): OctowayError {
  switch (err.claim) {
    case 'exp':
      return refusal('JWT_EXP_INVALID', err.reason === 'missing' ? 'the token has no exp, and WS_JWT_REQUIRE_EXP=true' : 'the token\'s exp is not a number');
    case 'nbf':
      return err.reason === 'check_failed' ? refusal('JWT_NOT_YET_VALID') : refusal('JWT_CLAIM_INVALID', 'the token\'s nbf is not a number');
    case 'aud':
      return refusal('JWT_WRONG_AUDIENCE');
    case 'iss':
      return refusal('JWT_WRONG_ISSUER');
    default:
      return refusal('JWT_CLAIM_INVALID', `the token's ${JSON.stringify(err.claim)} claim is invalid: ${err.reason}`);
  }
}
