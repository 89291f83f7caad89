// The ticket store contract: single-use connect tickets (dSock's claims), made by a backend with
// POST /tickets and taken by the one upgrade that presents them. Implemented in memory
// (memory-tickets.ts) and in Redis (redis-tickets.ts); both run the shared contract suite in
// test/identity/ticket-store.contract.ts.

export interface Ticket {
  /** The value the client presents (`?ticket=`): random unless the backend chose it. A secret. */
  readonly id: string;
  /** The socket's first key and its subject. */
  readonly user: string;
  readonly session: string | undefined;
  /** More routing keys, besides `user`. */
  readonly keys: readonly string[];
  readonly claims: Readonly<Record<string, unknown>> | undefined;
  /** Milliseconds since the epoch after which the ticket opens nothing. */
  readonly expiresAt: number;
}

/** What take() found: the ticket, now gone from the store; or why there is none to use. */
export type TakeResult = Ticket | 'expired' | undefined;

export interface TicketStore {
  /** Stores a new ticket. Rejects with an OctowayError: TICKET_ID_TAKEN when a ticket with its id
   * exists (unused and unexpired), TICKETS_FULL past the store's bound, TICKET_STORE_UNAVAILABLE
   * when it could not be stored. */
  create(ticket: Ticket): Promise<void>;

  /** Removes the ticket `id` and returns it, atomically: of any number of concurrent takes of one
   * id, on one node or several, at most one gets the ticket. `'expired'` (or undefined) when it
   * expired before `now`; undefined when it is unknown, used or removed. Rejects with
   * TICKET_STORE_UNAVAILABLE when the store cannot be reached. */
  take(id: string, now?: number): Promise<TakeResult>;

  /** The user's unused, unexpired tickets (of one session, when given), soonest to expire first. */
  list(user: string, session?: string): Promise<Ticket[]>;

  /** Removes the user's unused tickets (of one session, when given); resolves to how many. */
  remove(user: string, session?: string): Promise<number>;

  close(): Promise<void>;
}
