// A message recovered from a dead node is re-sent only to the nodes that did not get it when it was
// published: a node whose sockets already had it must not write it to them a second time.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, openSocket, payloads, PRESENCE_TTL_MS, startCluster, type TestCluster } from '../helpers/cluster.js';

let cluster: TestCluster;
before(async () => {
  cluster = await startCluster(3);
});
after(() => cluster.close());

test('a dead node\'s unconfirmed message reaches a newcomer once and a node that had it not again', async () => {
  const [b, d, c] = cluster.nodes as [typeof cluster.nodes[0], typeof cluster.nodes[0], typeof cluster.nodes[0]];
  const key = 'addressed';
  const onB = await openSocket(b, key);
  await openSocket(d, key);
  // Frozen, d still counts (its lease runs) but cannot write or confirm what it is sent.
  d.child.kill('SIGSTOP');
  assert.equal((await b.publish({ key, value: 'm' })).json.delivered, 2);
  await onB.waitForFrames(1);
  const onC = await openSocket(c, key); // joins while d still counts: not one of m's nodes
  await d.stop('SIGKILL');
  // Once d's lease runs out, a script touching the key (a heartbeat of b or c) re-sends m to c.
  await onC.waitForFrames(1, PRESENCE_TTL_MS * 4);
  // Bus order: b handles anything re-sent before this marker, so the counts below are final.
  await b.publish({ key, value: 'after' });
  await eventually('the marker on both sockets', () => onB.frames.length >= 2 && onC.frames.length >= 2);
  assert.deepEqual(payloads(onC), ['m', 'after']);
  assert.deepEqual(payloads(onB), ['m', 'after'], 'b\'s socket got m when it was published, and only then');
});
