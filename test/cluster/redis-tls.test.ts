// rediss:// against a redis-server of the test's own that speaks TLS only: two nodes that trust its CA
// (through Node's NODE_EXTRA_CA_CERTS) work as one gateway; a node that does not trust it refuses the
// server, says why, and takes no publish it could not store.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { startAuthBackend, type AuthBackend } from '../helpers/auth-backend.js';
import { assertSharedAcrossNodes, startCluster, eventually, type TestCluster } from '../helpers/cluster.js';
import { startGateway } from '../helpers/gateway.js';
import { ownRedis, TEST_TLS, type OwnRedis } from '../helpers/redis.js';

const PASSWORD = 'tls-r3dis-pa55word';
let redis: OwnRedis;
before(async () => {
  redis = await ownRedis(PASSWORD, { tls: true });
  await redis.start();
});
after(async () => {
  await (redis as OwnRedis | undefined)?.dispose();
});

test('two nodes over rediss:// deliver across nodes and share held messages', async () => {
  const cluster: TestCluster = await startCluster(2, { NODE_EXTRA_CA_CERTS: TEST_TLS.ca }, redis.url);
  try {
    const [a, b] = cluster.nodes as [TestCluster['nodes'][0], TestCluster['nodes'][0]];
    await assertSharedAcrossNodes(a, b);
  } finally {
    await cluster.close();
  }
});

test('a node that does not trust the server certificate is not ready and refuses publishes', async () => {
  const auth: AuthBackend = await startAuthBackend();
  const gw = await startGateway({ WS_AUTH_URL: auth.url, WS_REDIS_URL: redis.url });
  try {
    const line = await gw.waitForLog((l) => l.msg === 'redis error');
    assert.match(String(line['reason']), /certificate/);
    await eventually('readyz to report Redis', async () => (await gw.request('GET', '/readyz')).status === 503);
    const r = await gw.publish({ key: 'victor', value: 'not stored' });
    assert.equal(r.status, 503);
    assert.equal(r.json.error, 'STORE_UNAVAILABLE');
    assert.ok(!gw.output().includes(PASSWORD), 'the Redis password is never logged');
  } finally {
    await gw.stop();
    await auth.close();
  }
});
