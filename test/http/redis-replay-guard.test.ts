// The Redis replay guard against the contract (two connections: two nodes), plus its keys' lifetime.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { RedisReplayGuard } from '../../src/http/redis-replay-guard.js';
import { createLogger } from '../../src/log.js';
import { connectRedis, type RedisConnection } from '../../src/redis/connect.js';
import { Keyspace } from '../../src/redis/keyspace.js';
import { deletePrefix, redisClient, SHARED_REDIS_URL, testPrefix } from '../helpers/redis.js';
import { replayGuardContract } from './replay-guard.contract.js';

const admin = await redisClient();
after(() => admin.quit());

async function connection(): Promise<RedisConnection> {
  const c = connectRedis({ url: SHARED_REDIS_URL, cluster: false }, createLogger('silent'));
  if (c.client.status !== 'ready') await once(c.client, 'ready');
  return c;
}

replayGuardContract('RedisReplayGuard', async (toleranceMs) => {
  const prefix = testPrefix('replay');
  const [one, two] = await Promise.all([connection(), connection()]);
  const keyspace = new Keyspace(prefix);
  return {
    guards: [new RedisReplayGuard(one.client, keyspace, toleranceMs), new RedisReplayGuard(two.client, keyspace, toleranceMs)],
    async close() {
      await Promise.all([one.close(), two.close()]);
      await deletePrefix(admin, prefix);
    },
  };
});

test('a signature\'s key lives until its date plus the tolerance (and a margin), under the prefix', async () => {
  const prefix = testPrefix('replay-ttl');
  const c = await connection();
  try {
    const guard = new RedisReplayGuard(c.client, new Keyspace(prefix), 60_000);
    const sig = randomBytes(32).toString('hex');
    const t = Math.floor(Date.now() / 1000) - 30;
    assert.equal(await guard.claim(sig, t), 'first');
    const ttl = await admin.pttl(`${prefix}hmac:${sig}`);
    assert.ok(ttl > 25_000 && ttl <= 32_000, `about 30 s left (+1 s margin): ${ttl} ms`);
  } finally {
    await c.close();
    await deletePrefix(admin, prefix);
  }
});
