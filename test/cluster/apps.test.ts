// Apps across nodes over Redis (docs/apps.md): a publish on one node to app blue's key reaches blue's
// sockets on the other node only, never the default app's sockets under the same name (nor its
// pattern sockets); held messages, presence and message_ids stay in their app too.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type TestSocket } from '../helpers/client.js';
import { eventually, startCluster, synced, type TestCluster } from '../helpers/cluster.js';
import { BASIC, type GatewayProcess } from '../helpers/gateway.js';
import { startAuthBackend, type AuthBackend } from '../helpers/auth-backend.js';
import { BLUE, publishTo, yamlFile } from '../helpers/apps.js';

let auth: AuthBackend;
let cluster: TestCluster;
const open: TestSocket[] = [];

before(async () => {
  auth = await startAuthBackend();
  const yaml = `apps:\n  blue:\n    auth_url: ${auth.url}\n    login: blue-backend\n    password: blue-password-0123\n`;
  cluster = await startCluster(2, { WS_AUTH_URL: auth.url, WS_CONFIG: await yamlFile(yaml) });
});
after(async () => {
  for (const s of open) await s.close();
  await cluster.close();
  await auth.close();
});

/** A socket of `app` under `key` on `node`, once the node counts it in cluster-wide presence. */
async function socketOf(node: GatewayProcess, path: string, key: string): Promise<TestSocket> {
  const before = synced(node);
  const socket = await connect(node.ws(`${path}?email=${encodeURIComponent(key)}`));
  open.push(socket);
  await eventually(`socket ${key} on ${path} to join`, () => synced(node) > before);
  return socket;
}

test('a publish on one node reaches only its own app\'s sockets on the other, pattern sockets included', async () => {
  const [a, b] = cluster.nodes as [GatewayProcess, GatewayProcess];
  const blue = await socketOf(b, '/apps/blue/ws', 'k1');
  const plain = await socketOf(b, '/ws', 'k1');
  const pattern = await socketOf(b, '/ws', '*');
  const blueResult = await publishTo(a, '/apps/blue', BLUE, { key: 'k1', value: 'for blue' });
  assert.deepEqual([blueResult.status, blueResult.json.delivered, blueResult.json.held], [202, 1, 0]);
  const plainResult = await publishTo(a, '', BASIC, { key: 'k1', value: 'for default' });
  assert.deepEqual([plainResult.status, plainResult.json.delivered], [202, 2]);
  // Blue's message was published first: had it crossed, it would be the first frame.
  assert.equal((await blue.waitForFrames(1))[0]!.payload, 'for blue');
  assert.equal((await plain.waitForFrames(1))[0]!.payload, 'for default');
  assert.equal((await pattern.waitForFrames(1))[0]!.payload, 'for default');
  await pattern.close();
  // Cluster-wide presence, per app, by name.
  const presence = await a.request('GET', '/apps/blue/?presence', { headers: { authorization: BLUE } });
  assert.deepEqual(presence.json, { k1: 1 });
});

test('messages held through one node reach their own app\'s socket on the other, and only it', async () => {
  const [a, b] = cluster.nodes as [GatewayProcess, GatewayProcess];
  const blueHeld = await publishTo(a, '/apps/blue', BLUE, { key: 'h1', value: 'blue held', message_id: 'm-1' });
  assert.deepEqual([blueHeld.status, blueHeld.json.held], [202, 1]);
  const plainHeld = await publishTo(a, '', BASIC, { key: 'h1', value: 'default held', message_id: 'm-1' });
  assert.deepEqual([plainHeld.status, plainHeld.json.held, plainHeld.json.duplicate], [202, 1, undefined]);
  assert.deepEqual((await b.request('GET', '/apps/blue/?counts', { headers: { authorization: BLUE } })).json, [{ key: 'h1', count: 1 }]);
  const plain = await socketOf(b, '/ws', 'h1');
  assert.deepEqual((await plain.waitForFrames(1)).map((f) => f.payload), ['default held']);
  const blue = await socketOf(b, '/apps/blue/ws', 'h1');
  assert.deepEqual((await blue.waitForFrames(1)).map((f) => f.payload), ['blue held']);
  // Each took only its own: nothing of h1 is left in either app.
  assert.deepEqual((await a.request('GET', '/?key=h1')).json, []);
  assert.deepEqual((await a.request('GET', '/apps/blue/?key=h1', { headers: { authorization: BLUE } })).json, []);
});
