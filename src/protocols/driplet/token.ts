// Driplet's client tokens (`/ws/{endpoint}?token=`), as golang-jwt v5.2.1's ParseWithClaims with
// its key function checks them: HS256/384/512 only, with the endpoint's JWTSecret; unpadded
// base64url; claims decoded as Go decodes its Claims struct (case-insensitive names; exp/nbf/iat
// numbers, or strings holding one; aud a string or strings; `custom` an object); the signature
// before the claims; then `exp` (valid while now is before it, fractions truncated) and `nbf` when
// present, no leeway, `iat` not checked. Every refusal is the same 401 "Unauthorized".
import { createHmac, timingSafeEqual } from 'node:crypto';
import { goField, type JsonValue } from '../go-json.js';
import { DRIPLET_ANSWERS, type DripletAnswer } from './answers.js';

export interface DripletClient {
  readonly ok: true;
  /** The `custom` claim the targeting rules read (driplet/frame.ts's target), or undefined. */
  readonly custom: Readonly<Record<string, JsonValue>> | undefined;
}

const HASHES: Readonly<Record<string, string>> = { HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' };
/** Go's number grammar, for a JSON string decoded into json.Number. */
const GO_NUMBER = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/;

export function verifyDripletToken(token: string, jwtSecret: string, now = Date.now()): DripletClient | DripletAnswer {
  const refused = DRIPLET_ANSWERS.unauthorized;
  const parts = token.split('.');
  if (parts.length !== 3) return refused;
  const [headPart, claimsPart, signaturePart] = parts as [string, string, string];
  const header = jsonOf(headPart, false);
  const claims = jsonOf(claimsPart, true);
  if (header === undefined || claims === undefined) return refused;
  if (typeof header !== 'object' || header === null || Array.isArray(header)) return refused;
  const hash = HASHES[(header as Record<string, JsonValue>).alg as string];
  if (hash === undefined) return refused; // unknown alg, none, or not HMAC: the key function refuses
  const signature = raw(signaturePart);
  if (signature === undefined) return refused;
  const expected = createHmac(hash, jwtSecret).update(`${headPart}.${claimsPart}`).digest();
  if (signature.length !== expected.length || !timingSafeEqual(signature, expected)) return refused;
  if (claims === null) return { ok: true, custom: undefined };
  if (typeof claims !== 'object' || Array.isArray(claims)) return refused;
  const fields = claims as Record<string, JsonValue>;
  for (const name of ['iss', 'sub', 'jti']) {
    const value = goField(fields, name);
    if (value !== undefined && value !== null && typeof value !== 'string') return refused;
  }
  const aud = goField(fields, 'aud');
  if (aud !== undefined && aud !== null && typeof aud !== 'string' && !(Array.isArray(aud) && aud.every((a) => typeof a === 'string'))) return refused;
  const dates: Record<string, number | undefined> = {};
  for (const name of ['exp', 'nbf', 'iat']) {
    const value = goField(fields, name);
    if (value === undefined || value === null) continue;
    const seconds = typeof value === 'number' ? value : typeof value === 'string' && GO_NUMBER.test(value) ? Number(value) : NaN;
    if (!Number.isFinite(seconds)) return refused;
    dates[name] = Math.trunc(seconds);
  }
  if (dates.exp !== undefined && !(now < dates.exp * 1000)) return refused;
  if (dates.nbf !== undefined && now < dates.nbf * 1000) return refused;
  const custom = goField(fields, 'custom');
  if (custom === undefined || custom === null) return { ok: true, custom: undefined };
  if (typeof custom !== 'object' || Array.isArray(custom)) return refused;
  return { ok: true, custom };
}

/** base64.RawURLEncoding: no padding, `\r` and `\n` skipped. */
function raw(segment: string): Buffer | undefined {
  const bare = segment.replace(/[\r\n]/g, '');
  if (!/^[A-Za-z0-9_-]*$/.test(bare) || bare.length % 4 === 1) return undefined;
  return Buffer.from(bare, 'base64url');
}

/** A segment's JSON: the header whole (json.Unmarshal), the claims' first value (json.Decoder,
 * which never reads past it). */
function jsonOf(segment: string, firstValueOnly: boolean): JsonValue | undefined {
  const bytes = raw(segment);
  if (bytes === undefined) return undefined;
  const text = bytes.toString('utf8');
  try {
    return JSON.parse(text) as JsonValue;
  } catch {
    if (!firstValueOnly) return undefined;
  }
  // A claims object followed by anything: the decoder stops at its closing brace.
  const end = objectEnd(text);
  if (end < 0) return undefined;
  try {
    return JSON.parse(text.slice(0, end)) as JsonValue;
  } catch {
    return undefined;
  }
}

function objectEnd(text: string): number {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === '\\') i++;
    } else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  return -1;
}
