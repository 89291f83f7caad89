// A v2 client's publish while Redis fails is a server fault: the client gets an error frame, the
// socket is not charged for it (no 1008, which the SDK treats as terminal), and a publish whose
// failure arrives after its socket closed changes nothing (it once crashed the process).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, startCluster, type TestCluster } from '../helpers/cluster.js';
import type { GatewayProcess } from '../helpers/gateway.js';
import { nowS, sign, signingKey } from '../helpers/jwt.js';
import { ownRedis } from '../helpers/redis.js';
import { connectV2, type V2Socket } from '../helpers/v2.js';

const hs = await signingKey('HS256');
const ENV = { WS_AUTH_MODE: 'jwt', WS_JWT_SECRET: hs.configured, WS_CLIENT_PUBLISH_RATE: '1000', WS_CLIENT_PUBLISH_BURST: '1000' };

async function writer(node: GatewayProcess, sub: string): Promise<V2Socket> {
  return connectV2(node.ws(`/ws?token=${await sign(hs, { exp: nowS() + 600, sub, write: ['room'] })}`));
}

async function withOwnRedis(name: string, body: (node: GatewayProcess, redis: Awaited<ReturnType<typeof ownRedis>>) => Promise<void>): Promise<void> {
  const redis = await ownRedis(`${name}-password`);
  let cluster: TestCluster | undefined;
  try {
    await redis.start();
    cluster = await startCluster(1, ENV, redis.url);
    await body(cluster.nodes[0] as GatewayProcess, redis);
  } finally {
    redis.resume();
    await cluster?.close();
    await redis.dispose();
  }
}

test('a publish failing after its socket closed leaves the gateway running', async () => {
  await withOwnRedis('outage-closed', async (node, redis) => {
    const closer = await writer(node, 'closer');
    const witness = await writer(node, 'witness');
    // Hung, not gone: each command waits out the command timeout, then fails.
    redis.pause();
    closer.send({ type: 'publish', topic: 'room', data: 'lost', ref: 'c1' });
    await closer.close();
    // Commands time out in the order they were sent: once the witness's publish is answered,
    // the closed socket's publish has failed too.
    witness.send({ type: 'publish', topic: 'room', data: 'later', ref: 'w1' });
    const answer = await witness.waitFor((f) => f.ref === 'w1', 20_000);
    assert.deepEqual([answer.type, answer.code], ['error', 'STORE_UNAVAILABLE']);
    assert.equal(node.child.exitCode, null, 'the gateway is still running');
    assert.equal((await node.request('GET', '/healthz')).status, 200);
    assert.ok(!node.logs.some((l) => l.level >= 50), 'nothing logged at error or fatal');
    redis.resume();
    await witness.close();
  });
});

test('publishes refused because Redis is down get error frames and never close the socket', async () => {
  await withOwnRedis('outage-budget', async (node, redis) => {
    const socket = await writer(node, 'steady');
    await redis.stop();
    await eventually('the node to notice Redis is gone', async () => (await node.request('GET', '/readyz')).status === 503);
    const count = 30; // past the refused-frame burst of 20
    for (let i = 0; i < count; i++) socket.send({ type: 'publish', topic: 'room', data: i, ref: `p${i}` });
    const last = await socket.waitFor((f) => f.ref === `p${count - 1}`, 10_000);
    assert.equal(last.type, 'error');
    const errors = socket.frames.filter((f) => f.type === 'error');
    assert.equal(errors.length, count);
    assert.ok(errors.every((f) => f.code === 'STORE_UNAVAILABLE'), JSON.stringify(errors[0]));
    // Still open: a ping-like request is answered, not refused with a close.
    assert.equal((await socket.request({ type: 'unsubscribe-all' })).type, 'unsubscribed');
    await socket.close();
  });
});
