// The in-memory held store against the HeldStore contract, plus what only it does: the total bound,
// reclaiming memory of expired messages out of TTL order, packed bytes and the message-id bound.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { MemoryStore, type MemoryStoreOptions } from '../../src/delivery/memory-store.js';
import { createLogger } from '../../src/log.js';
import { heldStoreContract, message } from './held-store.contract.js';

heldStoreContract('MemoryStore', async ({ maxHeldPerKey }) => {
  const store = new MemoryStore({ maxHeld: 10_000, maxHeldPerKey, sweepIntervalMs: 50 }, createLogger('silent'));
  return { store, close: () => store.close() };
});

async function withStore(options: Partial<MemoryStoreOptions>, body: (store: MemoryStore) => Promise<void>): Promise<void> {
  const store = new MemoryStore({ maxHeld: 100_000, maxHeldPerKey: 100_000, sweepIntervalMs: 3_600_000, ...options }, createLogger('silent'));
  try {
    await body(store);
  } finally {
    await store.close();
  }
}

const ids = (messages: ReadonlyArray<{ readonly id: string }>): string[] => messages.map((m) => m.id);
const sized = (bytes: number, ttlMs = 60_000): ReturnType<typeof message> => {
  const m = message(ttlMs);
  return { ...m, frame: JSON.stringify({ id: m.id, payload: 'x'.repeat(bytes) }) };
};

test('past WS_MAX_HELD the oldest entry overall is dropped, whichever key holds it', async () => {
  await withStore({ maxHeld: 4 }, async (store) => {
    const [a, b, c] = [message(), message(), message()];
    await store.hold(a, ['x', 'y']);
    await store.hold(b, ['y']);
    await store.hold(c, ['z', 'x']); // 5 entries: a's entry for x (the oldest) goes
    assert.deepEqual(ids(await store.list('x')), [c.id]);
    assert.deepEqual(ids(await store.list('y')), [a.id, b.id], 'a is still held for y, bytes intact');
    assert.equal((await store.list('y'))[0]!.frame, a.frame);
    assert.deepEqual(store.stats(), { held: 4, droppedPerKey: 0, droppedTotal: 1, keys: 3, expired: 0 });
  });
});

test('the periodic sweep reclaims expired messages with no reader, even behind one that lives longer', async () => {
  await withStore({ sweepIntervalMs: 20 }, async (store) => {
    const long = sized(100);
    await store.hold(long, ['stays']);
    // Created as held, and a TTL long enough that none expires before the check below on a busy machine.
    for (let i = 0; i < 3000; i++) await store.hold(sized(1000, 1000), [`k${i % 7}`]);
    const before = store.footprint();
    assert.ok(before.entries === 3001 && before.bytes >= 3 * 2 ** 20, `all held: ${JSON.stringify(before)}`);
    const deadline = Date.now() + 5_000;
    while (store.footprint().entries > 1) {
      assert.ok(Date.now() < deadline, `not reclaimed: ${JSON.stringify(store.footprint())}`);
      await sleep(20);
    }
    assert.deepEqual(store.stats().held, 1);
    assert.equal(store.stats().expired, 3000, 'each reclaimed entry counts as expired, once');
    assert.equal(store.stats().keys, 1);
    assert.equal(store.footprint().bytes, 2 ** 20, 'one chunk left, for the long-lived message');
    assert.deepEqual(await store.list('stays'), [{ ...long, key: 'stays' }]);
    assert.deepEqual(await store.keys(), [{ key: 'stays', count: 1 }]);
  });
});

