// WS_STATE_FILE against the real process: refused at start when it cannot be written, and never
// dropped silently at shutdown.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { defaultHandler, startAuthBackend } from '../helpers/auth-backend.js';
import { startExpectingFailure, startGateway } from '../helpers/gateway.js';

const BASE = { WS_AUTH_URL: 'http://127.0.0.1:9/', WS_LOGIN: 'a', WS_PASSWORD: 'b' };

test('a WS_STATE_FILE in a directory that does not exist stops the start with exit 2', { timeout: 15_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'octoway-state-'));
  const { exitCode, stderr } = await startExpectingFailure({ ...BASE, WS_STATE_FILE: join(dir, 'missing', 'held.json') });
  assert.equal(exitCode, 2);
  assert.match(stderr, /^octoway: WS_STATE_FILE .*missing\/held\.json cannot be written: its directory .*missing does not exist/m);
});

test('a WS_STATE_FILE under a regular file, or naming a directory, stops the start with exit 2', { timeout: 15_000 }, async () => {
  // Tests run as root, whom permission bits do not stop: a path through a regular file does.
  const dir = await mkdtemp(join(tmpdir(), 'octoway-state-'));
  await writeFile(join(dir, 'plain'), 'not a directory');
  const under = await startExpectingFailure({ ...BASE, WS_STATE_FILE: join(dir, 'plain', 'held.json') });
  assert.equal(under.exitCode, 2);
  assert.match(under.stderr, /^octoway: WS_STATE_FILE .*plain\/held\.json cannot be written: .*is not a directory/m);

  await mkdir(join(dir, 'held.json'));
  const directory = await startExpectingFailure({ ...BASE, WS_STATE_FILE: join(dir, 'held.json') });
  assert.equal(directory.exitCode, 2);
  assert.match(directory.stderr, /^octoway: WS_STATE_FILE .*held\.json cannot be written: it is a directory/m);
  assert.deepEqual((await readdir(dir)).sort(), ['held.json', 'plain'], 'the probe file is removed');
});

test('state directory removed while running: the save error is logged with the count, a fallback file holds the messages, exit non-zero', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'octoway-state-'));
  const stateDir = join(dir, 'state');
  const fallbackDir = join(dir, 'tmp');
  await mkdir(stateDir);
  await mkdir(fallbackDir);
  const auth = await startAuthBackend();
  try {
    const gw = await startGateway({ WS_AUTH_URL: auth.url, WS_STATE_FILE: join(stateDir, 'held.json'), TMPDIR: fallbackDir });
    for (let i = 0; i < 7; i++) assert.equal((await gw.publish({ key: 'kim', value: i, ...(i === 6 ? { expire: '1h30m' } : {}) })).status, 202);
    await rm(stateDir, { recursive: true });
    const code = await gw.stop('SIGTERM');
    assert.notEqual(code, 0);
    const failed = await gw.waitForLog((l) => l.msg === 'held messages could not be saved to WS_STATE_FILE');
    assert.equal(failed.level, 50);
    assert.equal(failed.messages, 7);
    assert.match(JSON.stringify(failed.err), /ENOENT/);
    const saved = await gw.waitForLog((l) => /fallback file instead/.test(l.msg));
    assert.equal(saved.messages, 7);
    assert.ok((saved.file as string).startsWith(fallbackDir));
    const state = JSON.parse(await readFile(saved.file as string, 'utf8')) as { format: string; messages: Array<{ key: string }> };
    assert.equal(state.format, 'octoway-held-messages');
    assert.equal(state.messages.length, 7);
    assert.ok(state.messages.every((m) => m.key === 'kim'));
  } finally {
    await auth.close();
  }
});

