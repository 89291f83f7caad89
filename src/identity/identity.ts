// Identity: who an authenticated socket is, whatever decided it (forward auth today; JWT and tickets
// later). Built once per decision from an exporter's output, frozen, and shared by every socket the
// same cached decision opens.
import { OctowayError } from '../errors.js';
import { MAX_KEY_LENGTH, MAX_KEYS_PER_SOCKET, socketKeysLimit } from '../delivery/routing-key.js';
import type { Logger } from '../log.js';
import type { ExportResult } from './exporters.js';

/** What a socket may subscribe to and publish to. Empty for forward auth unless the exporter gives them. */
export interface Grants {
  readonly subscribe: readonly string[];
  readonly publish: readonly string[];
}

export interface Identity {
  /** The user, when the decision names one (a JWT's `sub`; the exporter's `subject`). */
  readonly subject: string | undefined;
  readonly session: string | undefined;
  /** Routing keys: at least one, within the routing-key limits. */
  readonly keys: readonly string[];
  /** Kept whole for targeting; undefined when the decision carried none. */
  readonly claims: Readonly<Record<string, unknown>> | undefined;
  readonly grants: Grants;
  /** Unix seconds after which the credential is no longer valid; undefined when it does not expire. */
  readonly expiresAt: number | undefined;
}

const NO_GRANTS: Grants = Object.freeze({ subscribe: Object.freeze([]), publish: Object.freeze([]) });

/** A frozen Identity from an exporter's (already normalised) output, or the error refusing it: no
 * key (AUTH_NO_KEYS, a decision), or keys past the routing-key limits (AUTH_INVALID_KEYS, logged
 * by number and size only: the keys themselves identify the user). */
export function identityFrom(exported: ExportResult, log: Logger): Identity | OctowayError {
  const { keys } = exported;
  if (keys.length === 0) return new OctowayError('AUTH_NO_KEYS');
  // A socket under a key no publish can reach would wait for ever: the answer is wrong.
  const limit = socketKeysLimit(keys);
  if (limit !== undefined) {
    const longest = keys.reduce((n, key) => Math.max(n, key.length), 0);
    log.warn({ limit, keys: keys.length, longest, maxKeys: MAX_KEYS_PER_SOCKET, maxKeyLength: MAX_KEY_LENGTH }, 'auth answer has keys past the routing-key limits');
    return new OctowayError('AUTH_INVALID_KEYS');
  }
  const grants = exported.grants === undefined
    ? NO_GRANTS
    : Object.freeze({ subscribe: Object.freeze(exported.grants.subscribe ?? []), publish: Object.freeze(exported.grants.publish ?? []) });
  return Object.freeze({
    subject: exported.subject,
    session: exported.session,
    keys: Object.freeze(keys),
    claims: exported.claims === undefined ? undefined : Object.freeze(exported.claims),
    grants,
    expiresAt: exported.expiresAt,
  });
}
