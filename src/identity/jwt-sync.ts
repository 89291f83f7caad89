// Synchronous JWS verification and JWT claim checks with node:crypto, for the keys held as
// KeyObjects (WS_JWT_SECRET, WS_JWT_PUBLIC_KEY). jose 6 verifies through WebCrypto only, whose every
// call completes on the thread pool: an HS256 upgrade waited ~10x longer for that hop than for the
// HMAC itself. These functions reproduce what jose's jwtVerify checked, with the same refusals
// (jwt-verifier.ts's claimRefusal mapping), so the JWKS path (still jose) and this one agree.
import { constants, createHmac, timingSafeEqual, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import type { JWTPayload } from 'jose';
import { OctowayError } from '../errors.js';
import type { VerifiedJwt } from './jwt-verifier.js';

/** The claim checks jose's JWTVerifyOptions expressed (see jwt-verifier.ts). */
export interface ClaimRules {
  readonly leewayS: number;
  readonly requireExp: boolean;
  /** Empty: `aud` is not checked. */
  readonly audience: readonly string[];
  /** Empty: `iss` is not checked. */
  readonly issuer: readonly string[];
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
const HASHES: Readonly<Record<string, string>> = { 256: 'sha256', 384: 'sha384', 512: 'sha512' };

/** Decodes one base64url part as strictly as jose does; the caller has already checked the alphabet
 * (jwt-verifier.ts's COMPACT_JWS), so only the impossible length remains to refuse. */
function base64url(part: string): Buffer | undefined {
  return part.length % 4 === 1 ? undefined : Buffer.from(part, 'base64url');
}

/** A base64url part holding a JSON object (strict UTF-8, as jose reads it), or undefined. */
export function jsonObjectOf(part: string): Record<string, unknown> | undefined {
  const bytes = base64url(part);
  if (bytes === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(strictUtf8.decode(bytes));
  } catch {
    return undefined;
  }
  // JSON.parse makes plain objects only: not null and not an array is jose's isObject.
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? value as Record<string, unknown> : undefined;
}

/**
 * Verifies a compact JWS (already matched against COMPACT_JWS, its header parsed, its `alg` allowed
 * and of `key`'s family) and its claims. Order as in jose: header extensions, signature, payload,
 * claims; so a tampered payload is a bad signature, never a malformed token.
 */
export function verifyWithKey(token: string, header: Readonly<Record<string, unknown>>, alg: string, key: KeyObject, rules: ClaimRules): VerifiedJwt | OctowayError {
  // jose recognises one extension, b64, and JWTs must not use it unencoded (RFC 7797 §7).
  if (header.crit !== undefined) {
    const crit = header.crit;
    const onlyB64 = Array.isArray(crit) && crit.length > 0 && crit.every((name) => name === 'b64');
    if (!onlyB64) return malformed('its "crit" header names an extension the gateway does not support');
    if (header.b64 !== true) return malformed('JWTs must not use an unencoded payload (b64: false)');
  }
  const headEnd = token.indexOf('.');
  const payloadEnd = token.indexOf('.', headEnd + 1);
  const signature = base64url(token.slice(payloadEnd + 1));
  if (signature === undefined) return malformed('its signature is not base64url');
  if (!signatureMatches(alg, key, token.slice(0, payloadEnd), signature)) return new OctowayError('JWT_BAD_SIGNATURE');
  const claims = jsonObjectOf(token.slice(headEnd + 1, payloadEnd));
  if (claims === undefined) return malformed('its claims are not a base64url-encoded JSON object');
  const refused = claimsRefusal(claims, rules);
  if (refused !== undefined) return refused;
  return { claims: claims as JWTPayload, expiresAt: typeof claims.exp === 'number' ? claims.exp * 1000 : undefined };
}

/** The signature check for `alg` with node:crypto. Any throw (a signature of the wrong length for
 * the curve, a key the algorithm cannot use) is a signature that does not verify, as in jose. */
function signatureMatches(alg: string, key: KeyObject, signingInput: string, signature: Buffer): boolean {
  const hash = HASHES[alg.slice(2)];
  try {
    if (alg === 'EdDSA' || alg === 'Ed25519') return cryptoVerify(null, Buffer.from(signingInput, 'latin1'), key, signature);
    if (hash === undefined) return false;
    switch (alg.slice(0, 2)) {
      case 'HS': {
        const mac = createHmac(hash, key).update(signingInput, 'latin1').digest();
        // timingSafeEqual needs equal lengths; a length says nothing about the secret.
        return mac.length === signature.length && timingSafeEqual(mac, signature);
      }
      case 'RS':
        return cryptoVerify(hash, Buffer.from(signingInput, 'latin1'), key, signature);
      case 'PS':
        return cryptoVerify(hash, Buffer.from(signingInput, 'latin1'), { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: Number(alg.slice(2)) / 8 }, signature);
      case 'ES':
        return cryptoVerify(hash, Buffer.from(signingInput, 'latin1'), { key, dsaEncoding: 'ieee-p1363' }, signature);
      default:
        return false;
    }
  } catch {
    return false;
  }
}

/** jose's validateClaimsSet, in its order: required claims (iss, aud, exp), iss, aud, then the
 * types and times of iat, nbf and exp against the current second with the leeway. */
function claimsRefusal(claims: Readonly<Record<string, unknown>>, rules: ClaimRules): OctowayError | undefined {
  if (rules.issuer.length > 0 && !Object.hasOwn(claims, 'iss')) return new OctowayError('JWT_WRONG_ISSUER');
  if (rules.audience.length > 0 && !Object.hasOwn(claims, 'aud')) return new OctowayError('JWT_WRONG_AUDIENCE');
  if (rules.requireExp && !Object.hasOwn(claims, 'exp')) return new OctowayError('JWT_EXP_INVALID', 'the token has no exp, and WS_JWT_REQUIRE_EXP=true');
  if (rules.issuer.length > 0 && !rules.issuer.includes(claims.iss as string)) return new OctowayError('JWT_WRONG_ISSUER');
  if (rules.audience.length > 0 && !audienceMatches(claims.aud, rules.audience)) return new OctowayError('JWT_WRONG_AUDIENCE');
  const now = Math.floor(Date.now() / 1000);
  const { iat, nbf, exp } = claims;
  if (iat !== undefined && typeof iat !== 'number') return new OctowayError('JWT_CLAIM_INVALID', 'the token\'s "iat" claim is invalid: invalid');
  if (nbf !== undefined && typeof nbf !== 'number') return new OctowayError('JWT_CLAIM_INVALID', 'the token\'s nbf is not a number');
  if (nbf !== undefined && nbf > now + rules.leewayS) return new OctowayError('JWT_NOT_YET_VALID');
  if (exp !== undefined && typeof exp !== 'number') return new OctowayError('JWT_EXP_INVALID', 'the token\'s exp is not a number');
  if (exp !== undefined && exp <= now - rules.leewayS) return new OctowayError('JWT_EXPIRED');
  return undefined;
}

/** A string `aud` must be one of ours; an array must hold one of ours. */
function audienceMatches(aud: unknown, ours: readonly string[]): boolean {
  if (typeof aud === 'string') return ours.includes(aud);
  return Array.isArray(aud) && ours.some((value) => aud.includes(value));
}

function malformed(why: string): OctowayError {
  return new OctowayError('JWT_MALFORMED', `the token is not a well-formed signed JWT: ${why}`);
}
