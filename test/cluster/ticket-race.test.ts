// A ticket opens exactly one socket, also when fifty clients race with it on two nodes sharing Redis;
// tickets made on one node are listed, used and removed on another.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type TestSocket } from '../helpers/client.js';
import { eventually, startCluster, synced, type TestCluster } from '../helpers/cluster.js';
import type { GatewayProcess } from '../helpers/gateway.js';

let cluster: TestCluster;
before(async () => {
  cluster = await startCluster(2, { WS_AUTH_MODE: 'forward,ticket' });
});
after(() => cluster.close());

async function make(node: GatewayProcess, body: Record<string, unknown>): Promise<string> {
  const r = await node.request('POST', '/tickets', { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
  assert.equal(r.status, 201, r.text);
  return r.json.ticket as string;
}

test('50 clients racing with one ticket across two nodes over Redis: exactly one 101, 49 refusals TICKET_NOT_FOUND', async () => {
  const [a, b] = cluster.nodes as [GatewayProcess, GatewayProcess];
  for (let round = 0; round < 3; round++) {
    const value = await make(a, { user: `racer-${round}` });
    const attempts = await Promise.allSettled(Array.from({ length: 50 }, (_, i) => connect((i % 2 ? a : b).ws(`/ws?ticket=${value}`))));
    const opened = attempts.filter((r): r is PromiseFulfilledResult<TestSocket> => r.status === 'fulfilled').map((r) => r.value);
    const refused = attempts.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason as { status?: number; body?: string });
    assert.equal(opened.length, 1, `round ${round}: exactly one socket opens`);
    assert.equal(refused.length, 49);
    for (const r of refused) assert.deepEqual([r.status, JSON.parse(r.body ?? '{}').error], [401, 'TICKET_NOT_FOUND']);
    await opened[0]!.close();
  }
  for (const node of [a, b]) assert.doesNotMatch(node.output(), /"ticket"|ticket=/, 'no ticket value in any log line');
});

test('a ticket made on one node is listed, used and removed on the other; its socket gets publishes from either', async () => {
  const [a, b] = cluster.nodes as [GatewayProcess, GatewayProcess];
  const first = await make(a, { user: 'shared', session: 's' });
  const second = await make(a, { user: 'shared', session: 't' });
  const listed = await b.request('GET', '/tickets?user=shared');
  assert.deepEqual(listed.json.tickets.map((t: { ticket: string }) => t.ticket).sort(), [first, second].sort());
  const conflict = await b.request('POST', '/tickets', { body: JSON.stringify({ user: 'other', id: first }), headers: { 'content-type': 'application/json' } });
  assert.equal(conflict.status, 409);
  const joined = synced(b);
  const socket = await connect(b.ws(`/ws?ticket=${first}`));
  await eventually('the socket on b to join', () => synced(b) > joined);
  assert.equal((await a.publish({ key: 'shared', value: 'from a' })).json.delivered, 1);
  assert.deepEqual((await socket.waitForFrames(1)).map((f) => f.payload), ['from a']);
  assert.deepEqual((await a.request('DELETE', '/tickets?user=shared')).json, { removed: 1 });
  const gone = await connect(b.ws(`/ws?ticket=${second}`)).then(() => 'opened', (err: { status?: number }) => err.status);
  assert.equal(gone, 401);
  await socket.close();
});
