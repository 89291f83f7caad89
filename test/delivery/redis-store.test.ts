// The Redis held store against the HeldStore contract, plus what only Redis does: reclaiming the
// memory of expired messages with no node alive, and namespacing by prefix.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { mergeHeld, RedisStore } from '../../src/delivery/redis-store.js';
import { createLogger } from '../../src/log.js';
import { connectRedis, type RedisConnection } from '../../src/redis/connect.js';
import { Keyspace } from '../../src/redis/keyspace.js';
import { deletePrefix, redisClient, SHARED_REDIS_URL, testPrefix } from '../helpers/redis.js';
import { heldStoreContract, message } from './held-store.contract.js';

const admin = await redisClient();
after(() => admin.quit());

async function redisStore(maxHeldPerKey: number): Promise<{ store: RedisStore; prefix: string; connection: RedisConnection }> {
  const prefix = testPrefix('store');
  const connection = connectRedis({ url: SHARED_REDIS_URL, cluster: false }, createLogger('silent'));
  if (connection.client.status !== 'ready') await once(connection.client, 'ready');
  const store = new RedisStore({ client: connection.client, keyspace: new Keyspace(prefix), cluster: false, maxHeldPerKey }, createLogger('silent'));
  return { store, prefix, connection };
}

heldStoreContract('RedisStore', async ({ maxHeldPerKey }) => {
  const { store, prefix, connection } = await redisStore(maxHeldPerKey);
  return {
    store,
    async close() {
      await store.close();
      await connection.close();
      await deletePrefix(admin, prefix);
    },
  };
});

test('Redis reclaims a key\'s held messages when the last one expires, with no node reading them', async () => {
  const { store, prefix, connection } = await redisStore(10);
  try {
    const m = message(200);
    await store.hold(m, ['gone']);
    const names = Object.values(new Keyspace(prefix).of('gone')).slice(0, 3);
    for (const name of names) {
      const ttl = await admin.pttl(name);
      assert.ok(ttl > 0 && ttl <= 200, `${name} expires with its last message (pttl ${ttl})`);
    }
    const deadline = Date.now() + 2_000;
    while (await admin.exists(...names) > 0) {
      assert.ok(Date.now() < deadline, 'Redis did not reclaim the expired key');
      await sleep(25);
    }
  } finally {
    await connection.close();
    await deletePrefix(admin, prefix);
  }
});

test('keys with braces, colons and glob characters round-trip, and prefixes keep deployments apart', async () => {
  const one = await redisStore(10);
  const two = await redisStore(10);
  try {
    const odd = ['a}:seq', '{b}', 'c*?[d]', 'ünï:cødé'];
    for (const key of odd) await one.store.hold(message(), [key]);
    const listed = (await one.store.keys()).map((k) => k.key).sort();
    assert.deepEqual(listed, [...odd].sort());
    for (const key of odd) assert.equal((await one.store.list(key)).length, 1, key);
    assert.deepEqual(await two.store.keys(), [], 'another prefix sees nothing');
    assert.equal(await two.store.remove({}), 0);
    assert.equal(await one.store.remove({}), odd.length);
  } finally {
    for (const s of [one, two]) {
      await s.connection.close();
      await deletePrefix(admin, s.prefix);
    }
  }
});

test('held entries written before `expire` was kept (no "/expire" in the stamp) read back with the same duration', () => {
  const [old, current] = mergeHeld([{ key: 'k', flat: ['a', '1', '1000:61000:{"id":"a","payload":1}', 'b', '2', '1000/1h30m:5401000:{"id":"b","payload":2}'] }]);
  assert.deepEqual([old?.createdAt, old?.expiresAt, old?.expire, old?.frame], [1000, 61000, '60000ms', '{"id":"a","payload":1}']);
  assert.deepEqual([current?.createdAt, current?.expire], [1000, '1h30m']);
});
