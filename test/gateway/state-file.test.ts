// WS_STATE_FILE against the real process: refused at start when it cannot be written, and never
// dropped silently at shutdown.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAuthBackend } from '../helpers/auth-backend.js';
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
    for (let i = 0; i < 7; i++) assert.equal((await gw.publish({ key: 'kim', value: i })).status, 202);
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
