// The decision cache as a wrapper: answers an upgrade from a recent decision made for the same
// credentials, else asks the authenticator it wraps and keeps what that one decided.
import type { AuthResult, Authenticator, UpgradeRequest } from './authenticator.js';
import { createAuthCache, type AuthCacheOptions } from './cache.js';
import type { AuthMeter } from './metered.js';

/**
 * `keyOf` names the credentials a decision depends on (see ForwardAuthenticator.cacheKey). Only
 * allowed results and refusals marked `decision` are kept; outages, bad answers and clients gone
 * never are. A hit returns the same result object, so every socket it opens shares one frozen
 * Identity. Returns `inner` itself when caching is off (both TTLs 0). `counts` tallies lookups.
 */
export function withDecisionCache(inner: Authenticator, options: AuthCacheOptions, keyOf: (request: UpgradeRequest) => string,
  counts: AuthMeter['cache'] = { hits: 0, misses: 0 }): Authenticator {
  const cache = createAuthCache(options);
  if (cache === undefined) return inner;
  const keep = (key: string) => (result: AuthResult): AuthResult => {
    if (result.ok || result.decision === true) cache.set(key, result);
    return result;
  };
  return {
    authenticate(request, signal) {
      const key = keyOf(request);
      const hit = cache.get(key);
      if (hit !== undefined) {
        counts.hits++;
        return Promise.resolve(hit);
      }
      counts.misses++;
      return inner.authenticate(request, signal).then(keep(key));
    },
    load: inner.load,
    close() {
      // Nothing is answered from the cache after close: misses reach inner, which refuses.
      cache.clear();
      return inner.close();
    },
  };
}
