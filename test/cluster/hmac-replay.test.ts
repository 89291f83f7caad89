// An HMAC-signed publish accepted by one node is a replay on every other node sharing the Redis.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { signBody } from '../../src/http/hmac-signature.js';
import { startCluster, type TestCluster } from '../helpers/cluster.js';

const SECRET = 'cluster-hmac-secret-0123456789';
let cluster: TestCluster;
before(async () => {
  cluster = await startCluster(2, { WS_PUBLISH_AUTH: 'basic,hmac', WS_HMAC_SECRET: SECRET });
});
after(() => cluster.close());

test('a signed request is accepted by one node and refused as a replay by the other', async () => {
  const [a, b] = cluster.nodes as [NonNullable<TestCluster['nodes'][0]>, NonNullable<TestCluster['nodes'][0]>];
  const text = JSON.stringify({ key: 'k-replay', value: { n: Math.random() }, expire: '0' });
  const headers = { 'x-octoway-signature': signBody(SECRET, text) };
  const first = await a.request('POST', '/', { body: text, headers, auth: false });
  assert.equal(first.status, 202, first.text);
  const replay = await b.request('POST', '/', { body: text, headers, auth: false });
  assert.equal(replay.status, 401);
  assert.equal(replay.json.error, 'HMAC_REPLAYED');
  assert.equal((await a.request('POST', '/', { body: text, headers, auth: false })).json.error, 'HMAC_REPLAYED', 'and by the first node too');
});

test('of twenty copies of one signed request sent to both nodes at once, exactly one is accepted', async () => {
  const text = JSON.stringify({ key: 'k-race', value: 1, expire: '0' });
  const headers = { 'x-octoway-signature': signBody(SECRET, text) };
  const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => cluster.nodes[i % 2]!.request('POST', '/', { body: text, headers, auth: false })));
  assert.equal(answers.filter((r) => r.status === 202).length, 1);
  assert.ok(answers.filter((r) => r.status !== 202).every((r) => r.json.error === 'HMAC_REPLAYED'));
});
