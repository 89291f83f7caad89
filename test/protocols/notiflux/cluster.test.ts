// notiflux on two nodes sharing Redis: a broadcast posted to node A's listener reaches the
// subscribers connected to node B's.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster, type TestCluster } from '../../helpers/cluster.js';
import { listenerPort, textSocket } from '../../helpers/seed.js';
import { NOTIFLUX_PUBLIC_KEY_B64, notifluxToken, pong } from '../../helpers/notiflux.js';

let cluster: TestCluster;
before(async () => {
  cluster = await startCluster(2, { WS_NOTIFLUX_PORT: '0', WS_NOTIFLUX_JWT_PUBLIC_KEY_B64: NOTIFLUX_PUBLIC_KEY_B64 });
});
after(() => cluster.close());

test('a broadcast on node A reaches node B\'s subscribers of the topic, and only them', async () => {
  const [a, b] = cluster.nodes as [NonNullable<typeof cluster.nodes[0]>, NonNullable<typeof cluster.nodes[0]>];
  const portA = await listenerPort(a, 'notiflux');
  const subscriber = await textSocket(`ws://127.0.0.1:${await listenerPort(b, 'notiflux')}/ws`);
  const other = await textSocket(`ws://127.0.0.1:${await listenerPort(b, 'notiflux')}/ws`);
  try {
    subscriber.ws.send(`/subscribe news ${notifluxToken('subscribe', ['news'])}`);
    other.ws.send(`/subscribe sport ${notifluxToken('subscribe', ['sport'])}`);
    await Promise.all([pong(subscriber), pong(other)]);
    const answer = await fetch(`http://127.0.0.1:${portA}/broadcast`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ topic: 'news', message: 'from A', token: notifluxToken('broadcast', ['news']) }),
    });
    assert.equal(answer.status, 200);
    assert.deepEqual(await subscriber.waitFor(1), ['from A']);
    await pong(other);
    assert.deepEqual(other.texts, []);
  } finally {
    await Promise.all([subscriber.close(), other.close()]);
  }
});
