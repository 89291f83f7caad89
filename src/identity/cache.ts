// The auth decision cache: recent answers keyed by a hash of the credentials that produced them.
import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { AuthResult } from './authenticator.js';

export interface AuthCacheOptions {
  /** How long an allowed result is reused; 0 = never cached. */
  readonly ttlMs: number;
  /** How long a denial is reused; 0 = never cached. */
  readonly negativeTtlMs: number;
  /** Most entries held; the least recently used go first. */
  readonly max: number;
}

export interface AuthCache {
  get(key: string): AuthResult | undefined;
  /** Stores an allowed result for ttlMs or a denial for negativeTtlMs. The caller passes only answers
   * that are the backend's real decision (401, 403, no keys), never outages or bad answers, since those
   * would lock clients out after the backend recovers (see cached.ts). */
  set(key: string, result: AuthResult): void;
  clear(): void;
}

/** Undefined when caching is off (both TTLs 0, or no room). */
export function createAuthCache(options: AuthCacheOptions): AuthCache | undefined {
  const positive = wholeMs(options.ttlMs);
  const negative = wholeMs(options.negativeTtlMs);
  const max = Math.floor(options.max);
  if ((positive === 0 && negative === 0) || !(max > 0)) return undefined;
  const lru = new LRUCache<string, AuthResult>({ max, ttl: Math.max(positive, negative) });
  return {
    // lru-cache never returns an expired entry from get(), so a TTL is a hard bound on reuse.
    get: (key) => lru.get(key),
    set(key, result) {
      const ttl = result.ok ? positive : negative;
      if (ttl > 0) lru.set(key, result, { ttl });
    },
    clear: () => lru.clear(),
  };
}

/** A SHA-256 over the named header values, so the cache holds no credential in the clear. Absent and
 * empty headers hash differently, and JSON framing keeps `a`+`bc` apart from `ab`+`c`. */
export function credentialKey(headers: Readonly<Record<string, string>>, names: readonly string[]): string {
  const values = names.map((name) => headers[name] ?? null);
  return createHash('sha256').update(JSON.stringify(values)).digest('base64url');
}

function wholeMs(ms: number): number {
  return Number.isFinite(ms) && ms > 0 ? Math.max(1, Math.round(ms)) : 0;
}
