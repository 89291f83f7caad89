// The in-flight scripts against the real Redis, without a gateway: what a node did not confirm is
// promoted when it dies (its lease runs out) or leaves the key: re-sent to nodes that did not get it,
// or held in publish order.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { Redis } from 'ioredis';
import { RedisStore } from '../../src/delivery/redis-store.js';
import { createLogger } from '../../src/log.js';
import { Keyspace } from '../../src/redis/keyspace.js';
import { FETCH, JOIN, LEASE, PUBLISH, run } from '../../src/redis/scripts.js';
import { readPublish, readRoute } from '../../src/redis/bus-envelope.js';
import { deletePrefix, redisClient, testPrefix } from '../helpers/redis.js';

const MAX = 100;
const TTL = 60_000;
let redis: Redis;
const keyspace = new Keyspace(testPrefix('promotion'));
const K = 'k';

before(async () => {
  redis = await redisClient();
});
after(async () => {
  await deletePrefix(redis, keyspace.prefix);
  await redis.quit();
});

const join = (node: string, count: number, key = K): Promise<unknown> =>
  run(redis, JOIN, keyspace.all(key), [node, TTL, Date.now(), 1, keyspace.channel, MAX, 0, keyspace.prefix, count]);
const lease = (node: string, count: number, key = K): Promise<unknown> =>
  run(redis, LEASE, keyspace.all(key), [node, TTL, Date.now(), keyspace.channel, MAX, keyspace.prefix, count]);
const publish = async (id: string, key = K): Promise<{ delivered: number; held: number }> => {
  const now = Date.now();
  const [delivered, held] = await run(redis, PUBLISH, keyspace.all(key),
    [id, now, now + TTL, `frame-${id}`, now, MAX, 0, keyspace.channel, JSON.stringify([id, [key]]), 1, keyspace.channel, keyspace.prefix, '0', 1, '']) as [number, number];
  return { delivered, held };
};
const heldIds = async (key = K): Promise<string[]> => {
  const [flat] = await run(redis, FETCH, keyspace.all(key), [Date.now(), 0, keyspace.channel, MAX]) as string[][];
  return (flat ?? []).filter((_, i) => i % 3 === 0);
};
/** Ends a node's lease now, as if it had stopped heartbeating long enough ago. */
const kill = (node: string, key = K): Promise<unknown> => redis.zadd(keyspace.of(key).nodes, 0, node);

test('a dead node\'s unconfirmed messages are held in publish order by the next publish of the key', async () => {
  const key = 'dies';
  await join('dead', 1, key);
  for (const id of ['m1', 'm2', 'm3']) assert.deepEqual(await publish(id, key), { delivered: 1, held: 0 });
  await redis.hdel(keyspace.fly(key, 'dead'), 'm2'); // m2 was written and confirmed before it died
  await kill('dead', key);
  assert.deepEqual(await publish('m4', key), { delivered: 0, held: 1 });
  assert.deepEqual(await heldIds(key), ['m1', 'm3', 'm4']);
  assert.equal(await redis.exists(keyspace.fly(key, 'dead')), 0);
});

test('a join of the key promotes them too: sent on the bus to the joining node, whose socket is already listening', async () => {
  const key = 'rejoin';
  await join('dead', 1, key);
  await publish('a1', key);
  await publish('a2', key);
  await kill('dead', key);
  const [flat] = await run(redis, JOIN, keyspace.all(key), ['other', TTL, Date.now(), 1, keyspace.channel, MAX, 0, keyspace.prefix, 1]) as string[][];
  assert.deepEqual(flat, []);
  assert.deepEqual(Object.keys(await redis.hgetall(keyspace.fly(key, 'other'))).sort(), ['a1', 'a2']);
  assert.equal(await redis.exists(keyspace.fly(key, 'dead')), 0);
});

test('a node leaving a key (lease count 0) promotes its own unconfirmed messages', async () => {
  const key = 'leaves';
  await join('n', 1, key);
  await publish('x1', key);
  await publish('x2', key);
  await redis.hdel(keyspace.fly(key, 'n'), 'x1');
  await lease('n', 0, key);
  assert.deepEqual(await heldIds(key), ['x2']);
});

test('promoted messages go on the bus to nodes that did not have them, and are then in flight to those', async () => {
  const key = 'resend';
  const bus = await redisClient();
  await bus.subscribe(keyspace.channel);
  const seen: string[] = [];
  bus.on('message', (_channel: string, text: string) => seen.push(text));
  try {
    await join('dead', 1, key);
    await publish('before', key); // only the dead node has sockets: resent to the live one later
    await join('live', 1, key);
    await publish('both', key); // both had it: the live node wrote it, nothing to resend
    await kill('dead', key);
    await lease('live', 1, key); // the survivor's heartbeat finds the dead node
    while (seen.length < 3) await once(bus, 'message');
    // The re-sent message is addressed to the live node alone: the dead one cannot take it, and a
    // node that had it when it was sent must not write it twice.
    // Read as each node reads the bus (redis/bus-envelope.ts): "live" takes all three, "other" the first two.
    const read = (node: string): unknown[] => seen.map((t) => {
      const route = readRoute(t, node);
      return route.kind === 'publish' ? readPublish(t, route.body)?.id : route.kind;
    });
    assert.deepEqual(read('live'), ['before', 'both', 'before']);
    assert.deepEqual(read('other'), ['before', 'both', 'elsewhere']);
    assert.ok(seen.every((t) => t.startsWith('@1p')), 'every message is a version 1 publish envelope');
    assert.deepEqual(Object.keys(await redis.hgetall(keyspace.fly(key, 'live'))).sort(), ['before', 'both']);
    assert.deepEqual(await heldIds(key), ['both'], 'what the live node had is held for the next socket, not resent');
  } finally {
    bus.disconnect();
  }
});

test('the admin reads (GET / and GET /?key=K) see what was in flight to a dead node, as held', async () => {
  const store = new RedisStore({ client: redis, keyspace, cluster: false, maxHeldPerKey: MAX }, createLogger('silent'));
  await join('dead', 1, 'listed');
  await publish('l1', 'listed');
  await join('dead', 1, 'read');
  await publish('r1', 'read');
  await kill('dead', 'listed');
  await kill('dead', 'read');
  assert.deepEqual((await store.list('read')).map((m) => m.id), ['r1']);
  assert.deepEqual((await store.keys()).find((k) => k.key === 'listed'), { key: 'listed', count: 1 });
  await store.close();
});
