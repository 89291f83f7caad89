// The Broker contract (src/delivery/broker.ts), run against every implementation through the real
// gateway: memory-broker.test.ts (one node, no Redis) and redis-broker.test.ts (two nodes on one Redis
// prefix). Each scenario publishes from every node in turn and opens sockets on every node, so on Redis
// it covers a message published on the socket's own node and one published on the other.
// Through the process rather than on Broker objects: message_id, batches and the held-before-live
// ordering are the dispatcher's and the hub's work on top of the broker, and what a backend and a
// browser see is the contract that matters; each scenario is a few loopback round trips.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, type TestSocket } from '../helpers/client.js';
import { eventually, openSocket, payloads, synced } from '../helpers/cluster.js';
import type { GatewayProcess } from '../helpers/gateway.js';
import { MAX_EXPIRE_MS } from '../../src/delivery/message.js';
import type { Deployment } from '../helpers/deployment.js';

export interface BrokerContractOptions {
  /** Starts a deployment with `env` added to every node's (the delivery mode). */
  start(env: Record<string, string>): Promise<Deployment>;
  /** A documented difference (docs/scale-out.md): Redis decides per key, so `delivered` counts a
   * socket under two of a message's keys once per key; the memory broker counts each socket once. */
  readonly deliveredCountsPerKey: boolean;
}

interface Held { id: string; key: string; payload: unknown; created_at: string; expires_at: string }

export function brokerContract(name: string, options: BrokerContractOptions): void {
  describe(`Broker contract: ${name}`, () => {
    // One deployment at a time: started together, four nodes on a busy two-core machine were seen
    // to miss their start deadline.
    describe('at-most-once', () => atMostOnceScenarios(deployment(options, {}), options));
    describe('at-least-once', () => atLeastOnceScenarios(deployment(options, { WS_DELIVERY: 'at-least-once' })));
  });
}

/** Nodes by index, wrapping: node(0) and node(1) are the same node on a one-node deployment. */
type Nodes = (i: number) => GatewayProcess;

/** Inside a describe(): a deployment started before its tests and closed after them. */
function deployment(options: BrokerContractOptions, env: Record<string, string>): Nodes {
  let started: Deployment | undefined;
  before(async () => {
    started = await options.start(env);
  });
  after(() => started?.close());
  return (i) => {
    const all = started?.nodes ?? [];
    assert.ok(all.length > 0, 'read the nodes inside a test');
    return all[i % all.length] as GatewayProcess;
  };
}

/** The payloads held for `key`, as the admin API of `node` lists them. */
async function heldPayloads(node: GatewayProcess, key: string): Promise<unknown[]> {
  const { status, json } = await node.request('GET', `/?key=${encodeURIComponent(key)}`);
  assert.equal(status, 200);
  return (json as Held[]).map((m) => m.payload);
}

/** The payloads of every frame `socket` has, once it has `count`. */
async function received(socket: TestSocket, count: number): Promise<unknown[]> {
  return (await socket.waitForFrames(count)).map((f) => f.payload);
}

/** Resolves once the wall clock has passed `deadline` (an expiry: the event is the time itself). */
async function until(deadline: number): Promise<void> {
  while (Date.now() <= deadline) await sleep(deadline - Date.now() + 1);
}

