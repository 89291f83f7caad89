// Per-socket bounds on inbound work, against the real gateway in at-least-once mode on real Redis,
// where every acknowledgement is a store call: a flooding socket is closed with 1008 and the
// gateway keeps serving everyone else; a client acknowledging at a normal pace is never closed.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startAuthBackend, type AuthBackend } from '../helpers/auth-backend.js';
import { startGateway, untilRedisLive, type GatewayProcess } from '../helpers/gateway.js';
import { connect, type TestSocket } from '../helpers/client.js';
import { deletePrefix, redisClient, SHARED_REDIS_URL, testPrefix } from '../helpers/redis.js';

/** Sends `count` acknowledgements of unknown ids as fast as the client can write them; resolves
 * with the close code and reason. */
async function flood(socket: TestSocket, count: number): Promise<{ code: number; reason: string }> {
  const closed = new Promise<{ code: number; reason: string }>((resolve, reject) => {
    // A failure guard only: the close comes within a second of the flood.
    const timer = setTimeout(() => reject(new Error(`the socket was not closed after ${count} acknowledgements`)), 15_000);
    socket.ws.once('close', (code, reason) => { clearTimeout(timer); resolve({ code, reason: reason.toString() }); });
  });
  for (let i = 0; i < count; i++) socket.ws.send(`{"id":"unknown-${i}"}`);
  return closed;
}

function suite(name: string, env: Record<string, string>, body: (ctx: { gw: GatewayProcess }) => void): void {
  describe(name, () => {
    const ctx = {} as { gw: GatewayProcess };
    let auth: AuthBackend;
    const prefix = testPrefix('inbound');
    before(async () => {
      auth = await startAuthBackend();
      ctx.gw = await startGateway({ WS_AUTH_URL: auth.url, WS_DELIVERY: 'at-least-once', WS_REDIS_URL: SHARED_REDIS_URL, WS_REDIS_PREFIX: prefix, ...env });
      await untilRedisLive(ctx.gw);
    });
    after(async () => {
      try {
        assert.equal(await ctx.gw.stop(), 0);
      } finally {
        await auth.close();
        const redis = await redisClient();
        await deletePrefix(redis, prefix);
        redis.disconnect();
      }
    });
    body(ctx);
  });
}

suite('default bounds (WS_MAX_INBOUND_RATE=1000, twice that at once)', {}, (ctx) => {
  test('a socket flooding acknowledgements is closed with 1008; another socket still gets a publish', async () => {
    const { gw } = ctx;
    const bystander = await connect(gw.ws('/ws?email=bystander'));
    const abuser = await connect(gw.ws('/ws?email=abuser'));
    // Which bound trips first depends on how fast Redis answers: the bucket, or (when a refill lets
    // more in while Redis lags, as under CPU load) the acknowledgements in flight.
    const { code, reason } = await flood(abuser, 10_000);
    assert.equal(code, 1008);
    assert.ok(['inbound frame rate exceeded', 'too many acknowledgements in flight'].includes(reason), reason);
    await gw.waitForLog((l) => l.msg === 'socket closed for policy violation' && l.reason === reason);
    const r = await gw.publish({ key: 'bystander', value: 'still served' });
    assert.equal(r.status, 202);
    assert.deepEqual((await bystander.waitForFrames(1)).map((f) => f.payload), ['still served']);
    await bystander.close();
  });

  test('a client acknowledging each message as it arrives is never closed, and its acks are applied', async () => {
    const { gw } = ctx;
    const violations = (): number => gw.logs.filter((l) => l.msg === 'socket closed for policy violation').length;
    const before = violations();
    const client = await connect(gw.ws('/ws?email=polite'));
    client.ws.on('message', (data) => client.ws.send(JSON.stringify({ id: (JSON.parse(data.toString()) as { id: string }).id })));
    for (let i = 0; i < 200; i++) assert.equal((await gw.publish({ key: 'polite', value: i })).status, 202);
    assert.equal((await client.waitForFrames(200)).length, 200);
    // Acknowledged messages leave the store; an unacknowledged marker proves the socket is still open.
    const deadline = Date.now() + 5_000;
    let left = -1;
    while (left !== 0 && Date.now() < deadline) left = (await gw.request('GET', '/?key=polite')).json.length;
    assert.equal(left, 0);
    await gw.publish({ key: 'polite', value: 'marker' });
    assert.equal((await client.waitForFrames(201))[200]!.payload, 'marker');
    assert.equal(violations(), before);
    await client.close();
  });
});

suite('WS_MAX_ACKS_IN_FLIGHT=8, rate unbounded', { WS_MAX_ACKS_IN_FLIGHT: '8', WS_MAX_INBOUND_RATE: '1000000' }, (ctx) => {
  test('more acknowledgements waiting for Redis than the bound close the socket with 1008', async () => {
    const { gw } = ctx;
    const abuser = await connect(gw.ws('/ws?email=abuser'));
    assert.deepEqual(await flood(abuser, 5_000), { code: 1008, reason: 'too many acknowledgements in flight' });
    const other = await connect(gw.ws('/ws?email=other'));
    await gw.publish({ key: 'other', value: 'fine' });
    assert.deepEqual((await other.waitForFrames(1)).map((f) => f.payload), ['fine']);
    await other.close();
  });
});

// Goctopus clients acknowledge each message as it arrives, so one connecting with a backlog answers
// the whole backlog at once: held frames written to a socket are credited to its bounds.
suite('held backlog past both bounds (WS_MAX_INBOUND_RATE=5, WS_MAX_ACKS_IN_FLIGHT=4)', { WS_MAX_INBOUND_RATE: '5', WS_MAX_ACKS_IN_FLIGHT: '4' }, (ctx) => {
  const HELD = 300;
  test(`a client acknowledging its ${HELD} held messages at once stays open and every one is removed`, async () => {
    const { gw } = ctx;
    const messages = Array.from({ length: HELD }, (_, i) => ({ key: 'backlog', value: i }));
    assert.equal((await gw.publish({ messages })).status, 202);
    assert.equal((await gw.request('GET', '/?key=backlog')).json.length, HELD);
    const client = await connect(gw.ws('/ws?email=backlog'));
    client.ws.on('message', (data) => client.ws.send(JSON.stringify({ id: (JSON.parse(data.toString()) as { id: string }).id })));
    assert.equal((await client.waitForFrames(HELD)).length, HELD);
    const deadline = Date.now() + 10_000;
    let left = -1;
    while (left !== 0 && Date.now() < deadline) left = (await gw.request('GET', '/?key=backlog')).json.length;
    assert.equal(left, 0, 'every acknowledged message left the store');
    // A live message after the backlog still reaches the socket: it was not closed.
    await gw.publish({ key: 'backlog', value: 'live' });
    assert.equal((await client.waitForFrames(HELD + 1))[HELD]!.payload, 'live');
    assert.ok(!gw.logs.some((l) => l.msg === 'socket closed for policy violation'), 'no socket was closed for a policy violation');
    await client.close();
  });

  test('the credit is the backlog, not more: a flood past it is still closed with 1008', async () => {
    const { gw } = ctx;
    const messages = Array.from({ length: 50 }, (_, i) => ({ key: 'greedy', value: i }));
    assert.equal((await gw.publish({ messages })).status, 202);
    const abuser = await connect(gw.ws('/ws?email=greedy'));
    await abuser.waitForFrames(50);
    const { code } = await flood(abuser, 5_000);
    assert.equal(code, 1008);
  });
});