test('WS_SHUTDOWN_TIMEOUT passing while an auth call hangs: the held messages are saved before the exit, the log says how many, a restart loads them', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'octoway-state-'));
  const file = join(dir, 'held.json');
  // An upgrade whose auth call never gets an answer: undici's pool.close() in the graceful stop
  // waits for it (WS_AUTH_TIMEOUT is a minute), so the stop runs past WS_SHUTDOWN_TIMEOUT.
  const auth = await startAuthBackend((req, res) => {
    if (!String(req.headers['x-forwarded-uri']).includes('hang')) defaultHandler(req, res);
  });
  const env = { WS_AUTH_URL: auth.url, WS_STATE_FILE: file, WS_AUTH_TIMEOUT: '60s', WS_SHUTDOWN_TIMEOUT: '300ms' };
  let hanging: WebSocket | undefined;
  try {
    const gw = await startGateway(env);
    for (let i = 0; i < 7; i++) assert.equal((await gw.publish({ key: 'kim', value: i, ...(i === 6 ? { expire: '1h30m' } : {}) })).status, 202);
    hanging = new WebSocket(gw.ws('/ws?hang=1'));
    hanging.on('error', () => undefined);
    await auth.waitForRequests(1);
    assert.equal(await gw.stop('SIGTERM'), 1);
    const deadline = await gw.waitForLog((l) => /^shutdown took longer than WS_SHUTDOWN_TIMEOUT/.test(l.msg));
    assert.equal(deadline.held, 7);
    assert.equal(deadline.savedTo, file);
    assert.ok(!gw.logs.some((l) => l.msg === 'stopped'), 'the graceful stop did not finish: the deadline is what was tested');
    const state = JSON.parse(await readFile(file, 'utf8')) as { messages: Array<{ key: string }> };
    assert.equal(state.messages.length, 7);

    const again = await startGateway(env);
    try {
      assert.equal((await again.waitForLog((l) => l.msg === 'held messages loaded')).messages, 7);
      const held = (await again.request('GET', '/?key=kim')).json as Array<{ payload: unknown; exp: string }>;
      assert.deepEqual(held.map((m) => m.payload), [0, 1, 2, 3, 4, 5, 6]);
      assert.deepEqual(held.map((m) => m.exp), ['30m', '30m', '30m', '30m', '30m', '30m', '1h30m'], 'exp survives the restart');
    } finally {
      await again.stop();
    }
  } finally {
    hanging?.terminate();
    await auth.close();
  }
});

test('WS_SHUTDOWN_TIMEOUT passing with the state directory removed: the deadline save goes to the fallback file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'octoway-state-'));
  const stateDir = join(dir, 'state');
  const fallbackDir = join(dir, 'tmp');
  await mkdir(stateDir);
  await mkdir(fallbackDir);
  const auth = await startAuthBackend(() => undefined); // every auth call hangs
  let hanging: WebSocket | undefined;
  try {
    const gw = await startGateway({ WS_AUTH_URL: auth.url, WS_STATE_FILE: join(stateDir, 'held.json'), TMPDIR: fallbackDir, WS_AUTH_TIMEOUT: '60s', WS_SHUTDOWN_TIMEOUT: '300ms' });
    for (let i = 0; i < 3; i++) assert.equal((await gw.publish({ key: 'kim', value: i })).status, 202);
    hanging = new WebSocket(gw.ws('/ws'));
    hanging.on('error', () => undefined);
    await auth.waitForRequests(1);
    await rm(stateDir, { recursive: true });
    assert.equal(await gw.stop('SIGTERM'), 1);
    const deadline = await gw.waitForLog((l) => /^shutdown took longer than WS_SHUTDOWN_TIMEOUT/.test(l.msg));
    assert.equal(deadline.held, 3);
    assert.ok((deadline.savedTo as string).startsWith(fallbackDir), `saved to ${String(deadline.savedTo)}`);
    const state = JSON.parse(await readFile(deadline.savedTo as string, 'utf8')) as { messages: unknown[] };
    assert.equal(state.messages.length, 3);
  } finally {
    hanging?.terminate();
    await auth.close();
  }
});