function atMostOnceScenarios(node: Nodes, options: BrokerContractOptions): void {
  test('live: every open socket of the key gets each message once, in publish order, as {id, payload}', async () => {
    const key = 'live@example.com';
    const sockets = [await openSocket(node(0), key), await openSocket(node(1), key)];
    const other = await openSocket(node(1), 'live-other');
    const sent: Array<{ id: string; payload: unknown }> = [];
    for (let n = 0; n < 20; n++) {
      const value = n === 0 ? { foo: 'bar', n: [1, 2.5, null], nested: { ok: true }, text: 'é "q" \n' } : n;
      const { status, json } = await node(n).publish({ key, value, expire: '30m' });
      assert.deepEqual([status, json.delivered, json.held], [202, sockets.length, 0], `message ${n}`);
      sent.push({ id: json.id, payload: value });
    }
    for (const socket of sockets) assert.deepEqual(await socket.waitForFrames(sent.length), sent);
    // Published after the others: had any of them leaked to this socket, it would come first.
    await node(0).publish({ key: 'live-other', value: 'marker' });
    assert.deepEqual(await received(other, 1), ['marker']);
    for (const socket of sockets) assert.equal(socket.frames.length, sent.length, 'no copy arrived later');
    await Promise.all([...sockets, other].map((s) => s.close()));
  });

  test('held: messages for a key with no socket are held, then delivered oldest first on connect, before live ones, and gone', async () => {
    const key = 'held@example.com';
    const held = ['h0', 'h1', 'h2', 'h3', 'h4'];
    const expires = ['90s', undefined, '1h30m', '5m', '10m'];
    for (const [n, value] of held.entries()) {
      const { status, json } = await node(n).publish({ key, value, expire: expires[n] });
      assert.deepEqual([status, json.delivered, json.held], [202, 0, 1]);
    }
    assert.deepEqual(await heldPayloads(node(1), key), held, 'every node lists them, in order');
    // Goctopus's item fields: `exp` as posted (the WS_MSG_EXPIRE text when none was), `date` RFC 3339.
    const listed = (await node(0).request('GET', `/?key=${encodeURIComponent(key)}`)).json as Array<{ exp: string; date: string }>;
    assert.deepEqual(listed.map((m) => m.exp).filter((_, i) => expires[i] !== undefined), expires.filter((e) => e !== undefined));
    assert.match(listed[1]!.exp, /^\d/);
    assert.ok(listed.every((m) => /^\d{4}-\d\d-\d\dT/.test(m.date) && !Number.isNaN(Date.parse(m.date))));
    const socket = await openSocket(node(1), key);
    await node(0).publish({ key, value: 'live' });
    assert.deepEqual(await received(socket, 6), [...held, 'live']);
    assert.deepEqual(await heldPayloads(node(0), key), [], 'at-most-once: written, then no longer held');
    await socket.close();
  });

  test('connect race: nothing published while a socket connects is lost, doubled or reordered', async () => {
    const key = 'race@example.com';
    const held = Array.from({ length: 300 }, (_, i) => `h${i}`);
    for (let i = 0; i < held.length; i += 100) {
      const { json } = await node(i / 100).publish({ messages: held.slice(i, i + 100).map((value) => ({ key, value })) });
      assert.ok(json.results.every((r: { held: number }) => r.held === 1));
    }
    // Published one after the other from before the upgrade until well after it: those before the
    // join are held behind the others, those during it queue until the held ones are written.
    const live: string[] = [];
    let afterOpen = -1;
    const opening = connect(node(1).ws(`/ws?email=${key}`)).finally(() => { afterOpen = 0; });
    const publishing = (async () => {
      for (let n = 0; afterOpen < 20; n++) {
        const value = `live${n}`;
        assert.equal((await node(n).publish({ key, value })).status, 202);
        live.push(value);
        if (afterOpen >= 0) afterOpen++;
      }
    })();
    const socket = await opening;
    await publishing;
    await socket.waitForFrames(held.length + live.length);
    assert.deepEqual(payloads(socket), [...held, ...live], 'each once, held ones first, in publish order');
    await socket.close();
  });

  test('two sockets of a key joining at once (one per node) take each held message exactly once; live ones reach both', async () => {
    for (let round = 0; round < 8; round++) {
      const key = `join-${round}`;
      const held = Array.from({ length: 10 }, (_, i) => `${key}-h${i}`);
      for (const value of held) assert.equal((await node(round).publish({ key, value })).json.held, 1);
      const joined = [synced(node(0)), synced(node(1))];
      const [one, two] = await Promise.all([connect(node(0).ws(`/ws?email=${key}`)), connect(node(1).ws(`/ws?email=${key}`))]);
      // On one node both joins land in its log: wait for the count of the whole deployment.
      const target = node(0) === node(1) ? [joined[0]! + 2, joined[1]! + 2] : [joined[0]! + 1, joined[1]! + 1];
      await eventually('both sockets to join', () => synced(node(0)) >= target[0]! && synced(node(1)) >= target[1]!);
      assert.equal((await node(round + 1).publish({ key, value: 'live' })).json.delivered, 2);
      await eventually('the live message on both sockets', () => payloads(one!).includes('live') && payloads(two!).includes('live'));
      const got = [...payloads(one!), ...payloads(two!)].filter((p) => p !== 'live');
      assert.deepEqual([...got].sort(), [...held].sort(), `round ${round}: each held message exactly once`);
      for (const socket of [one!, two!]) {
        const mine = payloads(socket);
        assert.equal(mine.at(-1), 'live', 'held messages come before live ones');
        assert.deepEqual(mine.slice(0, -1), held.filter((h) => mine.includes(h)), 'in publish order');
      }
      await Promise.all([one!.close(), two!.close()]);
    }
  });

  test('several keys: a socket under two of them gets the message once; it is held for the key with no socket', async () => {
    const [user, org, away] = ['multi-user', 'multi-org', 'multi-away'];
    const both = await openSocket(node(1), user, org);
    const orgOnly = await openSocket(node(0), 'multi-other', org);
    const { json } = await node(0).publish({ keys: [user, org, away], value: 'to all' });
    assert.equal(json.delivered, options.deliveredCountsPerKey ? 3 : 2, 'delivered: sockets, or sockets per key (docs/scale-out.md)');
    assert.equal(json.held, 1, 'held for the key with no socket only');
    await node(1).publish({ key: org, value: 'marker' });
    for (const socket of [both, orgOnly]) assert.deepEqual(await received(socket, 2), ['to all', 'marker']);
    const later = await openSocket(node(1), away);
    assert.deepEqual(await received(later, 1), ['to all']);
    assert.deepEqual(await heldPayloads(node(0), user), [], 'not held for a key that had a socket');
    await Promise.all([both, orgOnly, later].map((s) => s.close()));
  });

  test('expiry: "0" is never held; an expired message is neither listed nor delivered; 365d is the maximum', async () => {
    const never = await node(0).publish({ key: 'exp-nobody', value: 1, expire: '0' });
    assert.deepEqual([never.status, never.json.delivered, never.json.held], [202, 0, 0]);
    assert.deepEqual(await heldPayloads(node(1), 'exp-nobody'), []);

    // Long enough for the listing below to come back before it expires on a loaded machine.
    const key = 'exp@example.com';
    assert.equal((await node(0).publish({ key, value: 'stale', expire: '1s' })).json.held, 1);
    const [stale] = (await node(1).request('GET', `/?key=${key}`)).json as Held[];
    assert.equal(Date.parse(stale!.expires_at) - Date.parse(stale!.created_at), 1000);
    assert.equal((await node(1).publish({ key, value: 'fresh', expire: '1m' })).json.held, 1);
    await until(Date.parse(stale!.expires_at) + 10);
    assert.deepEqual(await heldPayloads(node(0), key), ['fresh']);
    const keys = (await node(1).request('GET', '/?counts')).json as Array<{ key: string; count: number }>;
    assert.deepEqual(keys.find((k) => k.key === key), { key, count: 1 });
    const socket = await openSocket(node(1), key);
    await node(0).publish({ key, value: 'marker' });
    assert.deepEqual(await received(socket, 2), ['fresh', 'marker']);
    await socket.close();

    // Past the maximum: 400 before the broker sees it (once a 202, then a 500 listing in memory and a 503 on Redis).
    for (const expire of ['9999999999999d', `${MAX_EXPIRE_MS / 86_400_000 + 1}d`, `${MAX_EXPIRE_MS + 1}ms`, `${'9'.repeat(400)}h`]) {
      const r = await node(0).publish({ key: 'exp-huge', value: 1, expire });
      assert.deepEqual([r.status, r.json.error], [400, 'INVALID_EXPIRE'], expire);
      assert.match(r.json.message, /365d/);
    }
    const batch = await node(1).publish({ messages: [{ key: 'exp-huge', value: 1 }, { key: 'exp-huge', value: 2, expire: '9999999999999d' }] });
    assert.deepEqual([batch.status, batch.json.error], [400, 'INVALID_EXPIRE']);
    assert.match(batch.json.message, /^messages\[1\]: /);
    assert.deepEqual(await heldPayloads(node(0), 'exp-huge'), [], 'nothing of the batch is held');
    const from = Date.now();
    assert.equal((await node(1).publish({ key: 'exp-max', value: 'kept', expire: '365d' })).json.held, 1);
    const [max] = (await node(0).request('GET', '/?key=exp-max')).json as Held[];
    const expiresAt = Date.parse(max!.expires_at);
    assert.ok(expiresAt >= from + MAX_EXPIRE_MS && expiresAt <= Date.now() + MAX_EXPIRE_MS, max!.expires_at);
    assert.equal((await node(0).request('DELETE', '/?key=exp-max')).json.removed, 1);
  });

  test('message_id: a retry on any node is a duplicate, neither delivered nor held again', async () => {
    const socket = await openSocket(node(1), 'idem-live');
    const first = await node(0).publish({ key: 'idem-live', value: 1, message_id: 'order-42' });
    assert.deepEqual([first.json.id, first.json.delivered, first.json.held], ['order-42', 1, 0]);
    const retry = await node(1).publish({ key: 'idem-live', value: 1, message_id: 'order-42' });
    assert.deepEqual(retry.json, { id: 'order-42', delivered: 0, held: 0, duplicate: true });
    await node(0).publish({ key: 'idem-live', value: 'marker' });
    assert.deepEqual(await received(socket, 2), [1, 'marker']);

    assert.equal((await node(0).publish({ key: 'idem-away', value: 2, message_id: 'order-43' })).json.held, 1);
    assert.equal((await node(1).publish({ key: 'idem-away', value: 2, message_id: 'order-43' })).json.duplicate, true);
    assert.deepEqual(await heldPayloads(node(1), 'idem-away'), [2], 'held once');
    await socket.close();
  });

  test('batch: one result per message, in order; a message_id in the middle does not reorder the rest', async () => {
    const key = 'batch@example.com';
    const socket = await openSocket(node(1), key);
    const mixed = await node(0).publish({ messages: [
      { key, value: 1 },
      { keys: [key], value: 2, message_id: 'batch-2' },
      { key: 'batch-away', value: 3, expire: '1m' },
    ] });
    assert.equal(mixed.status, 202);
    assert.deepEqual(mixed.json.results.map((x: { delivered: number; held: number }) => [x.delivered, x.held]), [[1, 0], [1, 0], [0, 1]]);
    assert.equal(mixed.json.results[1].id, 'batch-2');
    const waiting = await node(1).publish({ messages: [
      { key, value: 'a' },
      { key, value: 'b', message_id: 'mid-batch' },
      { key, value: 'c' },
      { key, value: 'd', message_id: 'mid-batch' },
      { key, value: 'e' },
    ] });
    assert.deepEqual(waiting.json.results.map((x: { delivered: number; duplicate?: true }) => [x.delivered, x.duplicate ?? false]),
      [[1, false], [1, false], [1, false], [0, true], [1, false]]);
    assert.deepEqual(await received(socket, 6), [1, 2, 'a', 'b', 'c', 'e']);
    assert.deepEqual(await heldPayloads(node(0), 'batch-away'), [3]);
    await socket.close();
  });
}

