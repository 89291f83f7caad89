// `GET /?presence` and `GET /?key=K&history` (Goctopus 2026) on one node in memory and on two nodes
// over Redis, where both answer cluster-wide.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withGateway, type GatewayProcess } from '../helpers/gateway.js';
import { eventually, openSocket, startCluster } from '../helpers/cluster.js';
import { redisClient } from '../helpers/redis.js';

const presenceOf = async (gw: GatewayProcess): Promise<Record<string, number>> => (await gw.request('GET', '/?presence')).json;

test('one node: presence counts open sockets per key or pattern', async () => {
  await withGateway({}, async (gw) => {
    assert.deepEqual(await presenceOf(gw), {});
    const sockets = [await openSocket(gw, 'ann', 'acme'), await openSocket(gw, 'ann'), await openSocket(gw, 'org/*')];
    assert.deepEqual(await presenceOf(gw), { ann: 2, acme: 1, 'org/*': 1 });
    await (sockets[0] as typeof sockets[0]).close();
    await eventually('the closed socket to leave presence', async () => (await presenceOf(gw)).ann === 1);
    assert.deepEqual(await presenceOf(gw), { ann: 1, 'org/*': 1 });
    const bad = await gw.request('GET', '/?presence&key=ann');
    assert.deepEqual([bad.status, bad.json.error], [400, 'INVALID_QUERY']);
    for (const s of sockets.slice(1)) await s.close();
  });
});

test('one node: history keeps the newest WS_HISTORY_SIZE messages of a key, delivered or not, no older than WS_HISTORY_TTL', async () => {
  await withGateway({ WS_HISTORY_SIZE: '3', WS_HISTORY_TTL: '1s' }, async (gw) => {
    const socket = await openSocket(gw, 'h');
    for (let n = 1; n <= 4; n++) await gw.publish({ key: 'h', value: n, expire: n === 4 ? '90m' : '30m' });
    await gw.publish({ keys: ['h', 'other'], value: 5, expire: '1.5s' });
    await socket.waitForFrames(5);
    const { status, json } = await gw.request('GET', '/?key=h&history');
    assert.equal(status, 200);
    assert.deepEqual(json.map((i: { payload: unknown }) => i.payload), [3, 4, 5], 'the newest three, delivered ones included');
    assert.deepEqual(Object.keys(json[0]).sort(), ['date', 'exp', 'id', 'key', 'payload'], "Goctopus's item shape");
    assert.deepEqual(json.map((i: { exp: string }) => i.exp), ['30m', '90m', '1.5s'], '`expire` as posted, as the held listing shows it');
    assert.equal(json[2].id, socket.frames[4]?.id);
    assert.ok(Math.abs(Date.parse(json[2].date) - Date.now()) < 5_000);
    assert.deepEqual((await gw.request('GET', '/?key=other&history')).json.map((i: { payload: unknown }) => i.payload), [5]);
    assert.deepEqual((await gw.request('GET', '/?key=h')).json, [], 'history is not held messages');
    await eventually('entries older than WS_HISTORY_TTL to go', async () => (await gw.request('GET', '/?key=h&history')).json.length === 0, 5_000);
    await socket.close();
  });
});

test('one node: without WS_HISTORY_SIZE, history answers [] as Goctopus does', async () => {
  await withGateway({}, async (gw) => {
    await gw.publish({ key: 'k', value: 1 });
    assert.deepEqual((await gw.request('GET', '/?key=k&history')).json, []);
    assert.equal((await gw.request('GET', '/?history')).status, 400);
  });
});

test('two nodes over Redis: presence and history are cluster-wide', async () => {
  const cluster = await startCluster(2, { WS_HISTORY_SIZE: '2', WS_HISTORY_TTL: '1m' });
  try {
    const [a, b] = cluster.nodes as [GatewayProcess, GatewayProcess];
    const sockets = [await openSocket(a, 'ann'), await openSocket(b, 'ann'), await openSocket(b, 'team/*', 'acme')];
    for (const node of [a, b]) assert.deepEqual(await presenceOf(node), { ann: 2, 'team/*': 1, acme: 1 });
    await a.publish({ key: 'team/x', value: 1 });
    await b.publish({ key: 'team/x', value: 2, expire: '90m' });
    await a.publish({ key: 'team/x', value: 3, expire: '2s' });
    for (const node of [a, b]) {
      const { json } = await node.request('GET', '/?key=team/x&history');
      assert.deepEqual(json.map((i: { payload: unknown }) => i.payload), [2, 3]);
      assert.deepEqual(json.map((i: { exp: string }) => i.exp), ['90m', '2s'], '`expire` as posted');
    }
    // An entry written before the posted `expire` was kept ("createdAt:expireMs:idLength:id frame") still reads.
    const redis = await redisClient();
    try {
      await redis.rpush(`${cluster.prefix}{old}:hist`, `${Date.now()}:5400000:3:abc{"id":"abc","payload":"old"}`);
    } finally {
      await redis.quit();
    }
    const old = (await a.request('GET', '/?key=old&history')).json;
    assert.deepEqual(old.map((i: { id: string; exp: string; payload: unknown }) => [i.id, i.exp, i.payload]), [['abc', '1h30m', 'old']]);
    await Promise.all(sockets.map((s) => s.close()));
    await eventually('presence to empty', async () => Object.keys(await presenceOf(a)).length === 0);
  } finally {
    await cluster.close();
  }
});
