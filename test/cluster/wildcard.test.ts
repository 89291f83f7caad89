// Wildcard keys across two nodes on one Redis: a publish on one node reaches a pattern socket on the
// other (never held as "nobody present" while a pattern matches), a pattern socket that connects gets
// the held messages of every key it matches, overlapping patterns deliver once, and a node without
// pattern sockets works as before.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, openSocket, payloads, startCluster, type TestCluster } from '../helpers/cluster.js';
import { redisClient } from '../helpers/redis.js';

let cluster: TestCluster;
before(async () => {
  cluster = await startCluster(2);
});
after(() => cluster.close());

const nodes = (): [TestCluster['nodes'][0], TestCluster['nodes'][0]] => cluster.nodes as [TestCluster['nodes'][0], TestCluster['nodes'][0]];

test('messages held before any pattern existed reach the first pattern socket, on another node, oldest first', async () => {
  const [a, b] = nodes();
  for (const [key, value] of [['early/1', 'e1'], ['early/2', 'e2'], ['early/1', 'e3'], ['early/1/deep', 'no']]) {
    assert.deepEqual([(await a.publish({ key, value })).json.held], [1]);
  }
  const socket = await openSocket(b, 'early/*');
  await a.publish({ key: 'early/3', value: 'live' });
  await socket.waitForFrames(4);
  assert.deepEqual(payloads(socket), ['e1', 'e2', 'e3', 'live']);
  assert.deepEqual((await a.request('GET', '/?key=early/1')).json, [], 'taken by the pattern socket (at-most-once)');
  assert.equal((await a.request('GET', '/?key=early/1/deep')).json.length, 1, '* does not cross /');
  await socket.close();
});

test('a publish on one node reaches a pattern socket on the other, and is not held', async () => {
  const [a, b] = nodes();
  const socket = await openSocket(b, 'live/*');
  const answers = [];
  for (let n = 0; n < 10; n++) answers.push((await a.publish({ key: `live/${n % 3}`, value: n })).json);
  assert.deepEqual(answers.map((r) => [r.delivered, r.held]), Array.from({ length: 10 }, () => [1, 0]));
  assert.equal((await a.publish({ key: 'live/x/y', value: 'deep' })).json.held, 1, '* does not cross /');
  await socket.waitForFrames(10);
  assert.deepEqual(payloads(socket), Array.from({ length: 10 }, (_, n) => n));
  await socket.close();
});

test('held messages reach a pattern socket joining while other patterns exist (the index), and only once', async () => {
  const [a, b] = nodes();
  const keeper = await openSocket(a, 'unrelated/*'); // keeps the registry non-empty: held keys are indexed
  for (const [key, value] of [['idx/a', 1], ['idx/b', 2], ['idx/a', 3]]) assert.equal((await b.publish({ key, value })).json.held, 1);
  const [first, second] = await Promise.all([openSocket(b, 'idx/*'), openSocket(a, 'idx/?')]);
  await eventually('both sockets to have the three held messages between them', () => first.frames.length + second.frames.length >= 3);
  const all = [...payloads(first), ...payloads(second)];
  assert.deepEqual(all.sort(), [1, 2, 3], 'each held message to exactly one socket');
  assert.deepEqual(payloads(first).length === 0 || payloads(second).length === 0 ? 'one took all' : 'split', 'one took all', 'one atomic fetch per key set');
  await Promise.all([keeper.close(), first.close(), second.close()]);
});

test('overlapping patterns and exact keys across nodes: each socket gets each message once', async () => {
  const [a, b] = nodes();
  const both = await openSocket(b, 'ovl/*', 'ovl/a');
  const pattern = await openSocket(a, 'ovl/[ab]');
  const exact = await openSocket(a, 'ovl/a');
  const results = [];
  for (let n = 0; n < 10; n++) results.push((await (n % 2 ? a : b).publish({ key: 'ovl/a', value: n })).json.delivered);
  await b.publish({ keys: ['ovl/a', 'ovl/b'], value: 'two keys' });
  await Promise.all([both.waitForFrames(11), pattern.waitForFrames(11), exact.waitForFrames(11)]);
  const expected = [...Array.from({ length: 10 }, (_, n) => n), 'two keys'];
  for (const socket of [both, pattern, exact]) assert.deepEqual(payloads(socket), expected);
  // Counted per key (docs/scale-out.md): ovl/a's two sockets, then each matching pattern's one.
  assert.deepEqual(new Set(results), new Set([4]));
  await Promise.all([both.close(), pattern.close(), exact.close()]);
});

test('when the last pattern socket closes, its keys are held again; a node without pattern sockets is unaffected', async () => {
  const [a, b] = nodes();
  const exactOnA = await openSocket(a, 'plain-a');
  const socket = await openSocket(b, 'bye/*');
  assert.equal((await a.publish({ key: 'bye/1', value: 1 })).json.delivered, 1);
  assert.equal((await a.publish({ key: 'plain-a', value: 'x' })).json.delivered, 1);
  await socket.close();
  await eventually('the pattern to leave the registry', async () => {
    const r = await a.publish({ key: 'bye/probe', value: 'p', expire: '1s' });
    return r.json.delivered === 0 && r.json.held === 1;
  });
  const redis = await redisClient();
  try {
    assert.equal(await redis.scard(`${cluster.prefix}patterns`), 0, 'the registry is empty');
    assert.equal(await redis.exists(`${cluster.prefix}held`), 0, 'no index is kept without patterns');
  } finally {
    await redis.quit();
  }
  assert.deepEqual((await b.publish({ key: 'plain-a', value: 'y' })).json.delivered, 1);
  await exactOnA.waitForFrames(2);
  assert.deepEqual(payloads(exactOnA), ['x', 'y']);
  await exactOnA.close();
});

test('at-least-once on Redis: a pattern socket\'s acknowledgements remove its messages without searching the store', async () => {
  const alo = await startCluster(1, { WS_DELIVERY: 'at-least-once' });
  const redis = await redisClient();
  const monitor = await redis.monitor();
  try {
    const [node] = alo.nodes as [TestCluster['nodes'][0]];
    await node.publish({ key: 'ack/a', value: 'held' });
    const socket = await openSocket(node, 'ack/*');
    await node.publish({ key: 'ack/b', value: 'live' });
    const frames = await socket.waitForFrames(2);
    assert.deepEqual(payloads(socket), ['held', 'live']);
    // A client sets its acknowledgement rate: each one must not cost a search of the held keys
    // (the index read, or a SCAN under Cluster), whether its id is known or made up.
    const searches: string[] = [];
    monitor.on('monitor', (_time: string, args: string[]) => {
      const command = String(args[0]).toLowerCase();
      if (['scan', 'scard', 'zrangebylex', 'get'].includes(command) && args.some((a) => String(a).startsWith(alo.prefix))) searches.push(command);
    });
    for (let n = 0; n < 50; n++) socket.send({ id: `made-up-${n}` });
    for (const frame of frames) socket.send({ id: frame.id });
    for (const key of ['ack/a', 'ack/b']) {
      await eventually(`${key} to be acknowledged`, async () => (await node.request('GET', `/?key=${key}`)).json.length === 0);
    }
    assert.deepEqual(searches, [], 'no store search for an acknowledgement');
    await socket.close();
  } finally {
    monitor.disconnect();
    await redis.quit();
    await alo.close();
  }
});
