// A stop must not hang when stdout is a pipe whose reader has gone (`npm start | tee` ended by the
// same Ctrl-C, a log shipper that crashed): pino's default asynchronous stream retried the write of
// its last lines every 100 ms for ever at exit, past WS_SHUTDOWN_TIMEOUT, until SIGKILL.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';

const LOG_MODULE = new URL('../../src/log.js', import.meta.url).href;

test('the process exits when it logs and exits with stdout a broken pipe', async () => {
  // Two lines then exit: the first is being written when the second is queued, which is what the
  // exit-time flush retried for ever.
  const code = `import { createLogger } from ${JSON.stringify(LOG_MODULE)};
const log = createLogger('info'); log.info('one'); log.info('two'); process.exit(0);`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.destroy(); // the reader is gone before the first line
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  const guard = setTimeout(() => child.kill('SIGKILL'), 10_000);
  const [exitCode, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
  clearTimeout(guard);
  assert.equal(signal, null, 'killed by the guard: the exit hung on the broken pipe');
  assert.equal(exitCode, 0, stderr);
});
