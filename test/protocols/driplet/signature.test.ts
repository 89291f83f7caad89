// Driplet's publish check, in its order, with its answers; the nonce shared across two nodes
// through Redis (two RedisReplayGuards on one Redis) and on one node in memory.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createHmac } from 'node:crypto';
import { MemoryReplayGuard } from '../../../src/http/memory-replay-guard.js';
import { RedisReplayGuard } from '../../../src/http/redis-replay-guard.js';
import type { ReplayGuard } from '../../../src/http/replay-guard.js';
import { createLogger } from '../../../src/log.js';
import { connectRedis, type RedisConnection } from '../../../src/redis/connect.js';
import { Keyspace } from '../../../src/redis/keyspace.js';
import { DRIPLET_ANSWERS } from '../../../src/protocols/driplet/answers.js';
import { readMetadata, verifyPublish } from '../../../src/protocols/driplet/signature.js';
import type { DripletEndpoint } from '../../../src/protocols/driplet/config.js';
import { deletePrefix, redisClient, SHARED_REDIS_URL, testPrefix } from '../../helpers/redis.js';

const web: DripletEndpoint = { name: 'web', displayName: 'web', apiSecret: 'web-api-secret', jwtSecret: 'j' };
const api: DripletEndpoint = { name: 'api', displayName: 'api', apiSecret: 'api-api-secret', jwtSecret: 'j' };
const NOW = 1_750_000_000_500;
const nowS = Math.floor(NOW / 1000);

function sign(body: string, secret = web.apiSecret): string {
  return createHmac('sha256', secret).update(body).digest('hex');
}
function body(fields: Record<string, unknown>): string {
  return JSON.stringify({ message: 'hi', topic: 't', timestamp: nowS, nonce: 'n1', ...fields });
}
const bytes = (text: string): Uint8Array => Buffer.from(text);

test('an unknown endpoint is 404 before anything else', async () => {
  assert.deepEqual(await verifyPublish(undefined, undefined, bytes('x'), new MemoryReplayGuard(60_000), NOW), { status: 404, body: 'Invalid endpoint\n' });
});

test('a missing or empty signature is 401 Missing signature, checked before the body', async () => {
  const guard = new MemoryReplayGuard(60_000);
  assert.deepEqual(await verifyPublish(web, undefined, bytes('not json'), guard, NOW), { status: 401, body: 'Missing signature\n' });
  assert.equal(await verifyPublish(web, '', bytes('not json'), guard, NOW), DRIPLET_ANSWERS.missingSignature);
});

test('a good signature passes in either hex case; bad hex, a wrong secret or a changed body are 401 Invalid signature', async () => {
  const guard = new MemoryReplayGuard(60_000);
  const text = body({ nonce: 'case' });
  assert.deepEqual(await verifyPublish(web, sign(text).toUpperCase(), bytes(text), guard, NOW), { ok: true, text });
  const other = body({ nonce: 'other' });
  for (const signature of [sign(other).slice(1), `${sign(other).slice(0, -1)}g`, sign(other, 'wrong'), sign(`${other} `), `${sign(other)}00`]) {
    assert.equal(await verifyPublish(web, signature, bytes(other), guard, NOW), DRIPLET_ANSWERS.invalidSignature, signature);
  }
  assert.deepEqual(await verifyPublish(web, sign(other), bytes(other), guard, NOW), { ok: true, text: other }, 'the refusals did not use the nonce');
});

test('a signed body that is not JSON, or has a wrongly typed nonce or timestamp, is 401 Invalid signature (not 400)', async () => {
  const guard = new MemoryReplayGuard(60_000);
  for (const text of ['not json', '[1]', '"s"', body({ nonce: 5 }), body({ timestamp: `${nowS}` }), body({ timestamp: nowS + 0.5 }), `{"timestamp":${nowS}.0,"nonce":"x"}`, `{"timestamp":1e9,"nonce":"y"}`, 'null']) {
    assert.equal(await verifyPublish(web, sign(text), bytes(text), guard, NOW), DRIPLET_ANSWERS.invalidSignature, text);
  }
});

test('the timestamp must be within 60 s of now, both ends included', async () => {
  const guard = new MemoryReplayGuard(60_000);
  for (const [ts, ok] of [[nowS - 60, true], [nowS + 60, true], [nowS - 61, false], [nowS + 61, false], [0, false]] as const) {
    const text = body({ timestamp: ts, nonce: `ts${ts}` });
    const result = await verifyPublish(web, sign(text), bytes(text), guard, NOW);
    assert.equal('ok' in result, ok, String(ts));
  }
  const missing = JSON.stringify({ topic: 't', nonce: 'nots' });
  assert.equal(await verifyPublish(web, sign(missing), bytes(missing), guard, NOW), DRIPLET_ANSWERS.invalidSignature);
});

