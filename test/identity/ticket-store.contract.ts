// The TicketStore contract, run against every implementation (memory-tickets.test.ts, redis-tickets.test.ts).
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { OctowayError } from '../../src/errors.js';
import type { Ticket, TicketStore } from '../../src/identity/ticket-store.js';

export interface TicketFixture {
  readonly store: TicketStore;
  close(): Promise<void>;
}

/** `max`: the bound, for stores that have one (memory); others ignore it. */
export type TicketFactory = () => Promise<TicketFixture>;

/** A ticket unique in this run, expiring `ttlMs` from now. */
export function ticket(fields: Partial<Ticket> = {}, ttlMs = 60_000): Ticket {
  return { id: randomUUID(), user: `u-${randomUUID()}`, session: undefined, keys: [], claims: undefined, expiresAt: Date.now() + ttlMs, ...fields };
}

/** Waits until the wall clock passes `deadline`, with a margin for the store's own clock reading. */
async function until(deadline: number): Promise<void> {
  const end = deadline + 10;
  while (Date.now() <= end) await sleep(end - Date.now() + 1);
}

const code = (err: unknown): string | undefined => (err instanceof OctowayError ? err.code : undefined);

export function ticketStoreContract(name: string, factory: TicketFactory): void {
  describe(`TicketStore contract: ${name}`, () => {
    const fixtures: TicketFixture[] = [];
    const make = async (): Promise<TicketStore> => {
      const fixture = await factory();
      fixtures.push(fixture);
      return fixture.store;
    };
    after(async () => {
      for (const f of fixtures) await f.close();
    });

    test('a ticket is taken once, with every field intact, then is gone', async () => {
      const store = await make();
      const t = ticket({ session: 's1', keys: ['team:1', 'é "quoted" {braces}'], claims: { role: 'admin', nested: { n: [1, 2] } } });
      await store.create(t);
      assert.deepEqual(await store.take(t.id), t);
      assert.equal(await store.take(t.id), undefined, 'used');
      assert.deepEqual(await store.list(t.user), [], 'no longer listed');
      assert.equal(await store.take(randomUUID()), undefined, 'unknown');
    });

    test('of many concurrent takes of one ticket exactly one gets it', async () => {
      const store = await make();
      const t = ticket();
      await store.create(t);
      const results = await Promise.all(Array.from({ length: 50 }, () => store.take(t.id)));
      assert.equal(results.filter((r) => r !== undefined && r !== 'expired').length, 1);
    });

    test('an id that exists is refused with TICKET_ID_TAKEN and the first ticket is unchanged; a used id may be made again', async () => {
      const store = await make();
      const t = ticket({ id: 'chosen-id-' + randomUUID() });
      await store.create(t);
      await assert.rejects(store.create({ ...t, user: 'someone-else' }), (err) => code(err) === 'TICKET_ID_TAKEN');
      assert.deepEqual(await store.take(t.id), t);
      await store.create({ ...t, expiresAt: Date.now() + 60_000 });
      assert.equal((await store.list(t.user)).length, 1);
    });

    test('an expired ticket is neither taken nor listed nor counted as removed, and its id may be made again', async () => {
      const store = await make();
      const t = ticket({}, 150);
      const live = ticket({ user: t.user });
      await store.create(t);
      await store.create(live);
      await until(t.expiresAt);
      const taken = await store.take(t.id);
      assert.ok(taken === undefined || taken === 'expired', `an expired ticket is not handed out (got ${JSON.stringify(taken)})`);
      assert.deepEqual((await store.list(t.user)).map((x) => x.id), [live.id]);
      const again = ticket({ id: t.id, user: t.user });
      await store.create(again);
      assert.equal(await store.remove(t.user), 2);
    });

    test('listing gives a user\'s unused tickets, soonest to expire first, filtered by session; other users\' stay apart', async () => {
      const store = await make();
      const user = `u-${randomUUID()}`;
      const late = ticket({ user, session: 'a' }, 90_000);
      const soon = ticket({ user, session: 'b' }, 30_000);
      const mid = ticket({ user, session: 'a' }, 60_000);
      const other = ticket({ session: 'a' });
      for (const t of [late, soon, mid, other]) await store.create(t);
      assert.deepEqual((await store.list(user)).map((t) => t.id), [soon.id, mid.id, late.id]);
      assert.deepEqual(await store.list(user, 'a'), [mid, late]);
      assert.deepEqual(await store.list(user, 'none'), []);
      assert.deepEqual(await store.list(`nobody-${randomUUID()}`), []);
      await store.take(mid.id);
      assert.deepEqual((await store.list(user, 'a')).map((t) => t.id), [late.id]);
      assert.deepEqual((await store.list(other.user)).map((t) => t.id), [other.id]);
    });

    test('removal takes a user\'s unused tickets (of one session, when given), answers how many, and leaves the rest usable', async () => {
      const store = await make();
      const user = `u-${randomUUID()}`;
      const [a1, a2, b1] = [ticket({ user, session: 'a' }), ticket({ user, session: 'a' }), ticket({ user, session: 'b' })];
      const other = ticket();
      for (const t of [a1, a2, b1, other]) await store.create(t!);
      await store.take(a2!.id);
      assert.equal(await store.remove(user, 'a'), 1, 'the used one is not counted');
      assert.equal(await store.take(a1!.id), undefined, 'removed tickets open nothing');
      assert.deepEqual((await store.list(user)).map((t) => t.id), [b1!.id]);
      assert.equal(await store.remove(user), 1);
      assert.equal(await store.remove(user), 0);
      assert.equal(await store.take(b1!.id), undefined);
      assert.deepEqual(await store.take(other.id), other, 'another user\'s ticket is untouched');
    });
  });
}
