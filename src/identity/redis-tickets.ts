// Tickets in Redis (WS_REDIS_URL): made on one node, used on any. Each ticket is one string key
// whose Redis expiry is the ticket's; a script reads and deletes it in one step (GETDEL, which
// Redis has only from 6.2; Octoway needs 5.0), so of any number of concurrent upgrades presenting
// it, on any nodes, exactly one gets it. A per-user ZSET indexes the ids for listing
// and removal; it is an index only (a ticket it names may be gone), never the ticket itself, so
// every operation stays on one key and works across Redis Cluster slots.
import { OctowayError } from '../errors.js';
import type { Logger } from '../log.js';
import type { RedisClient } from '../redis/connect.js';
import type { Keyspace } from '../redis/keyspace.js';
import { run, TICKET_INDEX, TICKET_TAKE } from '../redis/scripts.js';
import type { TakeResult, Ticket, TicketStore } from './ticket-store.js';

/** What is stored under a ticket's key (its id is the key's name). */
interface Stored {
  readonly user: string;
  readonly session?: string;
  readonly keys: readonly string[];
  readonly claims?: Readonly<Record<string, unknown>>;
  readonly expiresAt: number;
}

export class RedisTickets implements TicketStore {
  constructor(private readonly client: RedisClient, private readonly keyspace: Keyspace, private readonly log: Logger) {}

  async create(ticket: Ticket): Promise<void> {
    const stored: Stored = {
      user: ticket.user,
      ...(ticket.session === undefined ? {} : { session: ticket.session }),
      keys: ticket.keys,
      ...(ticket.claims === undefined ? {} : { claims: ticket.claims }),
      expiresAt: ticket.expiresAt,
    };
    const key = this.keyspace.ticket(ticket.id);
    // PX (relative) rather than PXAT, which Redis has only from 6.2; the index below keeps the absolute time.
    const ttlMs = Math.max(1, ticket.expiresAt - Date.now());
    const set = await this.guard(this.client.set(key, JSON.stringify(stored), 'PX', ttlMs, 'NX'));
    if (set === null) throw new OctowayError('TICKET_ID_TAKEN');
    try {
      await run(this.client, TICKET_INDEX, [this.keyspace.userTickets(ticket.user)], [ticket.id, ticket.expiresAt, Date.now()]);
    } catch (err) {
      // Unlisted, it could not be removed by DELETE /tickets: it is not made at all.
      await this.client.del(key).catch(() => undefined);
      throw this.unavailable(err);
    }
  }

  async take(id: string, now = Date.now()): Promise<TakeResult> {
    const value = await this.guard(run(this.client, TICKET_TAKE, [this.keyspace.ticket(id)], []));
    if (typeof value !== 'string') return undefined;
    const ticket = this.parse(id, value);
    if (ticket === undefined) return undefined;
    // The index entry is only an index: left behind, it is dropped by the next listing or ticket.
    this.client.zrem(this.keyspace.userTickets(ticket.user), id).catch(() => undefined);
    return ticket.expiresAt > now ? ticket : 'expired';
  }

  async list(user: string, session?: string): Promise<Ticket[]> {
    const ids = await this.guard(this.client.zrangebyscore(this.keyspace.userTickets(user), `(${Date.now()}`, '+inf'));
    const tickets = await this.read(ids);
    return tickets.filter((t) => t.user === user && (session === undefined || t.session === session));
  }

  async remove(user: string, session?: string): Promise<number> {
    const index = this.keyspace.userTickets(user);
    const ids = await this.guard(this.client.zrange(index, '0', '-1'));
    const chosen = session === undefined ? ids : (await this.read(ids)).filter((t) => t.session === session).map((t) => t.id);
    // DEL answers 1 only for a ticket still there: one taken meanwhile is not counted as removed.
    const deleted = await this.guard(Promise.all(chosen.map((id) => this.client.del(this.keyspace.ticket(id)))));
    if (session === undefined) await this.guard(this.client.del(index));
    else if (chosen.length > 0) await this.guard(this.client.zrem(index, ...chosen));
    return deleted.reduce((n, d) => n + d, 0);
  }

  async close(): Promise<void> {
    // The connection is the gateway's, closed by it.
  }

  /** The tickets with these ids still stored, in the same order. One GET each (auto-pipelined into
   * one round trip), since in a Cluster the tickets live in different slots. */
  private async read(ids: readonly string[]): Promise<Ticket[]> {
    const values = await this.guard(Promise.all(ids.map((id) => this.client.get(this.keyspace.ticket(id)))));
    const out: Ticket[] = [];
    values.forEach((value, i) => {
      const ticket = value === null ? undefined : this.parse(ids[i] as string, value);
      if (ticket !== undefined) out.push(ticket);
    });
    return out;
  }

  private parse(id: string, value: string): Ticket | undefined {
    try {
      const s = JSON.parse(value) as Stored;
      if (typeof s.user !== 'string' || !Array.isArray(s.keys) || typeof s.expiresAt !== 'number') throw new TypeError('not a ticket');
      return { id, user: s.user, session: s.session, keys: s.keys, claims: s.claims, expiresAt: s.expiresAt };
    } catch {
      // Not ours, or damaged: never used. Logged without the id, which is the secret.
      this.log.error('a stored ticket is not valid JSON of a ticket; ignored');
      return undefined;
    }
  }

  private async guard<T>(work: Promise<T>): Promise<T> {
    try {
      return await work;
    } catch (err) {
      throw this.unavailable(err);
    }
  }

  private unavailable(err: unknown): OctowayError {
    if (err instanceof OctowayError) return err;
    this.log.warn({ code: errorCode(err) }, 'ticket store unavailable');
    return new OctowayError('TICKET_STORE_UNAVAILABLE', undefined, { cause: err, retryAfter: 1 });
  }
}

function errorCode(err: unknown): string {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string') return err.code;
  return err instanceof Error ? err.message.slice(0, 100) : typeof err;
}
