// Driplet on two nodes sharing Redis: a publish posted to node A's listener reaches the subscribers
// connected to node B's (targeting applied there, on B's sockets' claims), and a nonce accepted by
// A is refused by B within the window (the replay memory is Redis, not each node's).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster, type TestCluster } from '../../helpers/cluster.js';
import { listenerPort, textSocket } from '../../helpers/seed.js';
import { clientToken, nowS, pong, post, publishBody, sendFrame, WEB, writeConfig } from './driplet.js';

let cluster: TestCluster;
before(async () => {
  cluster = await startCluster(2, { WS_DRIPLET_PORT: '0', WS_DRIPLET_CONFIG: await writeConfig() });
});
after(() => cluster.close());

test('a publish on node A reaches node B\'s subscribers its target admits; its nonce replayed on B is refused', async () => {
  const [a, b] = cluster.nodes as [NonNullable<typeof cluster.nodes[0]>, NonNullable<typeof cluster.nodes[0]>];
  const baseA = `http://127.0.0.1:${await listenerPort(a, 'driplet')}`;
  const portB = await listenerPort(b, 'driplet');
  const socket = (custom: Record<string, unknown>) => textSocket(`ws://127.0.0.1:${portB}/ws/web?token=${clientToken(WEB.jwtSecret, { exp: nowS() + 3600, custom })}`);
  const admin = await socket({ role: 'admin' });
  const user = await socket({ role: 'user' });
  try {
    await Promise.all([sendFrame(admin, { type: 'subscribe', topic: 'ops' }), sendFrame(user, { type: 'subscribe', topic: 'ops' })]);
    const body = publishBody({ message: { from: 'A' }, topic: 'ops', target: { include: { role: 'admin' } } });
    const answer = await post(baseA, 'web', body, WEB.apiSecret);
    assert.deepEqual([answer.status, answer.text], [200, '']);
    assert.deepEqual(await admin.waitFor(1), ['{"message":{"from":"A"},"target":{"include":{"role":"admin"}},"endpoint":"web","topic":"ops"}']);
    await pong(user);
    assert.deepEqual(user.texts, []);
    // The same signed body on node B: its nonce is already used, whichever node took it.
    const replayed = await post(`http://127.0.0.1:${portB}`, 'web', body, WEB.apiSecret);
    assert.deepEqual([replayed.status, replayed.text], [401, 'Invalid signature\n']);
    await pong(admin);
    assert.equal(admin.texts.length, 1);
  } finally {
    await Promise.all([admin.close(), user.close()]);
  }
});
