// dSock's split on two nodes sharing Redis: the API answered by node A, the sockets on node B. A
// claim made on A opens once on B; /info on A lists B's socket as soon as its 101 is out; /send on
// A reaches it (user, session, binary by id); /disconnect on A closes it with 1000.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster, type TestCluster } from '../../helpers/cluster.js';
import { listenerPort } from '../../helpers/seed.js';
import { call, dsockSocket, errorBody, rawConnect, TOKEN } from './client.js';

let cluster: TestCluster;
before(async () => {
  cluster = await startCluster(2, { WS_DSOCK_PORT: '0', WS_DSOCK_TOKEN: TOKEN });
});
after(() => cluster.close());

test('API on node A, sockets on node B: claim, connect, info, send, disconnect', async () => {
  const [a, b] = cluster.nodes as [NonNullable<typeof cluster.nodes[0]>, NonNullable<typeof cluster.nodes[0]>];
  const apiA = `http://127.0.0.1:${await listenerPort(a, 'dsock')}`;
  const portB = await listenerPort(b, 'dsock');
  const made = await call(apiA, 'POST', '/claim', 'user=split&session=web');
  const id = (made.json as { claim: { id: string } }).claim.id;
  const socket = await dsockSocket(`ws://127.0.0.1:${portB}/connect?claim=${id}`);
  try {
    // Listed on A with no wait: B registered it before its 101, and A asks B live.
    const listed = (await call(apiA, 'GET', '/info', 'user=split')).json as { connections: Array<{ id: string; user: string; session: string; worker: string }>; claims: unknown[] };
    assert.equal(listed.connections.length, 1);
    assert.equal(listed.connections[0]?.session, 'web');
    assert.deepEqual(listed.claims, []);
    // The claim was taken on B: A cannot open it again.
    const again = await rawConnect(await listenerPort(a, 'dsock'), `claim=${id}`);
    assert.equal(again.body, errorBody('MISSING_CLAIM', 'Could not find claim'));
    // No WS_DSOCK_JWT_SECRET here: `jwt` is not an authentication method.
    assert.equal((await rawConnect(portB, 'jwt=anything')).body, errorBody('MISSING_AUTHENTICATION', 'Did not provide an authentication method'));
    await call(apiA, 'POST', '/send', 'user=split&type=text', { body: 'to the user' });
    await call(apiA, 'POST', '/send', 'user=split&session=web&type=text', { body: 'to the session' });
    await call(apiA, 'POST', '/send', `id=${listed.connections[0]?.id as string}&type=binary`, { body: Uint8Array.from([1, 2, 3, 4]) });
    const frames = await socket.waitFor(3);
    assert.deepEqual(frames.slice(0, 2).map((f) => [f.data.toString(), f.binary]), [['to the user', false], ['to the session', false]]);
    assert.deepEqual([...(frames[2]?.data ?? [])], [1, 2, 3, 4]);
    assert.equal(frames[2]?.binary, true);
    assert.equal((await call(apiA, 'POST', '/disconnect', 'user=split')).text, '{"success":true}');
    assert.deepEqual(await socket.closed, { code: 1000, reason: '' });
  } finally {
    await socket.close();
  }
});
