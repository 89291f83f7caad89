// `npm test` runs the *.test.js files and nothing else: Node 20's `node --test <directory>` also
// runs every .js under a directory named test (helpers, the shared contract), each counted as a test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

async function testFiles(dir: string): Promise<string[]> {
  const entries = await readdir(join(ROOT, dir), { recursive: true });
  return entries.filter((e) => e.endsWith('.test.js')).map((e) => `${dir}/${e}`).sort();
}

test('the test script hands node --test exactly the compiled *.test.js files', async () => {
  const { scripts } = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { scripts: { test: string } };
  const prefix = 'npm run build && node --test ';
  assert.ok(scripts.test.startsWith(prefix), `the README's npm test still builds, then runs node --test: ${scripts.test}`);
  // Run the script's own command line with a `node` that prints its arguments, to see what the
  // shell expands it to without running the suite inside itself.
  const bin = await mkdtemp(join(tmpdir(), 'octoway-test-cmd-'));
  await writeFile(join(bin, 'node'), '#!/bin/sh\nfor a in "$@"; do echo "$a"; done\n');
  await chmod(join(bin, 'node'), 0o755);
  const { stdout } = await promisify(execFile)('sh', ['-c', scripts.test.slice('npm run build && '.length)], {
    cwd: ROOT, env: { ...process.env, PATH: `${bin}:${process.env.PATH}` },
  });
  const files = stdout.split('\n').filter((a) => a !== '' && !a.startsWith('--')).sort();
  assert.deepEqual(files, await testFiles('dist/test'));
  assert.ok(files.length > 10);
});
