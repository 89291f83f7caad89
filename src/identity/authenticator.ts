// The client-auth contract: how an upgrade request becomes an identity. Forward auth (WS_AUTH_URL),
// local JWTs (jwt.ts) and single-use tickets (ticket.ts) implement it. The decision cache (cached.ts)
// and the WS_WORKERS gate (gate.ts) wrap any authenticator and are authenticators themselves.
import { OctowayError } from '../errors.js';
import type { Identity } from './identity.js';

/** What the gateway knows of an upgrade request. Copied out of uWS's HttpRequest before any await,
 * because uWS invalidates that object when the upgrade handler returns. */
export interface UpgradeRequest {
  /** Path without the query, as the client sent it (`/ws`). */
  readonly path: string;
  /** Raw query string without the `?` (may be empty). */
  readonly query: string;
  /** Every request header, names lower-cased. */
  readonly headers: Readonly<Record<string, string>>;
  /** The TCP peer's address as text (IPv4, or IPv6 without brackets). */
  readonly remoteAddress: string;
}

export type AuthResult =
  | { readonly ok: true; readonly identity: Identity }
  /** `decision`: the refusal is a judgement of these credentials (the backend's 401 or 403, no keys),
   * which the decision cache may reuse; never set for outages, bad answers or a client gone, since
   * reusing those would lock clients out after the backend recovers. */
  | { readonly ok: false; readonly error: OctowayError; readonly decision?: boolean };

export type AbortListener = (() => void) | { handleEvent(): void };

/** The part of an AbortSignal that authenticators and the gate use. An AbortSignal fits; the upgrade
 * handler passes a lighter object of its own, because an AbortController costs ~4 µs per upgrade. */
export interface CancelSignal {
  readonly aborted: boolean;
  addEventListener(type: 'abort', listener: AbortListener, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: AbortListener): void;
}

export interface Authenticator {
  /** Decides one upgrade. Never rejects: every failure is an `ok: false` result whose error carries the
   * HTTP status for the client. Aborting `signal` (the client went away) settles the call promptly
   * with CLIENT_GONE: a queued call is dropped, an in-flight one aborted, freeing its slot at once. */
  authenticate(request: UpgradeRequest, signal: CancelSignal): Promise<AuthResult>;
  /** Calls waiting for a slot plus calls in flight; for /readyz and metrics. */
  readonly load: { readonly waiting: number; readonly inFlight: number };
  close(): Promise<void>;
}

/** The result for a client that went away: nobody reads it, but every call still settles with one.
 * CLIENT_GONE is for logs and metrics only, never a backend failure. */
export function clientGone(): AuthResult {
  return { ok: false, error: new OctowayError('CLIENT_GONE') };
}

/** An authenticator that decides in this process (jwt, ticket): no queue, so `waiting` is 0; it
 * counts the calls being decided for `inFlight`, and once closed refuses with SHUTTING_DOWN. */
export function localAuthenticator(decide: (request: UpgradeRequest, signal: CancelSignal) => Promise<AuthResult>): Authenticator {
  let inFlight = 0;
  let closed = false;
  return {
    async authenticate(request, signal) {
      if (closed) return { ok: false, error: new OctowayError('SHUTTING_DOWN', undefined, { retryAfter: 1 }) };
      inFlight++;
      try {
        return await decide(request, signal);
      } finally {
        inFlight--;
      }
    },
    load: {
      get waiting() { return 0; },
      get inFlight() { return inFlight; },
    },
    async close() {
      closed = true;
    },
  };
}
