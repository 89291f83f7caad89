// The HeldStore contract, run against every implementation (memory-store.test.ts, redis-store.test.ts).
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { HeldMessage, HeldStore } from '../../src/delivery/held-store.js';

export interface StoreFixture {
  readonly store: HeldStore;
  close(): Promise<void>;
}

export type StoreFactory = (options: { maxHeldPerKey: number }) => Promise<StoreFixture>;

let counter = 0;
/** A message created now, unique in this run, expiring after `ttlMs`. */
export function message(ttlMs = 60_000, createdAt = Date.now()): Omit<HeldMessage, 'key'> {
  const id = `m${++counter}-${Math.random().toString(36).slice(2, 8)}`;
  return { id, frame: JSON.stringify({ id, payload: { n: counter, text: 'é "quoted" \n:colons:' } }), createdAt, expiresAt: createdAt + ttlMs, expire: `${ttlMs}ms` };
}

/** Expire texts as backends post them (Goctopus's `exp` shows them back unchanged). */
const EXPIRES = ['30m', '1h30m', '1.5µs', '0', '90s', '2d'];

const ids = (messages: ReadonlyArray<{ readonly id: string }>): string[] => messages.map((m) => m.id);

/** Waits until the wall clock passes `deadline` (an expiry), not a guessed duration. The margin
 * covers lru-cache, whose clock (performance.now, cached per millisecond) runs up to ~2 ms behind. */
async function until(deadline: number): Promise<void> {
  const end = deadline + CLOCK_MARGIN_MS;
  while (Date.now() <= end) await sleep(end - Date.now() + 1);
}
const CLOCK_MARGIN_MS = 10;

