// What a team moving from today's Goctopus relies on, against the real gateway: its socket paths,
// its origin wildcard, its admin shapes (held.test.ts checks those in detail).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from '../helpers/client.js';
import { gatewayForSuite } from '../helpers/gateway.js';

describe('Goctopus compatibility', () => {
  const suite = gatewayForSuite({ WS_ALLOWED_ORIGINS: '*' });

  test('sockets open on /ws/ as on /ws and /, and receive what is published', async () => {
    const { gw } = suite;
    const sockets = await Promise.all(['/ws/', '/ws', '/'].map((path) => connect(gw.ws(`${path}?email=gus@example.com`))));
    assert.equal((await gw.publish({ key: 'gus@example.com', value: 'hello' })).json.delivered, 3);
    for (const socket of sockets) {
      assert.deepEqual((await socket.waitForFrames(1)).map((f) => f.payload), ['hello']);
      await socket.close();
    }
  });

  test("WS_ALLOWED_ORIGINS='*' starts and lets any origin open a socket", async () => {
    const { gw } = suite;
    const socket = await connect(gw.ws('/ws?email=o@example.com'), { origin: 'https://anywhere.example' });
    await socket.close();
    await gw.waitForLog((l) => /WS_ALLOWED_ORIGINS is empty or \*/.test(l.msg));
  });

  test('GET / lists held keys as Goctopus does: an array of strings, [] when none', async () => {
    const { gw } = suite;
    await gw.request('DELETE', '/');
    assert.deepEqual((await gw.request('GET', '/')).json, []);
    await gw.publish({ key: 'away', value: 1, expire: '1h' });
    assert.deepEqual((await gw.request('GET', '/')).json, ['away']);
    const [item] = (await gw.request('GET', '/?key=away')).json as Array<Record<string, unknown>>;
    assert.equal(item?.exp, '1h');
    assert.ok(!Number.isNaN(Date.parse(item?.date as string)));
  });
});
