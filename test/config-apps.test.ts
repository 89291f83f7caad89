// WS_CONFIG's apps (src/config-apps.ts): what an app inherits, and how its problems are named.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from '../src/config.js';
import { loadApps } from '../src/config-apps.js';

const ENV = { WS_AUTH_URL: 'http://auth.invalid/', WS_LOGIN: 'env-login', WS_PASSWORD: 'env-password' };

function problemsOf(run: () => unknown): readonly string[] {
  try {
    run();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  assert.fail('the configuration was accepted; problems were expected');
}

test('without apps, the gateway is the default app of the environment', () => {
  const { config, apps } = loadApps({ values: ENV });
  assert.deepEqual(apps.map((a) => a.name), ['default']);
  assert.deepEqual(config, loadConfig(ENV));
});

test('another app inherits gateway-wide settings, never the environment\'s app settings', () => {
  const { apps } = loadApps({
    values: { ...ENV, WS_MAX_PAYLOAD: '128KiB', WS_ALLOWED_ORIGINS: 'https://env.example' },
    apps: { blue: { auth_url: 'http://blue.invalid/', login: 'blue', password: 'blue-password', max_batch: 5 } },
  });
  const blue = apps.find((a) => a.name === 'blue')!.config;
  assert.equal(blue.maxPayloadBytes, 131_072);
  assert.deepEqual(blue.allowedOrigins, []);
  assert.deepEqual(blue.credentials, { login: 'blue', password: 'blue-password' });
  assert.equal(blue.maxBatch, 5);
  assert.equal(blue.authUrl?.href, 'http://blue.invalid/');
  const problems = problemsOf(() => loadApps({ values: ENV, apps: { blue: { auth_url: 'http://blue.invalid/' } } }));
  assert.ok(problems.some((p) => p.startsWith('apps.blue.login is not set')), problems.join('\n'));
});

test('apps.default overrides the environment setting by setting; problems name where each came from', () => {
  const { config } = loadApps({ values: ENV, apps: { default: { password: 'file-password' } } });
  assert.deepEqual(config.credentials, { login: 'env-login', password: 'file-password' });
  const problems = problemsOf(() => loadApps({ values: { ...ENV, WS_MSG_EXPIRE: 'never' }, apps: { default: { login: 'a:b' } } }));
  assert.ok(problems.some((p) => p.startsWith('apps.default.login="a:b": expected a login without ":"')), problems.join('\n'));
  assert.ok(problems.some((p) => p.startsWith('WS_MSG_EXPIRE="never"')), problems.join('\n'));
});

test('a gateway-wide problem is reported once, not once per app; secrets stay hidden', () => {
  const problems = problemsOf(() => loadApps({
    values: { ...ENV, WS_PORT: 'eighty' },
    apps: { blue: { auth_url: 'http://blue.invalid/', login: 'b', password: 'p', publish_auth: 'hmac', hmac_secret: 'short-secret' } },
  }));
  assert.equal(problems.filter((p) => p.startsWith('WS_PORT')).length, 1, problems.join('\n'));
  assert.ok(problems.some((p) => p.startsWith('apps.blue.hmac_secret="<hidden>"')), problems.join('\n'));
  assert.ok(!problems.join('\n').includes('short-secret'));
});
