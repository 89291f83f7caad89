// notiflux's tokens (its auth.rs, jsonwebtoken 9 with Validation::new(ES256)): ES256 only, with
// the configured P-256 public key; `exp` required, a whole number of seconds, valid until 60 s past
// it; claims {sub: string, exp, topics: string[], scope: "subscribe" | "broadcast"} all required,
// each once (serde refuses a repeated field). A token with `aud` is refused, as jsonwebtoken 9
// refuses one when no audience is configured. Signature and times are checked by jwt-sync.ts, the
// gateway's own verifier, which also refuses a non-numeric `iat`/`nbf` or a future `nbf`: stricter
// than notiflux, which ignores both (its signing script sets neither).
import type { KeyObject } from 'node:crypto';
import { OctowayError } from '../../errors.js';
import { jsonObjectOf, verifyWithKey } from '../../identity/jwt-sync.js';
import { rawMembers } from '../go-json.js';

export type NotifluxScope = 'subscribe' | 'broadcast';

export interface NotifluxGrant {
  readonly sub: string;
  readonly scope: NotifluxScope;
  readonly topics: readonly string[];
  /** `exp` in milliseconds; the token is honoured until 60 s after it. */
  readonly expiresAt: number;
}

/** jsonwebtoken's default leeway, in seconds. */
export const NOTIFLUX_LEEWAY_S = 60;
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$/;
const MAX_TOKEN_LENGTH = 16 * 1024;
const U64_MAX = 18446744073709551615n;

/** The token's grant, or undefined for any token notiflux would refuse (it never says why). */
export function verifyNotifluxToken(token: string, publicKey: KeyObject): NotifluxGrant | undefined {
  if (token.length > MAX_TOKEN_LENGTH || !COMPACT_JWS.test(token)) return undefined;
  const header = jsonObjectOf(token.slice(0, token.indexOf('.')));
  if (header === undefined || header.alg !== 'ES256') return undefined;
  // jwt-sync refuses when exp <= now - leeway; jsonwebtoken when exp < now - 60: the same for
  // whole seconds with a leeway of 61.
  const verified = verifyWithKey(token, header, 'ES256', publicKey, { leewayS: NOTIFLUX_LEEWAY_S + 1, requireExp: true, audience: [], issuer: [] });
  if (verified instanceof OctowayError) return undefined;
  const payload = token.slice(token.indexOf('.') + 1, token.lastIndexOf('.'));
  const text = Buffer.from(payload, 'base64url').toString('utf8');
  const members = rawMembers(text);
  if (members === undefined) return undefined;
  const raw = new Map<string, string>();
  for (const m of members) {
    if (raw.has(m.key)) return undefined; // serde: duplicate field
    raw.set(m.key, text.slice(m.start, m.end));
  }
  if (raw.has('aud')) return undefined;
  const exp = raw.get('exp');
  if (exp === undefined || !/^(0|[1-9]\d*)$/.test(exp) || BigInt(exp) > U64_MAX) return undefined;
  const claims = verified.claims as Record<string, unknown>;
  const { sub, topics, scope } = claims;
  if (typeof sub !== 'string' || typeof scope !== 'string') return undefined;
  if (!Array.isArray(topics) || !topics.every((t): t is string => typeof t === 'string')) return undefined;
  if (scope !== 'subscribe' && scope !== 'broadcast') return undefined;
  return { sub, scope, topics, expiresAt: Number(exp) * 1000 };
}

/** Whether `grant` lets its holder act with `scope` on `topic` (an exact member of `topics`). */
export function grants(grant: NotifluxGrant | undefined, scope: NotifluxScope, topic: string): boolean {
  return grant !== undefined && grant.scope === scope && grant.topics.includes(topic);
}
