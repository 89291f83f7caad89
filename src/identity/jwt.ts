// The client JWT authenticator (WS_AUTH_MODE=jwt): an upgrade carrying a token (modes.ts jwtOf says
// where) is decided locally by the shared verifier, with no backend call. Its identity: keys from
// `sub` and `keys`, session from `sid`, the claims whole, grants from grantsOf, expiry from `exp`.
// The token is a bearer credential: it is never logged, not even on a refusal.
import { setTimeout as delay } from 'node:timers/promises';
import { OctowayError } from '../errors.js';
import type { Logger } from '../log.js';
import { clientGone, localAuthenticator, type AuthResult, type Authenticator, type UpgradeRequest } from './authenticator.js';
import type { ExportResult, Exporter } from './exporters.js';
import { identityFrom } from './identity.js';
import { grantsOf } from './jwt-grants.js';
import type { JwtVerifier } from './jwt-verifier.js';
import { jwtOf } from './modes.js';

export interface JwtAuthOptions {
  /** The gateway's one verifier (publisher `jwt` uses the same): keys, algorithms, aud, iss, leeway. */
  readonly verifier: JwtVerifier;
  /** WS_JWT_COOKIE, as the selector reads it. */
  readonly cookie: string | undefined;
  /** A module exporter (WS_AUTH_EXPORTER=./file.js) given the verified claims; undefined for the
   * built-in exporters, which read forward-auth answers (Goctopus's `user.email`) and would find no
   * key in a JWT's claims. */
  readonly exporter: Exporter | undefined;
  /** Bound on a module exporter's promise (WS_AUTH_TIMEOUT), as for forward auth. */
  readonly exporterTimeoutMs: number;
}

/**
 * Guarantees: a presented token that fails verification or maps to no key is refused with its own
 * code and never handed to another mode (the selector routes by jwtOf, this decides by it too); the
 * socket's expiresAt is the token's `exp` in unix seconds (the socket is closed then, plus
 * WS_JWT_LEEWAY: see socket/expiry.ts). Nothing here is cached: verification is cheap and local,
 * and a cached decision would outlive a token's `exp`.
 */
export function createJwtAuthenticator(options: JwtAuthOptions, log: Logger): Authenticator {
  const { verifier, cookie, exporter } = options;
  return localAuthenticator(async (request, signal) => {
    const token = jwtOf(request, cookie);
    if (token === undefined || token === '') return { ok: false, error: new OctowayError('JWT_MALFORMED', 'the upgrade presents an empty token') };
    const verified = await verifier.verify(token);
    if (verified instanceof OctowayError) return { ok: false, error: verified };
    if (signal.aborted) return clientGone();
    const claims = verified.claims as Readonly<Record<string, unknown>>;
    const exported = exporter === undefined ? exportOf(claims) : await runExporter(exporter, claims, request, options.exporterTimeoutMs, log);
    if (exported instanceof OctowayError) return { ok: false, error: exported };
    // The token bounds the socket whatever an exporter says: an exporter may shorten, never extend.
    const exp = typeof claims.exp === 'number' ? Math.floor(claims.exp) : undefined;
    if (exp !== undefined && (exported.expiresAt === undefined || exported.expiresAt > exp)) exported.expiresAt = exp;
    const identity = identityFrom(exported, log);
    return identity instanceof OctowayError ? { ok: false, error: identity } : { ok: true, identity };
  });
}

/** The identity a token grants by itself (jwt-grants.ts), as an exporter's output. */
export function exportOf(claims: Readonly<Record<string, unknown>>): ExportResult | OctowayError {
  const grants = grantsOf(claims);
  if (grants instanceof OctowayError) return grants;
  return {
    keys: [...grants.keys],
    claims: { ...claims },
    ...(grants.subject === undefined ? {} : { subject: grants.subject }),
    ...(grants.session === undefined ? {} : { session: grants.session }),
    grants: { subscribe: [...grants.subscribe], publish: [...grants.publish] },
  };
}

/**
 * A module exporter given the claims, as forward auth gives it the backend's body (and the same
 * request). What it leaves out comes from the token: the subject, session, claims and grants it
 * does not set are the token's own. A throw, a rejection, a wrong shape or no answer within the
 * timeout is EXPORTER_FAILED (502), logged without the claims.
 */
async function runExporter(exporter: Exporter, claims: Readonly<Record<string, unknown>>, request: UpgradeRequest, timeoutMs: number, log: Logger): Promise<ExportResult | OctowayError> {
  const own = exportOf(claims);
  if (own instanceof OctowayError) return own;
  const timeout = new AbortController();
  try {
    const out = await Promise.race([
      Promise.resolve(exporter(claims, request)),
      delay(timeoutMs, undefined, { signal: timeout.signal }).then(() => { throw new Error(`no answer within ${timeoutMs} ms`); }),
    ]);
    return {
      ...own,
      ...out,
      subject: out.subject ?? own.subject,
      session: out.session ?? own.session,
      claims: out.claims ?? own.claims,
      grants: out.grants ?? own.grants,
    } as ExportResult;
  } catch (err) {
    log.warn({ err: err instanceof Error ? err.message : String(err) }, 'auth exporter failed on a JWT\'s claims');
    return new OctowayError('EXPORTER_FAILED');
  } finally {
    timeout.abort();
  }
}
