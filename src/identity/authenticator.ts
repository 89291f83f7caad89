// The client-auth contract: how an upgrade request becomes routing keys.
// Forward auth (WS_AUTH_URL) is the first implementation; JWT and single-use tickets are planned.
import type { OctowayError } from '../errors.js';

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
  | { readonly ok: true; readonly keys: readonly string[]; readonly claims?: Readonly<Record<string, unknown>> }
  | { readonly ok: false; readonly error: OctowayError };

/** The part of an AbortSignal that authenticate uses. An AbortSignal fits; the upgrade handler passes
 * a one-listener object of its own, because an AbortController plus a listener costs ~4 µs per upgrade. */
export interface CancelSignal {
  readonly aborted: boolean;
  addEventListener(type: 'abort', listener: { handleEvent(): void }, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: { handleEvent(): void }): void;
}

export interface Authenticator {
  /** Decides one upgrade. Never rejects: every failure is an `ok: false` result whose error carries the
   * HTTP status for the client. Aborting `signal` (the client went away) drops a queued call and
   * aborts an in-flight one, freeing its concurrency slot at once. */
  authenticate(request: UpgradeRequest, signal: CancelSignal): Promise<AuthResult>;
  /** Calls waiting for a slot plus calls in flight; for /readyz and metrics. */
  readonly load: { readonly waiting: number; readonly inFlight: number };
  close(): Promise<void>;
}