test('compaction keeps order, keys, shared bytes and TTLs of what is left', async () => {
  await withStore({}, async (store) => {
    const shared = sized(50);
    await store.hold(shared, ['a', 'b']);
    const kept: Array<ReturnType<typeof message>> = [];
    for (let i = 0; i < 3000; i++) {
      const m = sized(20, i % 3 === 0 ? 60_000 : 50);
      if (i % 3 === 0) kept.push(m);
      await store.hold(m, [i % 2 ? 'a' : 'c']);
    }
    const expiry = Date.now() + 60;
    while (Date.now() <= expiry) await sleep(expiry - Date.now() + 1);
    store.sweep();
    assert.equal(store.footprint().entries, kept.length + 2, 'dead entries reclaimed by compaction');
    assert.deepEqual(ids(await store.list('b')), [shared.id]);
    const inA = kept.filter((_, n) => (n * 3) % 2 === 1);
    assert.deepEqual(ids(await store.fetch(['a'], true)), [shared.id, ...ids(inA)]);
    assert.deepEqual(await store.list('b'), [{ ...shared, key: 'b' }], 'taking a leaves b its copy');
    assert.deepEqual(ids(await store.fetch(['c', 'b'], false)), [shared.id, ...ids(kept.filter((_, n) => (n * 3) % 2 === 0))]);
  });
});

test('frames larger than a chunk or across chunk boundaries round-trip; the ring grows and wraps in order', async () => {
  await withStore({}, async (store) => {
    const big = sized(1_500_000);
    const many = Array.from({ length: 40 }, (_, n) => sized(70_000 + n));
    await store.hold(big, ['k']);
    for (const m of many) await store.hold(m, ['k']);
    const got = await store.fetch(['k'], true);
    assert.deepEqual(got.map((m) => m.frame), [big, ...many].map((m) => m.frame));
  });
  // More entries than the initial ring (1024) held at once: it grows; then one key kept at its
  // bound while thousands pass through: the head moves and positions are reused (the ring wraps).
  await withStore({ maxHeldPerKey: 1000 }, async (store) => {
    const grown = Array.from({ length: 3000 }, () => message());
    grown.forEach((m, n) => store.holdSync(m, [`g${n % 3}`]));
    for (let k = 0; k < 3; k++) assert.deepEqual(ids(await store.list(`g${k}`)), ids(grown.filter((_, n) => n % 3 === k)));
    assert.deepEqual(ids(await store.fetch(['g0', 'g1', 'g2'], true)), ids(grown));
    const wrapped = Array.from({ length: 5000 }, () => message());
    for (const m of wrapped) store.holdSync(m, ['w']);
    assert.deepEqual(ids(await store.list('w')), ids(wrapped.slice(4000)));
    assert.equal(store.stats().droppedPerKey, 4000);
    assert.equal(store.footprint().entries, 1000, 'the dropped are gone from the ring, not just hidden');
  });
});

test('a key given twice at its bound keeps the message, bytes intact, even when the drop empties the store', async () => {
  await withStore({ maxHeldPerKey: 1 }, async (store) => {
    const big = sized(1_500_000); // spans chunks, so releasing the ones behind an empty store would lose it
    await store.hold(big, ['a', 'a']);
    assert.deepEqual(await store.list('a'), [{ ...big, key: 'a' }]);
    assert.equal(store.stats().droppedPerKey, 1);
  });
});

test('an id with a lone surrogate comes back as it was (JSON frames escape it; UTF-8 alone could not)', async () => {
  await withStore({}, async (store) => {
    const id = 'lone \ud800 surrogate';
    const m = { ...message(), id, frame: JSON.stringify({ id, payload: id }) };
    await store.hold(m, ['k']);
    assert.deepEqual(await store.fetch(['k'], true), [{ ...m, key: 'k' }]);
  });
});

test('message ids past the bound forget the oldest remembered', async () => {
  await withStore({ maxHeld: 10 }, async (store) => {
    const bound = 1000; // max(1000, WS_MAX_HELD)
    for (let i = 0; i <= bound; i++) assert.equal(await store.rememberMessageId(`id-${i}`, 60_000), true);
    assert.equal(await store.rememberMessageId(`id-${bound}`, 60_000), false, 'the newest is remembered');
    assert.equal(await store.rememberMessageId('id-1', 60_000), false, 'the second oldest too');
    assert.equal(await store.rememberMessageId('id-0', 60_000), true, 'the oldest was forgotten past the bound');
  });
});
