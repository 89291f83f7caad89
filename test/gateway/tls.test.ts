// WS_TLS_CERT / WS_TLS_KEY against the real gateway: wss:// and https:// served directly, and every
// bad file (missing, unreadable, not PEM, a key of another certificate, one variable alone) stops the
// start with exit code 2 and a line naming the variable, the file and TLS_FILE_INVALID.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { request } from 'node:https';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { BASIC, MAIN, startExpectingFailure, withGateway } from '../helpers/gateway.js';

const FIXTURES = fileURLToPath(new URL('../../../test/fixtures/tls/', import.meta.url));
const CERT = join(FIXTURES, 'server.crt');
const KEY = join(FIXTURES, 'server.key');
const CA = await readFile(join(FIXTURES, 'ca.crt'));
const BASE = { WS_AUTH_URL: 'http://127.0.0.1:9/auth', WS_LOGIN: 'l', WS_PASSWORD: 'p' };

function httpsRequest(port: number, method: string, path: string, body?: string): Promise<{ status: number; json: any }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, ca: CA, headers: { authorization: BASIC, 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => { text += d.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: text === '' ? undefined : JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('with WS_TLS_CERT and WS_TLS_KEY: a wss:// socket receives what an https:// POST publishes', async () => {
  await withGateway({ WS_TLS_CERT: CERT, WS_TLS_KEY: KEY }, async (gw) => {
    assert.equal((await httpsRequest(gw.port, 'GET', '/healthz')).status, 200);
    const ws = new WebSocket(`wss://127.0.0.1:${gw.port}/ws?email=ann`, { ca: CA });
    const first = new Promise<unknown>((resolve) => ws.once('message', (data) => resolve(JSON.parse(data.toString()))));
    await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
    const published = await httpsRequest(gw.port, 'POST', '/', JSON.stringify({ key: 'ann', value: 'over tls' }));
    assert.equal(published.status, 202);
    assert.equal(published.json.delivered, 1);
    assert.equal(((await first) as { payload: unknown }).payload, 'over tls');
    // Plain HTTP on the TLS port gets no answer a client could take for the API's.
    await assert.rejects(fetch(`${gw.http}/healthz`));
    const closed = new Promise((resolve) => ws.once('close', resolve));
    ws.close();
    await closed;
    await gw.waitForLog((l) => l.msg === 'TLS: serving wss:// and https://' && l.subject === 'CN=127.0.0.1');
    assert.equal(await gw.stop(), 0, 'a graceful stop closes the TLS listen socket and exits 0');
  });
});

test('--healthcheck probes https:// when WS_TLS_CERT and WS_TLS_KEY are set (the certificate names the public host, so it is not verified)', async () => {
  await withGateway({ WS_TLS_CERT: CERT, WS_TLS_KEY: KEY }, async (gw) => {
    const probe = async (env: Record<string, string>): Promise<{ code: number | null; stderr: string }> => {
      const child = spawn(process.execPath, [MAIN, '--healthcheck'], { env: { PATH: process.env.PATH, WS_PORT: String(gw.port), ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
      const [code] = (await once(child, 'exit')) as [number | null];
      return { code, stderr };
    };
    assert.deepEqual(await probe({ WS_TLS_CERT: CERT, WS_TLS_KEY: KEY }), { code: 0, stderr: '' });
    const plain = await probe({});
    assert.equal(plain.code, 1, 'plain HTTP on the TLS port is no answer');
    assert.match(plain.stderr, /^octoway: healthcheck: http:\/\/127\.0\.0\.1:\d+\/healthz: /);
  });
});

test('a bad WS_TLS_CERT or WS_TLS_KEY stops the start with exit code 2, naming the variable and the file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'octoway-tls-'));
  const garbage = join(dir, 'garbage.pem');
  await writeFile(garbage, 'not a certificate\n');
  const otherKey = join(dir, 'other.key');
  await writeFile(otherKey, generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }));
  const cases: Array<[string, Record<string, string>, RegExp]> = [
    ['missing certificate', { WS_TLS_CERT: join(dir, 'none.crt'), WS_TLS_KEY: KEY }, /^octoway: WS_TLS_CERT=.*none\.crt: no such file \(TLS_FILE_INVALID\)$/m],
    ['missing key', { WS_TLS_CERT: CERT, WS_TLS_KEY: join(dir, 'none.key') }, /^octoway: WS_TLS_KEY=.*none\.key: no such file \(TLS_FILE_INVALID\)$/m],
    ['a directory', { WS_TLS_CERT: dir, WS_TLS_KEY: KEY }, /^octoway: WS_TLS_CERT=.*: it is a directory \(TLS_FILE_INVALID\)$/m],
    ['not PEM', { WS_TLS_CERT: garbage, WS_TLS_KEY: KEY }, /^octoway: WS_TLS_CERT=.*garbage\.pem: not a PEM certificate \(TLS_FILE_INVALID\)$/m],
    ['a certificate as the key', { WS_TLS_CERT: CERT, WS_TLS_KEY: CERT }, /^octoway: WS_TLS_KEY=.*server\.crt: not an unencrypted PEM private key \(TLS_FILE_INVALID\)$/m],
    ['the key of another certificate', { WS_TLS_CERT: CERT, WS_TLS_KEY: otherKey }, /^octoway: WS_TLS_KEY=.*other\.key is not the private key of the certificate in WS_TLS_CERT=.*server\.crt \(TLS_FILE_INVALID\)$/m],
    ['the certificate alone', { WS_TLS_CERT: CERT }, /^octoway: WS_TLS_KEY is not set: expected the private key file \(PEM\) that goes with WS_TLS_CERT$/m],
    ['the key alone', { WS_TLS_KEY: KEY }, /^octoway: WS_TLS_CERT is not set: expected the certificate file \(PEM\) that goes with WS_TLS_KEY$/m],
  ];
  // Each start is its own process: run them together.
  await Promise.all(cases.map(async ([name, env, line]) => {
    const { exitCode, stderr } = await startExpectingFailure({ ...BASE, ...env });
    assert.equal(exitCode, 2, `${name}: ${stderr}`);
    assert.match(stderr, line, name);
    assert.doesNotMatch(stderr, /\n\s+at /, `${name}: no stack trace`);
  }));
});

test('an unreadable WS_TLS_KEY stops the start with exit code 2', { skip: process.getuid?.() === 0 ? 'root reads any file' : false }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'octoway-tls-'));
  const key = join(dir, 'server.key');
  await writeFile(key, await readFile(KEY), { mode: 0o000 });
  const { exitCode, stderr } = await startExpectingFailure({ ...BASE, WS_TLS_CERT: CERT, WS_TLS_KEY: key });
  assert.equal(exitCode, 2);
  assert.match(stderr, /^octoway: WS_TLS_KEY=.*server\.key: this user may not read it \(TLS_FILE_INVALID\)$/m);
});
