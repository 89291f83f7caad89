// A Goctopus deployment's configuration, unchanged, against the real process: its variable names,
// its flags, its YAML file (flag > file > environment > default), --healthcheck and GET /version.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect } from '../helpers/client.js';
import { MAIN, startExpectingFailure, startGateway, untilRedisLive, withGateway } from '../helpers/gateway.js';
import { startAuthBackend } from '../helpers/auth-backend.js';

/** The body limit in force, read from the 413's message. */
async function bodyLimit(gw: Awaited<ReturnType<typeof startGateway>>): Promise<number> {
  const r = await gw.request('POST', '/', { body: JSON.stringify({ key: 'k', value: 'x'.repeat(300_000) }) });
  assert.equal(r.status, 413, r.text);
  return Number(/WS_MAX_BODY \((\d+) bytes\)/.exec(r.json.message)?.[1]);
}

async function yamlFile(text: string): Promise<string> {
  const file = join(await mkdtemp(join(tmpdir(), 'octoway-config-')), 'goctopus.yaml');
  await writeFile(file, text);
  return file;
}

test("a Goctopus environment starts unchanged; WS_MAX_MESSAGE_SIZE is the body limit", async () => {
  await withGateway({
    WS_WORKERS: '1024', WS_MAX_MESSAGE_SIZE: '100000', WS_PING_INTERVAL: '30s', WS_READ_TIMEOUT: '70s', WS_WRITE_TIMEOUT: '10s',
    WS_STORAGE: 'memory', WS_AUTHORIZER: 'proxy', WS_VERBOSE: '1', WS_SWEEP_INTERVAL: '1m', WS_REDIS_KEY_TTL: '24h',
    WS_RECONCILE_INTERVAL: '15s', WS_LOG_FORMAT: 'json', WS_ALLOWED_ORIGINS: '*',
  }, async (gw) => {
    assert.equal(await bodyLimit(gw), 100_000);
    assert.equal((await gw.publish({ key: 'a', value: 1 })).status, 202);
  });
});

test('flag > WS_CONFIG file > environment: the body limit from each', async () => {
  const auth = await startAuthBackend();
  const file = await yamlFile('max-message-size: "150000"\nallowed-origins:\n  - https://app.example.com\n  - https://admin.example.com\nexpire: 45m\n');
  try {
    for (const [env, args, expected] of [
      [{ WS_MAX_BODY: '64KiB' }, [], 65_536],
      [{ WS_MAX_BODY: '64KiB', WS_CONFIG: file }, [], 150_000],
      [{ WS_MAX_BODY: '64KiB', WS_CONFIG: file }, ['--max-message-size', '200000'], 200_000],
      [{ WS_MAX_BODY: '64KiB' }, [`--config=${file}`, '-max-message-size=250000'], 250_000],
    ] as const) {
      const gw = await startGateway({ WS_AUTH_URL: auth.url, ...env }, args);
      try {
        assert.equal(await bodyLimit(gw), expected, `${JSON.stringify(env)} ${args.join(' ')}`);
        if ('WS_CONFIG' in env || args.length > 1) {
          // The file's list became the comma-separated origins; its expire the default `exp`.
          const refused = await connect(gw.ws('/ws?email=a@example.com'), { origin: 'https://evil.example' }).catch((err: Error) => err);
          assert.match(String(refused), /403/);
          await gw.publish({ key: 'later', value: 1 });
          assert.equal((await gw.request('GET', '/?key=later')).json[0].exp, '45m');
        }
      } finally {
        await gw.stop();
      }
    }
  } finally {
    await auth.close();
  }
});

test('an unknown WS_CONFIG key or flag stops the start with exit 2 naming it', async () => {
  const file = await yamlFile('port: 7890\nmax-mesage-size: 10\n');
  const key = await startExpectingFailure({ WS_AUTH_URL: 'http://127.0.0.1:9/', WS_LOGIN: 'a', WS_PASSWORD: 'b', WS_CONFIG: file });
  assert.equal(key.exitCode, 2);
  assert.match(key.stderr, /unknown key "max-mesage-size"/);
  const flag = await startExpectingFailure({ WS_AUTH_URL: 'http://127.0.0.1:9/', WS_LOGIN: 'a', WS_PASSWORD: 'b' }, ['--prot', '80']);
  assert.equal(flag.exitCode, 2);
  assert.match(flag.stderr, /unknown flag "--prot"/);
  const broken = await startExpectingFailure({ WS_AUTH_URL: 'http://127.0.0.1:9/', WS_LOGIN: 'a', WS_PASSWORD: 'b', WS_CONFIG: await yamlFile('port: [1\n') });
  assert.equal(broken.exitCode, 2);
  assert.match(broken.stderr, /is not valid YAML/);
});

