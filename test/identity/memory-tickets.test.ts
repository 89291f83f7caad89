// The in-memory ticket store against the TicketStore contract, plus its bound (WS_TICKET_MAX).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { OctowayError } from '../../src/errors.js';
import { MemoryTickets } from '../../src/identity/memory-tickets.js';
import { ticket, ticketStoreContract } from './ticket-store.contract.js';

ticketStoreContract('MemoryTickets', async () => {
  const store = new MemoryTickets(10_000);
  return { store, close: () => store.close() };
});

test('past WS_TICKET_MAX a new ticket is refused with TICKETS_FULL (503, Retry-After) until one is used or expires', async () => {
  const store = new MemoryTickets(3);
  const held = [ticket(), ticket(), ticket({}, 100)];
  for (const t of held) await store.create(t);
  await assert.rejects(store.create(ticket()), (err) => err instanceof OctowayError && err.code === 'TICKETS_FULL' && err.status === 503 && err.retryAfter === 1);
  await store.take(held[0]!.id);
  await store.create(ticket());
  await assert.rejects(store.create(ticket()), (err) => err instanceof OctowayError && err.code === 'TICKETS_FULL');
  // The short-lived one expires: its place is reclaimed, though it was made after live ones.
  const end = held[2]!.expiresAt + 10;
  while (Date.now() <= end) await sleep(end - Date.now() + 1);
  await store.create(ticket());
  assert.equal(store.size, 3);
});

test('expired tickets made first are reclaimed as new ones are made, with no sweep', async () => {
  const store = new MemoryTickets(100_000);
  for (let i = 0; i < 1000; i++) await store.create(ticket({}, 50));
  const end = Date.now() + 60;
  while (Date.now() <= end) await sleep(end - Date.now() + 1);
  await store.create(ticket());
  assert.equal(store.size, 1);
});
