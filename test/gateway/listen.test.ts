// The listen port: a second gateway on a served port stops with exit 2 instead of sharing it
// (uWS binds with SO_REUSEPORT by default), unless every process opts in with WS_REUSE_PORT.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { access, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startExpectingFailure, startGateway } from '../helpers/gateway.js';
import { freePort, holdPort } from '../helpers/ports.js';

const AUTH = 'http://127.0.0.1:9/auth';
// The first gateway gets a fixed port: Linux never lets another socket join a port the kernel
// picked for WS_PORT=0, SO_REUSEPORT or not, which would hide the defect.

test('a second gateway on a port already served exits 2 naming WS_PORT, and leaves its state file alone', { timeout: 20_000 }, async () => {
  const first = await startGateway({ WS_AUTH_URL: AUTH, WS_PORT: String(await freePort()) });
  try {
    const dir = await mkdtemp(join(tmpdir(), 'octoway-listen-'));
    const file = join(dir, 'held.json');
    const state = JSON.stringify({ format: 'octoway-held-messages', version: 1, savedAt: new Date().toISOString(), messages: [] });
    await writeFile(file, state);
    const second = await startExpectingFailure({ WS_AUTH_URL: AUTH, WS_LOGIN: 'a', WS_PASSWORD: 'b', WS_PORT: String(first.port), WS_STATE_FILE: file });
    assert.equal(second.exitCode, 2);
    assert.match(second.stderr, new RegExp(`^octoway: WS_PORT ${first.port} is already in use on WS_HOST 127\\.0\\.0\\.1 .*WS_REUSE_PORT=true`, 'm'));
    assert.doesNotMatch(second.stderr, /\n\s+at /, 'no stack trace');
    assert.equal(await readFile(file, 'utf8'), state, 'the state file is not marked loaded by a start that failed');
    await assert.rejects(access(`${file}.loaded`));
    assert.equal((await first.request('GET', '/healthz', { auth: false })).status, 200);
  } finally {
    assert.equal(await first.stop(), 0);
  }
});

test('a port held by another program (not uWS) also exits 2 with PORT_IN_USE, with or without WS_REUSE_PORT', async () => {
  const { port, server: holder } = await holdPort();
  try {
    for (const reuse of ['false', 'true']) {
      const r = await startExpectingFailure({ WS_AUTH_URL: AUTH, WS_LOGIN: 'a', WS_PASSWORD: 'b', WS_PORT: String(port), WS_REUSE_PORT: reuse });
      assert.equal(r.exitCode, 2);
      assert.match(r.stderr, new RegExp(`^octoway: WS_PORT ${port} is already in use`, 'm'));
    }
  } finally {
    holder.close();
  }
});

test('with WS_REUSE_PORT=true on both, two gateways share a port', async () => {
  const first = await startGateway({ WS_AUTH_URL: AUTH, WS_REUSE_PORT: 'true', WS_PORT: String(await freePort()) });
  try {
    const second = await startGateway({ WS_AUTH_URL: AUTH, WS_REUSE_PORT: 'true', WS_PORT: String(first.port) });
    try {
      assert.equal(second.port, first.port);
      assert.equal((await second.request('GET', '/healthz', { auth: false })).status, 200);
    } finally {
      assert.equal(await second.stop(), 0);
    }
  } finally {
    assert.equal(await first.stop(), 0);
  }
});
