// The ticket authenticator (WS_AUTH_MODE=ticket): an upgrade presenting `?ticket=` (or dSock's
// `?claim=`) takes that ticket from the store and opens under its user, keys, session and claims.
// The ticket value is a secret: it is never logged, not even on a refusal.
import { OctowayError } from '../errors.js';
import type { Logger } from '../log.js';
import { clientGone, localAuthenticator, type AuthResult, type Authenticator } from './authenticator.js';
import { identityFrom } from './identity.js';
import type { Ticket, TicketStore } from './ticket-store.js';

/** The query parameters a ticket is presented in: Octoway's, and dSock's name for it. */
export const TICKET_PARAMETERS = ['ticket', 'claim'] as const;

/**
 * The ticket a query presents: undefined when it names none, TICKET_INVALID when the parameter is
 * empty, repeated or given under both names (the upgrade cannot say which one it means).
 */
export function ticketOf(query: string): string | OctowayError | undefined {
  if (query === '' || !(query.includes('ticket') || query.includes('claim'))) return undefined;
  const params = new URLSearchParams(query);
  const given = [...params.getAll('ticket'), ...params.getAll('claim')];
  if (given.length === 0) return undefined;
  if (given.length > 1 || given[0] === '') return new OctowayError('TICKET_INVALID');
  return given[0];
}

/**
 * Guarantees: a ticket opens at most one socket (the store's take is atomic, on one node or
 * across nodes through Redis); a presented ticket that is unknown, used or expired is refused with
 * 401 and never handed to another mode. The socket lives on after the ticket's expiry: the expiry
 * bounds when a ticket may be used, not how long its socket stays open (identity.expiresAt is
 * undefined). A client that goes away after its ticket was taken has used it.
 */
export function createTicketAuthenticator(store: TicketStore, log: Logger): Authenticator {
  const refuse = (code: 'TICKET_NOT_FOUND' | 'TICKET_EXPIRED'): AuthResult => ({ ok: false, error: new OctowayError(code) });
  // The store is the gateway's (POST /tickets uses it too), closed by it, not by this authenticator.
  return localAuthenticator(async (request, signal) => {
    const id = ticketOf(request.query);
    if (id === undefined) return refuse('TICKET_NOT_FOUND');
    if (id instanceof OctowayError) return { ok: false, error: id };
    // Gone before anything was taken: the ticket stays usable.
    if (signal.aborted) return clientGone();
    try {
      const taken = await store.take(id);
      if (taken === undefined) return refuse('TICKET_NOT_FOUND');
      if (taken === 'expired') return refuse('TICKET_EXPIRED');
      return identityOf(taken, log);
    } catch (err) {
      return { ok: false, error: err instanceof OctowayError ? err : new OctowayError('TICKET_STORE_UNAVAILABLE', undefined, { retryAfter: 1 }) };
    }
  });
}

/** The socket's identity: the user as its subject and first key (as a JWT's `sub`), then the
 * ticket's other keys; session and claims as given. Checked again here against the routing-key
 * limits, although POST /tickets checked them, since a shared store could hold anything. */
function identityOf(ticket: Ticket, log: Logger): AuthResult {
  const keys = [...new Set([ticket.user, ...ticket.keys])];
  const identity = identityFrom({
    keys,
    subject: ticket.user,
    ...(ticket.session === undefined ? {} : { session: ticket.session }),
    ...(ticket.claims === undefined ? {} : { claims: { ...ticket.claims } }),
  }, log);
  return identity instanceof OctowayError ? { ok: false, error: identity } : { ok: true, identity };
}
