// Redis settings that cannot work stop the start with exit code 2, naming the variable but never
// the URL's password.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startExpectingFailure } from '../helpers/gateway.js';

const base = { WS_AUTH_URL: 'http://127.0.0.1:9/auth', WS_LOGIN: 'backend', WS_PASSWORD: 'x' };

test('a Redis URL that cannot work stops the start with exit code 2 and hides its password', async () => {
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ WS_REDIS_URL: 'redis://:s3cret-db@127.0.0.1:6379/2', WS_REDIS_CLUSTER: 'true' }, /WS_REDIS_URL names a database/],
    [{ WS_REDIS_URL: 'redis://:s3cret-db@127.0.0.1:7000,redis://127.0.0.1:7001' }, /WS_REDIS_URL.*WS_REDIS_CLUSTER=true/],
    [{ WS_REDIS_URL: 'http://:s3cret-db@127.0.0.1:6379' }, /WS_REDIS_URL/],
    [{ WS_REDIS_URL: 'redis://127.0.0.1:6379', WS_PRESENCE_TTL: '500ms' }, /WS_PRESENCE_TTL.*at least 1000ms/],
    [{ WS_REDIS_URL: 'redis://:s3cret-db@127.0.0.1:26379', WS_REDIS_CLUSTER: 'true', WS_REDIS_SENTINEL: 'main' }, /WS_REDIS_SENTINEL.*no Sentinel/],
  ];
  for (const [env, problem] of cases) {
    const { exitCode, stderr } = await startExpectingFailure({ ...base, ...env });
    assert.equal(exitCode, 2, stderr);
    assert.match(stderr, problem);
    assert.doesNotMatch(stderr, /s3cret-db/);
  }
});
