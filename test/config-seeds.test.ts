// The seed listeners' settings: off without a port, their required settings named when missing,
// secrets never echoed, and every variable in README's table with its default.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../src/config.js';

const base = { WS_AUTH_URL: 'http://auth.invalid/', WS_LOGIN: 'l', WS_PASSWORD: 'p' };
const fixtures = new URL('../../test/fixtures/notiflux/', import.meta.url);

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig({ ...base, ...env });
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return [...err.problems];
  }
  assert.fail('expected a ConfigError');
}

test('no seed listener is on by default', () => {
  const config = loadConfig(base);
  assert.deepEqual(config.seeds, { dsock: undefined, driplet: undefined, notiflux: undefined, philote: undefined });
});

test('dSock: the port needs the token; the JWT secret is optional; secrets are not echoed', () => {
  assert.deepEqual(problemsOf({ WS_DSOCK_PORT: '6241' }), ['WS_DSOCK_TOKEN is not set: expected the API token backends call dSock\'s API with (WS_DSOCK_PORT is set)']);
  const config = loadConfig({ ...base, WS_DSOCK_PORT: '6241', WS_DSOCK_TOKEN: 'tok' });
  assert.deepEqual(config.seeds.dsock, { port: 6241, token: 'tok', jwtSecret: undefined });
  assert.equal(loadConfig({ ...base, WS_DSOCK_PORT: '6241', WS_DSOCK_TOKEN: 'tok', WS_DSOCK_JWT_SECRET: 'sec' }).seeds.dsock?.jwtSecret, 'sec');
  const problems = problemsOf({ WS_DSOCK_PORT: '7890', WS_DSOCK_TOKEN: 'supersecret' });
  assert.deepEqual(problems, ['WS_DSOCK_PORT="7890": expected a port other than WS_PORT\'s']);
  assert.deepEqual(problemsOf({ WS_DSOCK_PORT: 'x' }), ['WS_DSOCK_PORT="x": expected a port, a whole number from 0 to 65535 (or unset: the listener is off)', 'WS_DSOCK_TOKEN is not set: expected the API token backends call dSock\'s API with (WS_DSOCK_PORT is set)']);
});

test('two listeners may not share a port', () => {
  const problems = problemsOf({ WS_DSOCK_PORT: '6000', WS_DSOCK_TOKEN: 't', WS_PHILOTE_PORT: '6000', WS_PHILOTE_SECRET: 's' });
  assert.deepEqual(problems, ['WS_PHILOTE_PORT="6000": expected a port other than WS_DSOCK_PORT\'s']);
});

test('Philote: secret required, max connections 255 by default, origin check off by default', () => {
  assert.deepEqual(problemsOf({ WS_PHILOTE_PORT: '6380' }), ['WS_PHILOTE_SECRET is not set: expected the secret Philote access keys (JWTs) are signed with (WS_PHILOTE_PORT is set)']);
  assert.deepEqual(loadConfig({ ...base, WS_PHILOTE_PORT: '6380', WS_PHILOTE_SECRET: 's' }).seeds.philote, { port: 6380, secret: 's', maxConnections: 255, checkOrigin: false });
  const custom = loadConfig({ ...base, WS_PHILOTE_PORT: '6380', WS_PHILOTE_SECRET: 's', WS_PHILOTE_MAX_CONNECTIONS: '10', WS_PHILOTE_CHECK_ORIGIN: 'true' }).seeds.philote;
  assert.equal(custom?.maxConnections, 10);
  assert.equal(custom?.checkOrigin, true);
  assert.deepEqual(problemsOf({ WS_PHILOTE_PORT: '6380', WS_PHILOTE_SECRET: 's', WS_PHILOTE_MAX_CONNECTIONS: '0' }), ['WS_PHILOTE_MAX_CONNECTIONS="0": expected a whole number from 1 to 10000000']);
});

