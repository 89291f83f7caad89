// Tickets in this process's memory: for a single node (with WS_REDIS_URL, redis-tickets.ts shares
// them). Bounded by WS_TICKET_MAX unused tickets.
import { OctowayError } from '../errors.js';
import type { TakeResult, Ticket, TicketStore } from './ticket-store.js';

/**
 * Guarantees: a ticket is taken at most once (take is synchronous inside one event-loop turn);
 * expired tickets are never listed nor taken, and their memory is reclaimed as new tickets are made:
 * the oldest made are checked first (most tickets share one lifetime, so they expire in the order
 * they were made), and every ticket is checked once the store is full, before it refuses one.
 */
export class MemoryTickets implements TicketStore {
  /** id -> ticket, in the order they were made. */
  private readonly byId = new Map<string, Ticket>();
  /** user -> ids of the user's unused tickets. */
  private readonly byUser = new Map<string, Set<string>>();

  constructor(private readonly max: number) {}

  get size(): number {
    return this.byId.size;
  }

  async create(ticket: Ticket): Promise<void> {
    const now = Date.now();
    this.reclaimOldest(now);
    const existing = this.byId.get(ticket.id);
    if (existing !== undefined) {
      if (existing.expiresAt > now) throw new OctowayError('TICKET_ID_TAKEN');
      this.delete(existing);
    }
    if (this.byId.size >= this.max) this.reclaimAll(now);
    if (this.byId.size >= this.max) throw new OctowayError('TICKETS_FULL', undefined, { retryAfter: 1 });
    this.byId.set(ticket.id, ticket);
    let ids = this.byUser.get(ticket.user);
    if (ids === undefined) this.byUser.set(ticket.user, (ids = new Set()));
    ids.add(ticket.id);
  }

  async take(id: string, now = Date.now()): Promise<TakeResult> {
    const ticket = this.byId.get(id);
    if (ticket === undefined) return undefined;
    this.delete(ticket);
    return ticket.expiresAt > now ? ticket : 'expired';
  }

  async list(user: string, session?: string): Promise<Ticket[]> {
    const now = Date.now();
    return this.ofUser(user, session).filter((t) => t.expiresAt > now).sort((a, b) => a.expiresAt - b.expiresAt);
  }

  async remove(user: string, session?: string): Promise<number> {
    const now = Date.now();
    let removed = 0;
    for (const ticket of this.ofUser(user, session)) {
      this.delete(ticket);
      if (ticket.expiresAt > now) removed++;
    }
    return removed;
  }

  async close(): Promise<void> {
    this.byId.clear();
    this.byUser.clear();
  }

  private ofUser(user: string, session: string | undefined): Ticket[] {
    const out: Ticket[] = [];
    for (const id of this.byUser.get(user) ?? []) {
      const ticket = this.byId.get(id);
      if (ticket !== undefined && (session === undefined || ticket.session === session)) out.push(ticket);
    }
    return out;
  }

  private delete(ticket: Ticket): void {
    this.byId.delete(ticket.id);
    const ids = this.byUser.get(ticket.user);
    ids?.delete(ticket.id);
    if (ids?.size === 0) this.byUser.delete(ticket.user);
  }

  /** Drops expired tickets from the oldest made, up to the first one still valid: O(1) amortised. */
  private reclaimOldest(now: number): void {
    for (const ticket of this.byId.values()) {
      if (ticket.expiresAt > now) return;
      this.delete(ticket);
    }
  }

  private reclaimAll(now: number): void {
    for (const ticket of [...this.byId.values()]) if (ticket.expiresAt <= now) this.delete(ticket);
  }
}
