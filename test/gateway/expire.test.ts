// The `expire` bound against the real gateway, in memory and Redis mode: past the documented
// maximum a publish is refused with 400 INVALID_EXPIRE (it used to be accepted, then break the
// admin listing with 500, or answer a false 503 in Redis mode); the maximum itself works end to end.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startAuthBackend, type AuthBackend } from '../helpers/auth-backend.js';
import { startExpectingFailure, startGateway, untilRedisLive, type GatewayProcess } from '../helpers/gateway.js';
import { deletePrefix, redisClient, SHARED_REDIS_URL, testPrefix } from '../helpers/redis.js';
import { MAX_EXPIRE_MS } from '../../src/delivery/message.js';

const DAY_MS = 86_400_000;

for (const mode of ['memory', 'redis'] as const) {
  describe(`expire bound (${mode} mode)`, () => {
    let auth: AuthBackend;
    let gw: GatewayProcess;
    const prefix = testPrefix('expire');
    before(async () => {
      auth = await startAuthBackend();
      gw = await startGateway({ WS_AUTH_URL: auth.url, ...(mode === 'redis' ? { WS_REDIS_URL: SHARED_REDIS_URL, WS_REDIS_PREFIX: prefix } : {}) });
      if (mode === 'redis') await untilRedisLive(gw);
    });
    after(async () => {
      assert.equal(await gw.stop(), 0);
      await auth.close();
      if (mode === 'redis') {
        const client = await redisClient();
        await deletePrefix(client, prefix);
        client.disconnect();
      }
    });

    test('a huge expire gets 400 INVALID_EXPIRE naming the maximum, and nothing is held', async () => {
      for (const expire of ['9999999999999d', `${MAX_EXPIRE_MS / DAY_MS + 1}d`, `${MAX_EXPIRE_MS + 1}ms`, `${'9'.repeat(400)}h`]) {
        const r = await gw.publish({ key: 'huge-expire', value: 1, expire });
        assert.equal(r.status, 400, expire);
        assert.equal(r.json.error, 'INVALID_EXPIRE', expire);
        assert.match(r.json.message, /365d/);
      }
      const batch = await gw.publish({ messages: [{ key: 'huge-expire', value: 1 }, { key: 'huge-expire', value: 2, expire: '9999999999999d' }] });
      assert.deepEqual([batch.status, batch.json.error], [400, 'INVALID_EXPIRE']);
      assert.match(batch.json.message, /^messages\[1\]: /);
      const listed = await gw.request('GET', '/?key=huge-expire');
      assert.deepEqual([listed.status, listed.json], [200, []]);
    });

    test('the maximum is accepted, held, and listed with its expiry', async () => {
      const before = Date.now();
      const r = await gw.publish({ key: 'max-expire', value: 'kept', expire: '365d' });
      assert.deepEqual([r.status, r.json.held], [202, 1]);
      const listed = await gw.request('GET', '/?key=max-expire');
      assert.equal(listed.status, 200);
      assert.equal(listed.json.length, 1);
      const expiresAt = Date.parse(listed.json[0].expires_at);
      assert.ok(expiresAt >= before + MAX_EXPIRE_MS && expiresAt <= Date.now() + MAX_EXPIRE_MS, listed.json[0].expires_at);
      assert.equal((await gw.request('DELETE', '/?key=max-expire')).json.removed, 1);
    });
  });
}

test('WS_MSG_EXPIRE past the maximum stops the start with exit 2 and names the maximum', async () => {
  const { exitCode, stderr } = await startExpectingFailure({ WS_AUTH_URL: 'http://127.0.0.1:9/auth', WS_LOGIN: 'a', WS_PASSWORD: 'b', WS_MSG_EXPIRE: '366d' });
  assert.equal(exitCode, 2);
  assert.match(stderr, /^octoway: WS_MSG_EXPIRE="366d": expected .*at most 365d/m);
});