function atLeastOnceScenarios(node: Nodes): void {
  test('at-least-once: held even when delivered, sent again to the next socket on any node until acknowledged on any node', async () => {
    const key = 'alo@example.com';
    const first = await openSocket(node(1), key);
    const ids: string[] = [];
    for (const value of ['one', 'two']) {
      const { json } = await node(0).publish({ key, value });
      assert.deepEqual([json.delivered, json.held], [1, 1], 'stored before it is written');
      ids.push(json.id);
    }
    assert.deepEqual((await first.waitForFrames(2)).map((f) => f.id), ids);
    first.send({ id: ids[0] });
    await eventually('the ack to remove the message', async () => (await heldPayloads(node(0), key)).length === 1);
    await first.close();

    const second: TestSocket = await openSocket(node(0), key);
    const { json } = await node(1).publish({ key, value: 'marker', expire: '0' });
    assert.deepEqual([json.delivered, json.held], [1, 0], '"0" is never held, in at-least-once too');
    assert.deepEqual(await second.waitForFrames(2), [{ id: ids[1], payload: 'two' }, { id: json.id, payload: 'marker' }],
      'the unacknowledged message again, and not the acknowledged one');
    second.send({ id: ids[1] });
    await eventually('the second ack', async () => (await heldPayloads(node(1), key)).length === 0);
    await second.close();

    const third = await openSocket(node(1), key);
    await node(0).publish({ key, value: 'last', expire: '0' });
    assert.deepEqual(await received(third, 1), ['last'], 'nothing left to send again');
    await third.close();
  });
}