test('notiflux: the key is required, read from base64 of a PEM, and must be P-256', async () => {
  assert.deepEqual(problemsOf({ WS_NOTIFLUX_PORT: '8080' }), ['WS_NOTIFLUX_JWT_PUBLIC_KEY_B64 is not set: expected the base64 of the PEM public key notiflux tokens are verified with (WS_NOTIFLUX_PORT is set)']);
  const pem = await readFile(new URL('public_key.pem', fixtures), 'utf8');
  const config = loadConfig({ ...base, WS_NOTIFLUX_PORT: '8080', WS_NOTIFLUX_JWT_PUBLIC_KEY_B64: Buffer.from(pem).toString('base64') });
  assert.equal(config.seeds.notiflux?.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  const problems = problemsOf({ WS_NOTIFLUX_PORT: '8080', WS_NOTIFLUX_JWT_PUBLIC_KEY_B64: 'SGVsbG8hCg==' });
  assert.equal(problems.length, 1);
  assert.match(problems[0] as string, /^WS_NOTIFLUX_JWT_PUBLIC_KEY_B64="SGVsbG8hCg==": expected a PEM public key/);
});

test('Driplet: the config path is required and the file is read with its overrides', async () => {
  assert.deepEqual(problemsOf({ WS_DRIPLET_PORT: '4719' }), ['WS_DRIPLET_CONFIG is not set: expected the path of Driplet\'s config.toml (WS_DRIPLET_PORT is set)']);
  const dir = await mkdtemp(join(tmpdir(), 'driplet-'));
  const missing = join(dir, 'none.toml');
  assert.deepEqual(problemsOf({ WS_DRIPLET_PORT: '4719', WS_DRIPLET_CONFIG: missing }), [`WS_DRIPLET_CONFIG=${JSON.stringify(missing)}: cannot read the file (ENOENT); expected Driplet's config.toml`]);
  const path = join(dir, 'config.toml');
  await writeFile(path, '[Endpoints.Web]\nName = "web"\nAPISecret = "a"\nJWTSecret = "j"\n');
  const config = loadConfig({ ...base, WS_DRIPLET_PORT: '4719', WS_DRIPLET_CONFIG: path, DRIPLET_ENDPOINTS_WEB_APISECRET: 'override' });
  assert.equal(config.seeds.driplet?.configPath, path);
  assert.deepEqual(config.seeds.driplet?.config.endpoints.get('web'), { name: 'web', displayName: 'web', apiSecret: 'override', jwtSecret: 'j' });
  await writeFile(path, '[Endpoints.web]\nName = "web"\n');
  assert.deepEqual(problemsOf({ WS_DRIPLET_PORT: '4719', WS_DRIPLET_CONFIG: path }), [
    `WS_DRIPLET_CONFIG=${JSON.stringify(path)}: Endpoints.web.APISecret is empty (or unset): expected the secret publishers sign with (or DRIPLET_ENDPOINTS_WEB_APISECRET)`,
    `WS_DRIPLET_CONFIG=${JSON.stringify(path)}: Endpoints.web.JWTSecret is empty (or unset): expected the secret client tokens are signed with (or DRIPLET_ENDPOINTS_WEB_JWTSECRET)`,
  ]);
});

test('only seed listeners: neither WS_AUTH_URL nor WS_LOGIN is needed, and the main port serves probes only', () => {
  const config = loadConfig({ WS_PHILOTE_PORT: '6380', WS_PHILOTE_SECRET: 's' });
  assert.equal(config.seedOnly, true);
  assert.equal(config.seeds.philote?.port, 6380);
  // With WS_AUTH_URL or WS_LOGIN set, the main app is meant: its settings are required as ever.
  assert.equal(loadConfig({ ...base, WS_PHILOTE_PORT: '6380', WS_PHILOTE_SECRET: 's' }).seedOnly, false);
  assert.throws(() => loadConfig({ WS_LOGIN: 'l', WS_PASSWORD: 'p', WS_PHILOTE_PORT: '6380', WS_PHILOTE_SECRET: 's' }), (err: unknown) => err instanceof ConfigError && err.problems.some((p) => p.startsWith('WS_AUTH_URL')));
  // Without a seed port, nothing changes: WS_AUTH_URL and WS_LOGIN are required.
  assert.throws(() => loadConfig({}), (err: unknown) => err instanceof ConfigError && err.problems.some((p) => p.startsWith('WS_AUTH_URL')) && err.problems.some((p) => p.startsWith('WS_LOGIN')));
});
