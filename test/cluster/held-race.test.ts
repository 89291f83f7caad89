// At-most-once across nodes: when a key with held messages connects to two nodes at the same
// instant, each held message reaches exactly one of the two sockets, and live ones reach both.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from '../helpers/client.js';
import { eventually, payloads, startCluster, synced, type TestCluster } from '../helpers/cluster.js';

let cluster: TestCluster;
before(async () => {
  cluster = await startCluster(2);
});
after(() => cluster.close());

test('held messages go to exactly one socket when the key connects to two nodes at once (repeated)', async () => {
  const [a, b] = cluster.nodes as [typeof cluster.nodes[0], typeof cluster.nodes[0]];
  for (let round = 0; round < 8; round++) {
    const key = `race-${round}`;
    const held = Array.from({ length: 10 }, (_, i) => `${key}-h${i}`);
    for (const value of held) assert.equal((await (round % 2 ? a : b).publish({ key, value })).json.held, 1);

    const before = [synced(a), synced(b)];
    const url = `/ws?email=${key}`;
    const [onA, onB] = await Promise.all([connect(a.ws(url)), connect(b.ws(url))]);
    await eventually('both sockets to join', () => synced(a) > before[0]! && synced(b) > before[1]!);

    const { json } = await a.publish({ key, value: 'live' });
    assert.equal(json.delivered, 2);
    await eventually('the live message on both sockets', () => payloads(onA).includes('live') && payloads(onB).includes('live'));

    const got = [...payloads(onA), ...payloads(onB)].filter((p) => p !== 'live');
    assert.deepEqual([...got].sort(), [...held].sort(), `round ${round}: each held message exactly once`);
    for (const socket of [onA, onB]) {
      const mine = payloads(socket);
      assert.equal(mine.at(-1), 'live', 'held messages come before live ones');
      assert.deepEqual(mine.slice(0, -1), held.filter((h) => mine.includes(h)), 'in publish order');
    }
    await onA.close();
    await onB.close();
  }
});
