// `npm run demo` as a new user meets it: the browser snippet it prints works from the page it
// names, and a taken port is one clear line and exit 1, not a stack trace.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { connect } from '../helpers/client.js';
import { freePort, holdPort } from '../helpers/ports.js';

const DEMO = fileURLToPath(new URL('../../demo/run.js', import.meta.url));

function startDemo(ports: { auth: number; gateway: number }) {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) if (!name.startsWith('WS_') && name !== 'LOG_LEVEL') env[name] = value;
  Object.assign(env, { DEMO_AUTH_PORT: String(ports.auth), WS_PORT: String(ports.gateway) });
  const child = spawn(process.execPath, [DEMO], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  const exited = once(child, 'exit') as Promise<[number | null]>;
  const waitForStdout = (pattern: RegExp, timeoutMs = 10_000): Promise<RegExpExecArray> => new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${pattern} in ${timeoutMs} ms; stdout:\n${stdout}`)), timeoutMs);
    const check = (): void => {
      const match = pattern.exec(stdout);
      if (match === null) return;
      clearTimeout(timer);
      child.stdout.off('data', check);
      resolve(match);
    };
    child.stdout.on('data', check);
    void exited.then(([code]) => { clearTimeout(timer); reject(new Error(`demo exited with ${code}; stdout:\n${stdout}\nstderr:\n${stderr}`)); });
    check();
  });
  return { child, exited, waitForStdout, stderr: () => stderr };
}

test('the browser snippet works from the page the demo tells the user to paste it in', { timeout: 20_000 }, async () => {
  const demo = startDemo({ auth: await freePort(), gateway: await freePort() });
  try {
    const [, page] = await demo.waitForStdout(/open (http:\/\/\S+\/) in a browser/);
    const [, url] = await demo.waitForStdout(/new WebSocket\('([^']+)'\)/);
    await demo.waitForStdout(/"msg":"listening"/);
    const html = await fetch(page!);
    assert.equal(html.status, 200);
    assert.match(await html.text(), /new WebSocket/);
    // A browser on that page sends its origin; the gateway must accept it.
    const socket = await connect(url!, { origin: new URL(page!).origin });
    const [, login, password, body, target] = await demo.waitForStdout(/curl -u (\S+):(\S+) -d '(\{"key":"alice@example\.com"[^']*)' (\S+)/);
    const r = await fetch(target!, { method: 'POST', body, headers: { authorization: `Basic ${Buffer.from(`${login}:${password}`).toString('base64')}` } });
    assert.equal(r.status, 202);
    assert.deepEqual((await socket.waitForFrames(1)).map((f) => f.payload), [{ hello: 'world' }]);
    await socket.close();
    // Another website is still refused.
    await assert.rejects(connect(url!, { origin: 'https://evil.example' }), /403/);
  } finally {
    demo.child.kill('SIGTERM');
    assert.equal((await demo.exited)[0], 0);
  }
});

for (const which of ['auth', 'gateway'] as const) {
  test(`a taken ${which} port: one line naming the port and its variable, exit 1`, { timeout: 20_000 }, async () => {
    const held = await holdPort();
    try {
      const demo = startDemo(which === 'auth' ? { auth: held.port, gateway: await freePort() } : { auth: await freePort(), gateway: held.port });
      const [code] = await demo.exited;
      assert.equal(code, 1);
      const variable = which === 'auth' ? 'DEMO_AUTH_PORT' : 'WS_PORT';
      assert.match(demo.stderr(), new RegExp(`^demo: port ${held.port} .* is taken .*${variable}`));
      assert.equal(demo.stderr().trim().split('\n').length, 1, `one line, no stack trace:\n${demo.stderr()}`);
    } finally {
      held.server.close();
    }
  });
}
