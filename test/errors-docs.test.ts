// The error registry and docs/errors.md must list the same codes with the same statuses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { ERRORS } from '../src/errors.js';
import { DEFAULTS } from '../src/config.js';

const root = new URL('../../', import.meta.url);

test('docs/errors.md documents every code in src/errors.ts, with its status, and nothing else', async () => {
  const doc = await readFile(new URL('docs/errors.md', root), 'utf8');
  const documented = new Map([...doc.matchAll(/^\| `([A-Z_]+)` \| (\d{3}) \|/gm)].map((m) => [m[1], Number(m[2])]));
  const registry = new Map(Object.entries(ERRORS).map(([code, spec]) => [code, spec.status]));
  assert.deepEqual(Object.fromEntries(documented), Object.fromEntries(registry));
});

test('the README configuration table lists every variable with its default', async () => {
  const readme = await readFile(new URL('README.md', root), 'utf8');
  for (const [name, value] of Object.entries(DEFAULTS)) {
    const row = new RegExp(`^\\| \`${name}\` \\| ([^|]+) \\|`, 'm').exec(readme);
    assert.ok(row, `${name} is missing from the README's configuration table`);
    const shown = (row[1] as string).trim();
    if (value !== '') assert.equal(shown, `\`${value}\``, `${name}'s default in the README`);
  }
});
