// The Redis ticket store against the TicketStore contract, plus what only Redis does: expiry by
// Redis itself, a prefix of its own, and concurrent takes from separate connections (nodes).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createLogger } from '../../src/log.js';
import { RedisTickets } from '../../src/identity/redis-tickets.js';
import { connectRedis, type RedisConnection } from '../../src/redis/connect.js';
import { Keyspace } from '../../src/redis/keyspace.js';
import { deletePrefix, ownRedis, redisClient, SHARED_REDIS_URL, testPrefix } from '../helpers/redis.js';
import { loadScripts, TICKET_INDEX, TICKET_TAKE } from '../../src/redis/scripts.js';
import { ticket, ticketStoreContract } from './ticket-store.contract.js';

const admin = await redisClient();
after(() => admin.quit());

async function redisTickets(prefix = testPrefix('tickets')): Promise<{ store: RedisTickets; prefix: string; connection: RedisConnection }> {
  const connection = connectRedis({ url: SHARED_REDIS_URL, cluster: false }, createLogger('silent'));
  if (connection.client.status !== 'ready') await once(connection.client, 'ready');
  return { store: new RedisTickets(connection.client, new Keyspace(prefix), createLogger('silent')), prefix, connection };
}

ticketStoreContract('RedisTickets', async () => {
  const { store, prefix, connection } = await redisTickets();
  return {
    store,
    async close() {
      await connection.close();
      await deletePrefix(admin, prefix);
    },
  };
});

test('a ticket\'s key and its user\'s index expire in Redis with the ticket; nothing is left behind', async () => {
  const { store, prefix, connection } = await redisTickets();
  try {
    const keyspace = new Keyspace(prefix);
    const t = ticket({}, 300);
    await store.create(t);
    const ttl = await admin.pttl(keyspace.ticket(t.id));
    assert.ok(ttl > 0 && ttl <= 300, `the ticket expires in Redis with itself (pttl ${ttl})`);
    const indexTtl = await admin.pttl(keyspace.userTickets(t.user));
    assert.ok(indexTtl > 0 && indexTtl <= 300, `the index expires with its last ticket (pttl ${indexTtl})`);
    const deadline = Date.now() + 3_000;
    while ((await admin.keys(`${prefix}*`)).length > 0) {
      assert.ok(Date.now() < deadline, 'Redis did not reclaim the expired ticket');
      await new Promise((r) => setTimeout(r, 25));
    }
  } finally {
    await connection.close();
    await deletePrefix(admin, prefix);
  }
});

test('takes from separate connections (as from separate nodes) get a ticket once; another prefix sees nothing', async () => {
  const prefix = testPrefix('tickets');
  const nodes = await Promise.all([redisTickets(prefix), redisTickets(prefix)]);
  const elsewhere = await redisTickets();
  try {
    const [a, b] = nodes;
    const t = ticket({ keys: ['k'] });
    await a!.store.create(t);
    assert.deepEqual(await elsewhere.store.list(t.user), []);
    assert.equal(await elsewhere.store.take(t.id), undefined);
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => (i % 2 ? a! : b!).store.take(t.id)));
    assert.equal(results.filter((r) => typeof r === 'object').length, 1);
    // The index entry goes right after the take, without holding the upgrade up.
    const deadline = Date.now() + 2_000;
    while ((await admin.keys(`${prefix}*`)).length > 0) {
      assert.ok(Date.now() < deadline, `left behind: ${(await admin.keys(`${prefix}*`)).join(', ')}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  } finally {
    for (const n of [...nodes, elsewhere]) {
      await n.connection.close();
      await deletePrefix(admin, n.prefix);
    }
  }
});

test('the ticket scripts are preloaded with the others, so they never take the NOSCRIPT resend path', async () => {
  // A Redis of its own, which has seen no script yet: SCRIPT EXISTS tells what loadScripts loaded.
  const own = await ownRedis('tickets-scripts');
  await own.start();
  try {
    const client = await redisClient(own.url);
    await loadScripts(client);
    assert.deepEqual(await client.script('EXISTS', TICKET_TAKE.sha, TICKET_INDEX.sha), [1, 1]);
    await client.quit();
  } finally {
    await own.dispose();
  }
});
