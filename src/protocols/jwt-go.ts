// HMAC JWTs as dgrijalva/jwt-go v3 checks them for dSock (v3.2.0) and Philote (v3.0.0), whose key
// function hands the secret to whatever `alg` the token names: so HS256/384/512 verify, `none`
// and the RSA/ECDSA algorithms fail ("key is of invalid type"). Claims decode as Go decodes them into
// the seed's struct (field names case-insensitive, the last repeat wins, a wrongly typed field is an
// error); then StandardClaims.Valid (exp, iat, nbf, each only when non-zero, no leeway); then the
// signature, whose failure is the error reported when both fail (jwt-go's ValidationError.Inner).
// `error` is jwt-go's Error() text for the common cases; Go's JSON and base64 error texts are
// abbreviated.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { goFold } from './go-json.js';

/** A custom claim's Go type in the seed's claims struct. */
export type GoClaimType = 'string' | 'string[]' | 'bool';

export type JwtGoResult =
  | { readonly ok: true; readonly claims: Readonly<Record<string, string | readonly string[] | boolean | number>> }
  | { readonly ok: false; readonly error: string };

/** jwt.StandardClaims's fields and their Go types. */
const STANDARD: Readonly<Record<string, 'string' | 'int64'>> = { aud: 'string', exp: 'int64', jti: 'string', iat: 'int64', iss: 'string', nbf: 'int64', sub: 'string' };
const HASHES: Readonly<Record<string, string>> = { HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' };
/** The methods jwt-go v3 registers; any other `alg` is "unavailable". */
const OTHER_METHODS = new Set(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512']);

function fail(error: string): JwtGoResult {
  return { ok: false, error };
}

/**
 * Parses and checks `token` with `secret`. `custom` names the seed's own claims and their types
 * (Philote: read, write, api; dSock: sid). The claims returned hold every standard and custom
 * field, Go's zero value where the token has none.
 */
export function parseJwtGo(token: string, secret: string, custom: Readonly<Record<string, GoClaimType>>, now = Date.now()): JwtGoResult {
  const parts = token.split('.');
  if (parts.length !== 3) return fail('token contains an invalid number of segments');
  const [headPart, claimsPart, signaturePart] = parts as [string, string, string];
  const header = decodeSegment(headPart);
  if (typeof header !== 'string') {
    return fail(token.toLowerCase().startsWith('bearer ') ? 'tokenstring should not contain \'bearer \'' : header.error);
  }
  let headerValue: unknown;
  try {
    headerValue = JSON.parse(header);
  } catch {
    return fail('invalid character in the token\'s header');
  }
  if (typeof headerValue !== 'object' || Array.isArray(headerValue)) return fail('json: cannot unmarshal the token\'s header into a map');
  const claimsText = decodeSegment(claimsPart);
  if (typeof claimsText !== 'string') return fail(claimsText.error);
  const claims = decodeClaims(claimsText, custom);
  if ('error' in claims) return fail(claims.error);
  const alg = (headerValue as Record<string, unknown> | null)?.alg;
  if (typeof alg !== 'string') return fail('signing method (alg) is unspecified.');
  if (HASHES[alg] === undefined && alg !== 'none' && !OTHER_METHODS.has(alg)) return fail('signing method (alg) is unavailable.');
  let inner = claimsError(claims.values, Math.floor(now / 1000));
  const signatureError = verifySignature(alg, `${headPart}.${claimsPart}`, signaturePart, secret);
  if (signatureError !== undefined) inner = signatureError;
  return inner === undefined ? { ok: true, claims: claims.values } : fail(inner);
}

/** jwt-go's DecodeSegment: base64url, its padding added, `\r` and `\n` skipped (Go's decoder). */
function decodeSegment(segment: string): string | { error: string } {
  const bare = segment.replace(/[\r\n]/g, '');
  const padded = bare.length % 4 === 0 ? bare : bare + '='.repeat(4 - (bare.length % 4));
  const bad = /[^A-Za-z0-9_-]/.exec(padded.replace(/={1,2}$/, ''));
  if (bad !== null || bare.length % 4 === 1) return { error: `illegal base64 data at input byte ${bad?.index ?? bare.length - 1}` };
  return Buffer.from(padded, 'base64url').toString('utf8');
}

type ClaimValue = string | readonly string[] | boolean | number;

/** The claims JSON decoded into the struct: StandardClaims and `custom`. */
function decodeClaims(text: string, custom: Readonly<Record<string, GoClaimType>>): { values: Record<string, ClaimValue> } | { error: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { error: 'invalid character in the token\'s claims' };
  }
  const values: Record<string, ClaimValue> = {};
  const types: Record<string, GoClaimType | 'int64'> = { ...STANDARD, ...custom };
  for (const [name, type] of Object.entries(types)) values[name] = type === 'string' ? '' : type === 'int64' ? 0 : type === 'bool' ? false : [];
  if (value === null) return { values };
  if (typeof value !== 'object' || Array.isArray(value)) return { error: 'json: cannot unmarshal the token\'s claims into a struct' };
  const byFold = new Map(Object.keys(types).map((name) => [goFold(name), name]));
  for (const [key, given] of Object.entries(value as Record<string, unknown>)) {
    const name = byFold.get(goFold(key));
    if (name === undefined || given === null) continue;
    const decoded = decodeAs(given, types[name] as GoClaimType | 'int64');
    if (decoded === undefined) return { error: `json: cannot unmarshal the "${key}" claim into a Go value of type ${types[name] as string}` };
    values[name] = decoded;
  }
  return { values };
}

function decodeAs(given: unknown, type: GoClaimType | 'int64'): ClaimValue | undefined {
  switch (type) {
    case 'string':
      return typeof given === 'string' ? given : undefined;
    case 'bool':
      return typeof given === 'boolean' ? given : undefined;
    case 'int64':
      // JSON.parse cannot tell 5 from 5.0; Go refuses the latter, which no signer writes.
      return typeof given === 'number' && Number.isSafeInteger(given) ? given : undefined;
    case 'string[]':
      return Array.isArray(given) && given.every((s) => s === null || typeof s === 'string') ? given.map((s) => (s ?? '') as string) : undefined;
  }
}

/** StandardClaims.Valid: the last failing check's text (exp, then iat, then nbf). */
function claimsError(claims: Readonly<Record<string, ClaimValue>>, nowS: number): string | undefined {
  const exp = claims.exp as number;
  const iat = claims.iat as number;
  const nbf = claims.nbf as number;
  let error: string | undefined;
  if (exp !== 0 && nowS > exp) error = `token is expired by ${goSeconds(nowS - exp)}`;
  if (iat !== 0 && nowS < iat) error = 'Token used before issued';
  if (nbf !== 0 && nowS < nbf) error = 'token is not valid yet';
  return error;
}

/** Go's time.Duration String for whole seconds: 5s, 1m5s, 1h0m0s. */
export function goSeconds(total: number): string {
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (h > 0) return `${h}h${m}m${s}s`;
  if (m > 0) return `${m}m${s}s`;
  return `${s}s`;
}

function verifySignature(alg: string, signingInput: string, signaturePart: string, secret: string): string | undefined {
  const hash = HASHES[alg];
  if (alg === 'none') return '\'none\' signature type is not allowed';
  if (hash === undefined) return 'key is of invalid type';
  const signature = decodeSegment(signaturePart);
  if (typeof signature !== 'string') return signature.error;
  const given = Buffer.from(signaturePart.replace(/[\r\n=]/g, ''), 'base64url');
  const expected = createHmac(hash, secret).update(signingInput).digest();
  return given.length === expected.length && timingSafeEqual(given, expected) ? undefined : 'signature is invalid';
}
