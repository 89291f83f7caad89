// An upgrade whose auth fails in an unusual way costs that one upgrade: the process survives and
// the sockets already open keep receiving.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withGateway } from '../helpers/gateway.js';
import { connect, refusal } from '../helpers/client.js';

const dir = await mkdtemp(join(tmpdir(), 'octoway-upgrade-failures-'));
after(() => rm(dir, { recursive: true, force: true }));

// A revoked Proxy throws on every operation, `instanceof` and `typeof x.name` included: describing
// such a failure must not throw in turn (before the fix it did, inside a promise nobody awaited,
// and Node ended the process on the unhandled rejection).
const exporter = join(dir, 'odd-exporter.mjs');
await writeFile(exporter, `
const revoked = () => { const { proxy, revoke } = Proxy.revocable({}, {}); revoke(); return proxy; };
export default (body) => {
  const email = body.user.email;
  if (email === 'reject-revoked') return Promise.reject(revoked());
  if (email === 'throw-revoked') throw revoked();
  if (email === 'return-revoked') return revoked();
  if (email === 'throwing-getter') return { get keys() { throw revoked(); } };
  if (email === 'reject-null') return Promise.reject(null);
  return [email];
};
`);

test('exporters that throw revoked proxies, nulls or from getters are refused 502 EXPORTER_FAILED; the process and other sockets live on', async () => {
  await withGateway({ WS_AUTH_EXPORTER: exporter }, async (gw) => {
    const alive = await connect(gw.ws('/ws?email=alive@example.com'));
    for (const email of ['reject-revoked', 'throw-revoked', 'return-revoked', 'throwing-getter', 'reject-null']) {
      const r = await refusal(gw.ws(`/ws?email=${email}`));
      assert.equal(r.status, 502, email);
      assert.deepEqual(JSON.parse(r.body), { error: 'EXPORTER_FAILED', message: 'the auth exporter failed on the auth answer' });
    }
    assert.equal(gw.child.exitCode, null, 'the gateway is still running');
    const published = await gw.publish({ key: 'alive@example.com', value: 'still here' });
    assert.equal(published.json.delivered, 1);
    assert.equal((await alive.waitForFrames(1))[0]!.payload, 'still here');
    // And new sockets still open.
    const next = await connect(gw.ws('/ws?email=next@example.com'));
    await next.close();
    await alive.close();
    assert.doesNotMatch(gw.output(), /unhandled|UnhandledPromiseRejection/i);
  });
});
