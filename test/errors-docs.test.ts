// The error registry and docs/errors.md must list the same codes with the same statuses; the close
// codes and their ranges must agree with docs/protocol.md.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { CLOSE_CODES, CLOSE_RANGES, closeKind } from '../src/errors.js';
import { ERRORS } from '../src/errors.js';
import { DEFAULTS } from '../src/config.js';

const root = new URL('../../', import.meta.url);

test('docs/errors.md documents every code in src/errors.ts, with its status, and nothing else', async () => {
  const doc = await readFile(new URL('docs/errors.md', root), 'utf8');
  const documented = new Map([...doc.matchAll(/^\| `([A-Z_]+)` \| (\d{3}) \|/gm)].map((m) => [m[1], Number(m[2])]));
  const registry = new Map(Object.entries(ERRORS).map(([code, spec]) => [code, spec.status]));
  assert.deepEqual(Object.fromEntries(documented), Object.fromEntries(registry));
});

test('docs/protocol.md lists every close code in src/errors.ts with its kind, and nothing else', async () => {
  const doc = await readFile(new URL('docs/protocol.md', root), 'utf8');
  const documented = new Map([...doc.matchAll(/^\| (\d{4}) \| (reconnect|terminal) \|/gm)].map((m) => [Number(m[1]), m[2]]));
  const registry = new Map(Object.values(CLOSE_CODES).map((spec) => [spec.code as number, spec.kind as string]));
  assert.equal(registry.size, Object.keys(CLOSE_CODES).length, 'each close code is registered once');
  assert.deepEqual(Object.fromEntries(documented), Object.fromEntries(registry));
});

test('docs/protocol.md states the reconnect and terminal ranges of src/errors.ts, and Octoway\'s codes sit in theirs', async () => {
  const doc = await readFile(new URL('docs/protocol.md', root), 'utf8');
  const ranges = Object.fromEntries([...doc.matchAll(/^\| (\d{4})-(\d{4}) \| (reconnect|terminal) \|/gm)].map((m) => [m[3], { from: Number(m[1]), to: Number(m[2]) }]));
  assert.deepEqual(ranges, CLOSE_RANGES);
  for (const spec of Object.values(CLOSE_CODES)) {
    if (spec.code >= 4000) assert.ok(spec.code >= CLOSE_RANGES[spec.kind].from && spec.code <= CLOSE_RANGES[spec.kind].to, `${spec.code} is outside the ${spec.kind} range`);
    assert.equal(closeKind(spec.code), spec.kind);
  }
  assert.equal(closeKind(4321), 'reconnect');
  assert.equal(closeKind(4600), 'terminal');
  assert.equal(closeKind(3000), undefined);
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
