// Per-socket open/close lines are debug: at info, a storm of reconnects writes none of them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withGateway } from '../helpers/gateway.js';
import { connect } from '../helpers/client.js';

test('at LOG_LEVEL=info no per-socket open or close line is written', async () => {
  await withGateway({ LOG_LEVEL: 'info' }, async (gw) => {
    for (let i = 0; i < 20; i++) {
      const socket = await connect(gw.ws(`/ws?email=storm${i}@example.com`));
      await socket.close();
    }
    // The last close has been handled once a publish to its key finds no socket there.
    const r = await gw.publish({ key: 'storm19@example.com', value: 'after' });
    assert.equal(r.json.delivered, 0);
    assert.deepEqual(gw.logs.filter((l) => l.msg === 'socket open' || l.msg === 'socket closed'), []);
  });
});

test('at debug each socket logs open and close with its id, at level 20', async () => {
  await withGateway({}, async (gw) => {
    const socket = await connect(gw.ws('/ws?email=one@example.com'));
    await socket.close();
    const open = await gw.waitForLog((l) => l.msg === 'socket open');
    const closed = await gw.waitForLog((l) => l.msg === 'socket closed');
    assert.equal(open.level, 20);
    assert.equal(closed.level, 20);
    assert.match(String(open['conn']), /^[0-9a-z]{1,8}-[0-9a-z]+$/);
    assert.equal(closed['conn'], open['conn']);
  });
});

test('the listening line names the node that connection ids (and GET /connections) start with', async () => {
  await withGateway({}, async (gw) => {
    const listening = await gw.waitForLog((l) => l.msg === 'listening');
    assert.match(String(listening['node']), /^[0-9a-z]{1,8}$/);
    const socket = await connect(gw.ws('/ws?email=seen@example.com'));
    const listed = await gw.request('GET', '/connections?key=seen@example.com');
    assert.equal(listed.status, 200, listed.text);
    const [view] = listed.json.connections as Array<{ id: string; node: string }>;
    assert.equal(view?.node, listening['node']);
    assert.ok(view?.id.startsWith(`${String(listening['node'])}-`), view?.id);
    await socket.close();
  });
});
