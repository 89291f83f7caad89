// Philote on two nodes sharing Redis: a frame published on one node's listener reaches the readers
// connected to the other node's, never the sender, and the issuer names the sender's connection.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { SignJWT } from 'jose';
import { startCluster, type TestCluster } from '../../helpers/cluster.js';
import { listenerPort, textSocket } from '../../helpers/seed.js';

const SECRET = 'philote-cluster-secret-0123456789abcdef';
const key = (claims: Record<string, unknown>): Promise<string> =>
  new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(SECRET));

let cluster: TestCluster;
before(async () => {
  cluster = await startCluster(2, { WS_PHILOTE_PORT: '0', WS_PHILOTE_SECRET: SECRET });
});
after(() => cluster.close());

test('a frame published on node A\'s Philote listener reaches node B\'s readers of the channel', async () => {
  const [a, b] = cluster.nodes as [NonNullable<typeof cluster.nodes[0]>, NonNullable<typeof cluster.nodes[0]>];
  const urlA = `ws://127.0.0.1:${await listenerPort(a, 'philote')}`;
  const urlB = `ws://127.0.0.1:${await listenerPort(b, 'philote')}`;
  const readerB = await textSocket(`${urlB}/?auth=${await key({ read: ['live'] })}`);
  const otherB = await textSocket(`${urlB}/?auth=${await key({ read: ['elsewhere'] })}`);
  const writerA = await textSocket(`${urlA}/?auth=${await key({ read: ['live'], write: ['live'] })}`);
  try {
    writerA.ws.send(JSON.stringify({ channel: 'live', data: 'across nodes' }));
    const [frame] = await readerB.waitFor(1);
    const parsed = JSON.parse(frame as string) as { issuer: string; channel: string; data: string };
    assert.equal(parsed.channel, 'live');
    assert.equal(parsed.data, 'across nodes');
    assert.match(parsed.issuer, /^[a-z0-9]+-[a-z0-9]+$/);
    // A second frame, from node B's side: node A's writer (a reader of `live`) gets it, and only it.
    const writerB = await textSocket(`${urlB}/?auth=${await key({ write: ['live'] })}`);
    writerB.ws.send(JSON.stringify({ channel: 'live', data: 'back' }));
    const [back] = await writerA.waitFor(1);
    assert.equal(JSON.parse(back as string).data, 'back');
    assert.equal(writerA.texts.length, 1);
    assert.deepEqual(otherB.texts, []);
    await writerB.close();
  } finally {
    await Promise.all([readerB.close(), otherB.close(), writerA.close()]);
  }
});
