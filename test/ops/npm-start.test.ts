// `npm start` under a supervisor: SIGTERM to the npm process must stop the gateway gracefully.
// npm forwards the signal to its child, `sh -c <script>`; dash does not exec the command, so
// without `exec` in the script the shell dies and node keeps serving the port.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

test('SIGTERM to `npm start` stops the gateway gracefully and frees the port', { timeout: 30_000 }, async () => {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) if (!name.startsWith('WS_') && !name.startsWith('npm_')) env[name] = value;
  Object.assign(env, { WS_HOST: '127.0.0.1', WS_PORT: '0', WS_AUTH_URL: 'http://127.0.0.1:9/', WS_LOGIN: 'a', WS_PASSWORD: 'b', LOG_LEVEL: 'info' });
  // Its own process group, so whatever is left when the test ends can be killed as a whole.
  const npm = spawn('npm', ['start'], { cwd: ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: Array<{ msg?: string; port?: number }> = [];
  let output = '';
  const waitFor = (msg: string, timeoutMs: number): Promise<{ port?: number }> => new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "${msg}" log line in ${timeoutMs} ms; output:\n${output}`)), timeoutMs);
    const check = (): void => {
      const line = lines.find((l) => l.msg === msg);
      if (line === undefined) return;
      clearTimeout(timer);
      npm.stdout.off('data', check);
      resolve(line);
    };
    npm.stdout.on('data', check);
    check();
  });
  npm.stderr.on('data', (d: Buffer) => { output += d.toString(); });
  npm.stdout.on('data', (d: Buffer) => {
    output += d.toString();
    lines.length = 0;
    for (const text of output.split('\n')) if (text.startsWith('{')) lines.push(JSON.parse(text) as { msg?: string });
  });
  try {
    const { port } = await waitFor('listening', 15_000);
    assert.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200);
    const exited = once(npm, 'exit');
    npm.kill('SIGTERM');
    await waitFor('stopped', 10_000);
    await exited;
    const refused = await new Promise<string>((resolve) => {
      const socket = connect(port!, '127.0.0.1');
      socket.once('connect', () => { socket.destroy(); resolve('connected'); });
      socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
    });
    assert.equal(refused, 'ECONNREFUSED', 'nothing serves the port after npm exited');
  } finally {
    try {
      process.kill(-npm.pid!, 'SIGKILL');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err; // ESRCH: everything exited, as it should
    }
  }
});