export function heldStoreContract(name: string, factory: StoreFactory): void {
  describe(`HeldStore contract: ${name}`, () => {
    const fixtures: StoreFixture[] = [];
    const make = async (maxHeldPerKey = 100): Promise<HeldStore> => {
      const fixture = await factory({ maxHeldPerKey });
      fixtures.push(fixture);
      return fixture.store;
    };
    after(async () => {
      for (const f of fixtures) await f.close();
    });

    test('fetch returns held messages oldest first, each once, with their fields intact', async () => {
      const store = await make();
      const [a, b, c] = [message(), message(), message()];
      await store.hold(a!, ['k1']);
      await store.hold(b!, ['k1', 'k2']);
      await store.hold(c!, ['k2']);
      const k1 = await store.fetch(['k1'], false);
      assert.deepEqual(k1, [{ ...a, key: 'k1' }, { ...b, key: 'k1' }]);
      assert.deepEqual(ids(await store.fetch(['k1', 'k2'], false)), [a!.id, b!.id, c!.id]);
      assert.deepEqual(ids(await store.fetch(['k2', 'k1'], false)), [a!.id, b!.id, c!.id], 'order does not depend on the order of the keys');
      assert.deepEqual(ids(await store.fetch(['nobody'], false)), []);
    });

    test('publish order per key survives messages created in the same millisecond or with an older clock', async () => {
      const store = await make();
      const now = Date.now();
      const batch = [message(60_000, now), message(60_000, now), message(60_000, now - 5_000), message(60_000, now)];
      for (const m of batch) await store.hold(m, ['k']);
      assert.deepEqual(ids(await store.list('k')), ids(batch));
    });

    test('fetch with remove gives each message to exactly one of many concurrent fetches', async () => {
      const store = await make();
      const held = Array.from({ length: 50 }, () => message());
      for (const m of held) await store.hold(m, ['k']);
      const results = await Promise.all(Array.from({ length: 10 }, () => store.fetch(['k'], true)));
      const got = results.flatMap(ids);
      assert.equal(got.length, held.length, 'every message once, none twice');
      assert.deepEqual([...got].sort(), ids(held).sort());
      assert.equal(results.filter((r) => r.length > 0).length, 1, 'one fetch took them all');
      assert.deepEqual(await store.fetch(['k'], true), []);
    });

    test('ack removes a message from the given keys only', async () => {
      const store = await make();
      const m = message();
      await store.hold(m, ['a', 'b']);
      assert.equal(await store.ack(['a'], m.id), 1);
      assert.deepEqual(await store.list('a'), []);
      assert.deepEqual(ids(await store.list('b')), [m.id]);
      assert.equal(await store.ack(['a', 'b'], m.id), 1);
      assert.equal(await store.ack(['a', 'b'], 'unknown'), 0);
    });

    test('keys, list and remove (all, one key, one message)', async () => {
      const store = await make();
      const [a, b, c] = [message(), message(), message()];
      await store.hold(a!, ['x']);
      await store.hold(b!, ['x']);
      await store.hold(c!, ['y']);
      const keys = (await store.keys()).sort((p, q) => p.key.localeCompare(q.key));
      assert.deepEqual(keys, [{ key: 'x', count: 2 }, { key: 'y', count: 1 }]);
      assert.equal(await store.remove({ key: 'x', id: a!.id }), 1);
      assert.deepEqual(ids(await store.list('x')), [b!.id]);
      assert.equal(await store.remove({ key: 'y' }), 1);
      assert.deepEqual(await store.keys(), [{ key: 'x', count: 1 }]);
      await store.hold(c!, ['z']);
      assert.equal(await store.remove({}), 2);
      assert.deepEqual(await store.keys(), []);
    });

    test('heldKeysMatching lists the keys with held messages that a pattern matches, * not crossing /', async () => {
      const store = await make();
      const tag = randomUUID().slice(0, 8);
      for (const key of [`${tag}/a`, `${tag}/b`, `${tag}/a/deep`, `${tag}x/a`, `other-${tag}`]) await store.hold(message(), [key]);
      assert.deepEqual((await store.heldKeysMatching([`${tag}/*`])).sort(), [`${tag}/a`, `${tag}/b`]);
      assert.deepEqual((await store.heldKeysMatching([`${tag}/?`, `${tag}*/a/*`])).sort(), [`${tag}/a`, `${tag}/a/deep`, `${tag}/b`]);
      assert.deepEqual(await store.heldKeysMatching([`${tag}/[`]), [], 'a malformed pattern matches nothing');
    });

    test('expired messages are never returned, and a message already expired is not stored', async () => {
      const store = await make();
      const short = message(150);
      const long = message();
      await store.hold(short, ['k']);
      await store.hold(long, ['k']);
      await store.hold(message(-1), ['k']);
      assert.deepEqual(ids(await store.list('k')), [short.id, long.id]);
      await until(short.expiresAt);
      assert.deepEqual(ids(await store.fetch(['k'], false)), [long.id]);
      assert.deepEqual(await store.keys(), [{ key: 'k', count: 1 }]);
      assert.deepEqual(ids(await store.fetch(['k'], true)), [long.id]);
    });

    test('past the per-key bound the oldest messages of that key are dropped', async () => {
      const store = await make(3);
      const held = Array.from({ length: 5 }, () => message());
      for (const m of held) await store.hold(m, ['k']);
      await store.hold(message(), ['other']);
      assert.deepEqual(ids(await store.list('k')), ids(held.slice(2)));
      assert.equal((await store.list('other')).length, 1);
      assert.equal(store.stats().droppedPerKey, 2);
    });

    test('ids and frames round-trip exactly, whatever characters they hold and however the frame was built', async () => {
      const store = await make();
      const uuid = randomUUID();
      const odd = ['quote " and \\ backslash', 'ünïcødé ✓ 😀', 'tab\tnew\nline', '', uuid, randomUUID().toUpperCase(), `${uuid}x`];
      const held = odd.map((id, n) => ({ ...message(), id, frame: JSON.stringify({ id, payload: { n, s: id } }), expire: EXPIRES[n % EXPIRES.length] as string }));
      const now = Date.now();
      const built = [
        { id: 'not-frameOf-1', frame: 'plain text, not JSON', createdAt: now, expiresAt: now + 60_000, expire: EXPIRES[1] as string },
        { id: 'not-frameOf-2', frame: '{"payload":1,"id":"not-frameOf-2"}', createdAt: now, expiresAt: now + 60_000, expire: EXPIRES[2] as string },
        { id: 'not-frameOf-3', frame: '{"id":"another-id","payload":1}', createdAt: now, expiresAt: now + 60_000, expire: EXPIRES[3] as string },
      ];
      for (const m of [...held, ...built]) await store.hold(m, ['k']);
      const got = await store.list('k');
      assert.deepEqual(got.map((m) => [m.id, m.frame, m.expire]), [...held, ...built].map((m) => [m.id, m.frame, m.expire]));
      assert.equal(await store.ack(['k'], 'quote " and \\ backslash'), 1, 'ack matches an id that needs escaping');
      assert.equal(await store.ack(['k'], uuid), 1, 'and a UUID');
      assert.equal((await store.fetch(['k'], true)).length, held.length + built.length - 2);
    });

    test('message ids are remembered for their ttl and can be forgotten', async () => {
      const store = await make();
      const id = `backend-${Math.random()}`;
      assert.equal(await store.rememberMessageId(id, 60_000), true);
      assert.equal(await store.rememberMessageId(id, 60_000), false);
      await store.forgetMessageId(id);
      assert.equal(await store.rememberMessageId(id, 60_000), true);
      const brief = `brief-${Math.random()}`;
      const deadline = Date.now() + 100;
      assert.equal(await store.rememberMessageId(brief, 100), true);
      await until(deadline);
      assert.equal(await store.rememberMessageId(brief, 100), true, 'remembered no longer than its ttl');
    });
  });
}
