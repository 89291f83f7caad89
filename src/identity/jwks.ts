// A JSON Web Key Set fetched from WS_JWT_JWKS_URL: fetched with a timeout, cached, and fetched again
// when stale or when a token names a `kid` it lacks, at most once per cooldown. A set that cannot be
// refreshed keeps serving its keys: an identity provider's outage must not refuse every token.
import { createLocalJWKSet, errors, type JSONWebKeySet, type JWSHeaderParameters, type FlattenedJWSInput } from 'jose';
import type { Logger } from '../log.js';

export interface JwksOptions {
  readonly url: URL;
  readonly timeoutMs: number;
  /** Least time between two fetches caused by an unknown `kid`. */
  readonly cooldownMs: number;
  /** A set older than this is fetched again before use (the old one is kept if that fails). */
  readonly maxAgeMs?: number;
}

type KeyGetter = ReturnType<typeof createLocalJWKSet>;
export type JwksKey = (header: JWSHeaderParameters, token: FlattenedJWSInput) => ReturnType<KeyGetter>;

/** Thrown (to the verifier) when no set could ever be fetched. */
export class JwksUnavailable extends Error {}

const DEFAULT_MAX_AGE_MS = 10 * 60_000;
/** After a failed fetch, none for this long: an unreachable URL is not hammered once per token. */
const FAILURE_BACKOFF_MS = 1_000;
const MAX_JWKS_BYTES = 1024 * 1024;

/** Returns the key getter jose's jwtVerify takes. */
export function createJwks(options: JwksOptions, log: Logger): JwksKey {
  const maxAgeMs = options.maxAgeMs ?? DEFAULT_MAX_AGE_MS;
  let local: KeyGetter | undefined;
  let fetchedAt = -Infinity;
  let failedAt = -Infinity;
  let pending: Promise<void> | undefined;

  /** One fetch at a time; callers arriving meanwhile wait for it. Never rejects. */
  const refresh = (): Promise<void> => {
    if (Date.now() - failedAt < FAILURE_BACKOFF_MS) return Promise.resolve();
    pending ??= fetchSet(options).then(
      (set) => {
        local = createLocalJWKSet(set);
        fetchedAt = Date.now();
        log.debug({ keys: set.keys.length }, 'JWKS fetched');
      },
      (err: unknown) => {
        failedAt = Date.now();
        log.warn({ err: { message: (err as Error).message }, url: options.url.origin + options.url.pathname }, 'JWKS fetch failed');
      },
    ).finally(() => {
      pending = undefined;
    });
    return pending;
  };

  return async (header, token) => {
    if (local === undefined || Date.now() - fetchedAt >= maxAgeMs) await refresh();
    if (local === undefined) throw new JwksUnavailable('no JWKS fetched yet');
    try {
      return await local(header, token);
    } catch (err) {
      // A new kid: the provider rotated its keys. Fetch again, unless that was done within the cooldown.
      if (!(err instanceof errors.JWKSNoMatchingKey) || Date.now() - fetchedAt < options.cooldownMs) throw err;
      await refresh();
      return local(header, token);
    }
  };
}

async function fetchSet(options: JwksOptions): Promise<JSONWebKeySet> {
  const response = await fetch(options.url, {
    redirect: 'manual',
    signal: AbortSignal.timeout(options.timeoutMs),
    headers: { accept: 'application/jwk-set+json, application/json' },
  });
  if (response.status !== 200) {
    await response.body?.cancel();
    throw new Error(`the JWKS URL answered ${response.status}, not 200`);
  }
  const declared = Number(response.headers.get('content-length') ?? '0');
  if (declared > MAX_JWKS_BYTES) {
    await response.body?.cancel();
    throw new Error('the JWKS is larger than 1 MiB');
  }
  const bytes = await response.arrayBuffer();
  if (bytes.byteLength > MAX_JWKS_BYTES) throw new Error('the JWKS is larger than 1 MiB');
  const set = JSON.parse(Buffer.from(bytes).toString('utf8')) as unknown;
  if (typeof set !== 'object' || set === null || !Array.isArray((set as { keys?: unknown }).keys)) throw new Error('the JWKS is not {"keys": [...]}');
  return set as JSONWebKeySet;
}