test('metadata decodes as Go does: case-insensitive keys, the last repeat wins, null is the zero value', () => {
  assert.deepEqual(readMetadata(`{"NONCE":"a","Timestamp":${nowS}}`), { nonce: 'a', timestamp: nowS });
  assert.deepEqual(readMetadata(`{"nonce":"a","nonce":"b","timestamp":1,"timestamp":2}`), { nonce: 'b', timestamp: 2 });
  assert.deepEqual(readMetadata('{"nonce":null,"timestamp":null}'), { nonce: '', timestamp: 0 });
  assert.deepEqual(readMetadata('{"noncE":"x","timestamp":-5}'), { nonce: 'x', timestamp: -5 });
  assert.equal(readMetadata('{"timestamp":99999999999999999999}'), undefined, 'beyond int64');
  assert.equal(readMetadata('\ufeff{}'), undefined, 'a BOM is not JSON');
});

async function nonceRules(label: string, guards: readonly [ReplayGuard, ReplayGuard]): Promise<void> {
  const [one, two] = guards;
  const text = body({ nonce: `replay-${label}` });
  const ok = await verifyPublish(web, sign(text), bytes(text), one, NOW);
  assert.ok('ok' in ok);
  assert.equal(await verifyPublish(web, sign(text), bytes(text), two, NOW + 1_000), DRIPLET_ANSWERS.invalidSignature, 'replayed within 60 s');
  assert.equal(await verifyPublish(web, sign(text), bytes(text), one, NOW + 59_000), DRIPLET_ANSWERS.invalidSignature, 'still within 60 s');
  // Another endpoint has nonces of its own.
  const onApi = body({ nonce: `replay-${label}` });
  assert.ok('ok' in await verifyPublish(api, sign(onApi, api.apiSecret), bytes(onApi), two, NOW + 1_000));
  // An empty (or missing) nonce is a nonce too: Driplet stored "" as well.
  const bare = JSON.stringify({ topic: 't', timestamp: nowS });
  assert.ok('ok' in await verifyPublish(web, sign(bare), bytes(bare), one, NOW));
  assert.equal(await verifyPublish(web, sign(bare), bytes(bare), two, NOW), DRIPLET_ANSWERS.invalidSignature);
}

test('a nonce is refused on its endpoint for 60 s, in memory on one node', async () => {
  const guard = new MemoryReplayGuard(60_000);
  await nonceRules('memory', [guard, guard]);
  // After 60 s the nonce is free again (the body's own timestamp must be fresh too).
  const later = NOW + 61_000;
  const text = JSON.stringify({ topic: 't', nonce: 'replay-memory', timestamp: Math.floor(later / 1000) });
  assert.ok('ok' in await verifyPublish(web, sign(text), bytes(text), guard, later));
});

test('a body dated ahead keeps its nonce until its timestamp is 60 s past (Driplet forgot it 60 s after receipt)', async () => {
  const guard = new MemoryReplayGuard(60_000);
  const text = body({ nonce: 'ahead', timestamp: nowS + 60 });
  assert.ok('ok' in await verifyPublish(web, sign(text), bytes(text), guard, NOW));
  // 61 s later the timestamp is still within 60 s of now: Driplet accepted this replay.
  assert.equal(await verifyPublish(web, sign(text), bytes(text), guard, NOW + 61_000), DRIPLET_ANSWERS.invalidSignature);
  assert.equal(await verifyPublish(web, sign(text), bytes(text), guard, NOW + 119_000), DRIPLET_ANSWERS.invalidSignature);
});

const admin = await redisClient();
after(() => admin.quit());

async function connection(): Promise<RedisConnection> {
  const c = connectRedis({ url: SHARED_REDIS_URL, cluster: false }, createLogger('silent'));
  if (c.client.status !== 'ready') await once(c.client, 'ready');
  return c;
}

test('a nonce is refused for 60 s on every node sharing Redis', async () => {
  const prefix = testPrefix('driplet-nonce');
  const [a, b] = await Promise.all([connection(), connection()]);
  try {
    const keyspace = new Keyspace(prefix);
    // Redis expires keys on its own clock: the test dates its requests now.
    const now = Date.now();
    const guards = [new RedisReplayGuard(a.client, keyspace, 60_000), new RedisReplayGuard(b.client, keyspace, 60_000)] as const;
    const text = JSON.stringify({ topic: 't', nonce: 'shared', timestamp: Math.floor(now / 1000) });
    assert.ok('ok' in await verifyPublish(web, sign(text), bytes(text), guards[0], now));
    assert.equal(await verifyPublish(web, sign(text), bytes(text), guards[1], now), DRIPLET_ANSWERS.invalidSignature);
    const ttl = await admin.pttl((await admin.keys(`${prefix}*`))[0] as string);
    assert.ok(ttl > 58_000 && ttl <= 62_000, `the nonce lives ~60 s (${ttl} ms)`);
  } finally {
    await Promise.all([a.close(), b.close()]);
    await deletePrefix(admin, prefix);
  }
});

test('Redis unreachable: 503 with Retry-After, and the publish is not accepted', async () => {
  const c = await connection();
  await c.close();
  const guard = new RedisReplayGuard(c.client, new Keyspace(testPrefix('driplet-down')), 60_000);
  const text = body({ nonce: 'down' });
  assert.deepEqual(await verifyPublish(web, sign(text), bytes(text), guard, NOW), { status: 503, body: 'Nonce store unavailable\n', retryAfter: 1 });
});