test('WS_AUTHORIZER=dummy needs WS_INSECURE_NO_AUTH=true, then every socket gets WS_AUTH_URL as its key', async () => {
  const refused = await startExpectingFailure({ WS_AUTHORIZER: 'dummy', WS_AUTH_URL: 'demo-user', WS_LOGIN: 'a', WS_PASSWORD: 'b' });
  assert.equal(refused.exitCode, 2);
  assert.match(refused.stderr, /WS_AUTHORIZER="dummy": expected .*WS_INSECURE_NO_AUTH=true/);
  const gw = await startGateway({ WS_AUTHORIZER: 'dummy', WS_AUTH_URL: 'demo-user', WS_INSECURE_NO_AUTH: 'true' });
  try {
    const socket = await connect(gw.ws('/ws'));
    assert.equal((await gw.publish({ key: 'demo-user', value: 'hi' })).json.delivered, 1);
    assert.deepEqual((await socket.waitForFrames(1)).map((f) => f.payload), ['hi']);
    await socket.close();
  } finally {
    await gw.stop();
  }
});

test('WS_STORAGE=redis with no WS_REDIS_URL uses Goctopus\'s redis://localhost:6379/0', async () => {
  await withGateway({ WS_STORAGE: 'redis', WS_REDIS_PREFIX: `octoway-storage-${process.pid}:` }, async (gw) => {
    await untilRedisLive(gw);
    assert.equal((await gw.publish({ key: 'r', value: 1 })).json.held, 1);
  });
});

test('--healthcheck exits 0 while the gateway on WS_PORT is up, 1 when nothing answers', async () => {
  await withGateway({}, async (gw) => {
    const probe = async (port: number): Promise<number | null> => {
      const child = spawn(process.execPath, [MAIN, '--healthcheck'], { env: { PATH: process.env.PATH, WS_PORT: String(port) }, stdio: 'ignore' });
      return ((await once(child, 'exit')) as [number | null])[0];
    };
    assert.equal(await probe(gw.port), 0);
    assert.equal(await probe(1), 1);
  });
});

test('GET /version answers {version, commit, node} without credentials', async () => {
  await withGateway({}, async (gw) => {
    const r = await gw.request('GET', '/version', { auth: false });
    assert.equal(r.status, 200);
    assert.deepEqual(Object.keys(r.json).sort(), ['commit', 'node', 'version']);
    assert.equal(r.json.node, process.version);
    assert.match(r.json.version, /^\d+\.\d+\.\d+/);
  });
  const auth = await startAuthBackend();
  const gw = await startGateway({ WS_AUTH_URL: auth.url, OCTOWAY_COMMIT: 'abc1234' });
  try {
    assert.equal((await gw.request('GET', '/version', { auth: false })).json.commit, 'abc1234');
  } finally {
    await gw.stop();
    await auth.close();
  }
});

test('WS_LOG_FORMAT=text writes Goctopus-style key=value lines', async () => {
  const child = spawn(process.execPath, [MAIN], {
    env: { PATH: process.env.PATH, WS_AUTH_URL: 'http://127.0.0.1:9/', WS_LOGIN: 'a', WS_PASSWORD: 'b', WS_HOST: '127.0.0.1', WS_PORT: '0', WS_LOG_FORMAT: 'text' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  await new Promise<void>((resolve) => child.stdout!.on('data', (d: Buffer) => { out += d.toString(); if (out.includes('msg="listening"')) resolve(); }));
  // Its exit code is not this test's concern: main.ts installs its SIGTERM handler just after the
  // "listening" line, so a signal sent on that line may find the default handler.
  child.kill('SIGTERM');
  await once(child, 'exit');
  assert.match(out, /^time=\S+ level=INFO msg="listening" service=octoway host=127\.0\.0\.1 port=\d+/m);
});

test('WS_WRITE_TIMEOUT closes a socket that takes no writes for that long, under WS_MAX_BACKPRESSURE', { timeout: 30_000 }, async () => {
  await withGateway({ WS_WRITE_TIMEOUT: '2s', WS_MAX_BACKPRESSURE: '512MiB', WS_MAX_BODY: '2MiB' }, async (gw) => {
    const socket = await connect(gw.ws('/ws?email=slow@example.com'));
    (socket.ws as unknown as { _socket: { pause(): void } })._socket.pause(); // reads nothing more
    const value = 'x'.repeat(1_000_000);
    for (let i = 0; i < 40; i++) await gw.publish({ key: 'slow@example.com', value, expire: '0' });
    const line = await gw.waitForLog((l) => /WS_WRITE_TIMEOUT/.test(l.msg), 15_000);
    assert.ok((line.closed as number) >= 1);
    socket.ws.terminate();
  });
});

test('the package has an octoway command (package.json bin, a node shebang kept by the build): `npx octoway --help` lists the flags', async () => {
  const root = fileURLToPath(new URL('../../../', import.meta.url));
  const child = spawn('npx', ['--no-install', 'octoway', '--help'], { cwd: root, env: { PATH: process.env.PATH, HOME: process.env.HOME }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  const [code] = await once(child, 'exit');
  assert.equal(code, 0);
  assert.match(out, /^Usage: octoway \[flags\]/);
  assert.match(out, /--port\s+WS_PORT/);
});
