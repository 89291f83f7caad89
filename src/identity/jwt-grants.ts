// What a JWT grants, read from its claims in the shapes the seeds sign them: keys from `sub` and
// `keys`; the session from `sid`; subscribe and publish grants from `topics` with notiflux's `scope`,
// Philote's `read`/`write` and dSock's `channels`. Pure: the same claims always grant the same.
import { OctowayError } from '../errors.js';
import { isValidKey, MAX_KEY_LENGTH, MAX_KEYS_PER_SOCKET } from '../delivery/routing-key.js';

export interface JwtGrants {
  /** `sub`, when it is a string. */
  readonly subject: string | undefined;
  /** `sid` (dSock's session), when it is a string. */
  readonly session: string | undefined;
  /** Routing keys a socket of this token is under: `sub`, then the `keys` claim, without repeats. */
  readonly keys: readonly string[];
  /** The `keys` claim alone: for a publisher token, part of where it may publish. */
  readonly keysClaim: readonly string[];
  /** What it may subscribe to: `topics` (unless its scope is publish-only), `read`, `channels`. */
  readonly subscribe: readonly string[];
  /** What it may publish to: `topics` when its scope has publish or broadcast, `write`. */
  readonly publish: readonly string[];
  /** Whether `scope` names publish (or notiflux's broadcast): a publisher token. */
  readonly publisher: boolean;
  /** Every claim, as signed (targeting reads `custom` and the like). */
  readonly claims: Readonly<Record<string, unknown>>;
}

/** Most entries one list claim may hold: as many as the keys one socket may open under. */
const MAX_LIST = MAX_KEYS_PER_SOCKET;

/** Maps verified claims to grants. A claim the grants read that has the wrong shape (`keys: 5`, a
 * key over 1024 characters, more than 100 entries) is refused with JWT_CLAIM_INVALID rather than
 * ignored: ignoring it would silently grant less, or more, than its signer meant. */
export function grantsOf(claims: Readonly<Record<string, unknown>>): JwtGrants | OctowayError {
  try {
    const subject = typeof claims.sub === 'string' && claims.sub !== '' ? claims.sub : undefined;
    const session = typeof claims.sid === 'string' && claims.sid !== '' ? claims.sid : undefined;
    const keysClaim = listClaim(claims, 'keys');
    const scopes = scopeOf(claims.scope);
    const publisher = scopes.has('publish') || scopes.has('broadcast');
    // notiflux always signs a scope; a token with topics and no scope is a subscriber's.
    const topicsSubscribe = scopes.size === 0 || scopes.has('subscribe');
    const topics = listClaim(claims, 'topics');
    const keys = subject !== undefined && isValidKey(subject) ? [subject, ...keysClaim] : keysClaim;
    return {
      subject,
      session,
      keys: [...new Set(keys)],
      keysClaim,
      subscribe: [...new Set([...(topicsSubscribe ? topics : []), ...listClaim(claims, 'read'), ...listClaim(claims, 'channels')])],
      publish: [...new Set([...(publisher ? topics : []), ...listClaim(claims, 'write')])],
      publisher,
      claims,
    };
  } catch (err) {
    if (err instanceof OctowayError) return err;
    throw err;
  }
}

/** Whether a grant list allows a name: an exact entry, or a prefix pattern ending in `*` (`*` alone:
 * every name). Topic grants only: a key claim is matched exactly, never as a pattern. */
export function granted(grants: readonly string[], name: string): boolean {
  for (const grant of grants) {
    if (grant === name) return true;
    if (grant.endsWith('*') && name.startsWith(grant.slice(0, -1))) return true;
  }
  return false;
}

/** A list claim: absent, one string, or an array of strings, each a valid routing key. */
function listClaim(claims: Readonly<Record<string, unknown>>, name: string): string[] {
  const value = claims[name];
  if (value === undefined || value === null) return [];
  const items = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(items) || items.length > MAX_LIST || !items.every(isValidKey)) {
    throw new OctowayError('JWT_CLAIM_INVALID', `the token's "${name}" claim must be a string or an array of at most ${MAX_LIST} non-empty strings of at most ${MAX_KEY_LENGTH} characters`);
  }
  return items;
}

/** `scope` as OAuth writes it (space-separated, RFC 8693) or as an array of strings. */
function scopeOf(value: unknown): Set<string> {
  if (value === undefined || value === null) return new Set();
  if (typeof value === 'string') return new Set(value.split(' ').filter((s) => s !== ''));
  if (Array.isArray(value) && value.every((s) => typeof s === 'string')) return new Set(value as string[]);
  throw new OctowayError('JWT_CLAIM_INVALID', 'the token\'s "scope" claim must be a space-separated string or an array of strings');
}
