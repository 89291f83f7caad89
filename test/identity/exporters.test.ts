// Exporters: the Goctopus default, dot paths, and operator modules, alone and through forward auth.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { ExportShapeError, loadExporter, normalizeExport } from '../../src/identity/exporters.js';
import { createForwardPipeline } from '../../src/identity/pipeline.js';
import { OctowayError } from '../../src/errors.js';
import { captureLogger, forwardOptions, json, startAuthBackend, summary, upgradeRequest } from '../helpers/auth-backend.js';

const request = upgradeRequest('room=7');
const dir = await mkdtemp(join(tmpdir(), 'octoway-exporters-'));
const backend = await startAuthBackend();
after(async () => {
  await backend.close();
  await rm(dir, { recursive: true, force: true });
});

async function moduleFile(name: string, source: string): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, source);
  return file;
}

async function assertConfigInvalid(spec: string, mentions: string): Promise<void> {
  await assert.rejects(loadExporter(spec), (err) => {
    assert.ok(err instanceof OctowayError);
    assert.equal(err.code, 'CONFIG_INVALID');
    assert.match(err.message, /^WS_AUTH_EXPORTER: /);
    assert.ok(err.message.includes(mentions), err.message);
    return true;
  });
}

test('goctopus takes user.email then user.organization_name, skipping empty and non-string ones', async () => {
  const exporter = await loadExporter('goctopus');
  assert.equal(await loadExporter(''), exporter, 'goctopus is the default');
  assert.deepEqual(await exporter({ user: { email: 'a@x', organization_name: 'acme' } }, request), { keys: ['a@x', 'acme'] });
  assert.deepEqual(await exporter({ user: { email: 'same', organization_name: 'same' } }, request), { keys: ['same'] });
  assert.deepEqual(await exporter({ user: { email: '', organization_name: 5 } }, request), { keys: [] });
  for (const body of [null, [], 'x', { user: 'a' }, { email: 'a' }]) {
    assert.deepEqual(await exporter(body, request), { keys: [] });
  }
});

test('paths: follows dot paths, expands arrays, stringifies numbers, skips objects and null', async () => {
  const exporter = await loadExporter('paths: user.id , teams,org.name,missing.x,meta,nothing,constructor,teams.0');
  const body = { user: { id: 42 }, teams: ['red', 7, { n: 1 }, null, 'red', ''], org: { name: 'acme' }, meta: { a: 1 }, nothing: null };
  assert.deepEqual(await exporter(body, request), { keys: ['42', 'red', '7', 'acme'] });
});

test('a bad paths: spec is CONFIG_INVALID', async () => {
  for (const spec of ['paths:', 'paths:a,,b', 'paths:a..b', 'paths:.a']) await assertConfigInvalid(spec, 'paths:');
});

test('a module exporter may return an array or { keys, claims }, sync or async, and sees the request', async () => {
  const arrayFile = await moduleFile('array.mjs', 'export default (body, req) => [body.sub, req.query, body.sub, ""];');
  const objectFile = await moduleFile('object.mjs',
    'export default async (body) => ({ keys: [`user:${body.sub}`], claims: { role: body.role } });');
  const fromArray = await loadExporter(relative(process.cwd(), arrayFile));
  assert.deepEqual(await fromArray({ sub: 'u1' }, request), { keys: ['u1', 'room=7'] });
  const fromObject = await loadExporter(objectFile);
  assert.deepEqual(await fromObject({ sub: 'u1', role: 'admin' }, request), { keys: ['user:u1'], claims: { role: 'admin' } });
});

test('a module that cannot be loaded or has no default function is CONFIG_INVALID', async () => {
  await assertConfigInvalid(join(dir, 'absent.mjs'), 'absent.mjs');
  await assertConfigInvalid(await moduleFile('syntax.mjs', 'export default (=> 1;'), 'syntax.mjs');
  await assertConfigInvalid(await moduleFile('named.mjs', 'export const exporter = () => [];'), 'no default export function');
  await assertConfigInvalid(await moduleFile('value.mjs', 'export default ["a"];'), 'no default export function');
});

test('normalising rejects garbage and keeps good keys literally', () => {
  assert.deepEqual(normalizeExport([' A ', 'a', 'A ', ' A ']), { keys: [' A ', 'a', 'A '] });
  assert.deepEqual(normalizeExport({ keys: [], claims: {} }), { keys: [], claims: {} });
  for (const garbage of [undefined, null, 'a', 5, {}, { keys: 'a' }, ['a', 1], [null], { keys: ['a'], claims: [] }, { keys: ['a'], claims: 'x' }]) {
    assert.throws(() => normalizeExport(garbage), ExportShapeError, JSON.stringify(garbage));
  }
});

test('duplicates and empty keys go in first-seen order, for few keys and for many', () => {
  assert.deepEqual(normalizeExport(['b', '', 'a', 'b', 'a']), { keys: ['b', 'a'] });
  const many = Array.from({ length: 40 }, (_, i) => `k${i % 25}`);
  assert.deepEqual(normalizeExport(['', ...many, '']).keys, Array.from({ length: 25 }, (_, i) => `k${i}`));
});

test('through forward auth, a module exporter\'s keys and claims reach the result', async () => {
  const file = await moduleFile('claims.mjs', 'export default (body) => ({ keys: body.rooms, claims: { sub: body.sub } });');
  backend.setHandler((_req, res) => json(res, 200, { sub: 'u9', rooms: ['r1', 'r2'] }));
  const { logger } = captureLogger();
  const auth = createForwardPipeline(await forwardOptions(backend.url, { exporter: await loadExporter(file) }), logger);
  const result = await auth.authenticate(request, new AbortController().signal);
  await auth.close();
  assert.deepEqual(summary(result), { ok: true, keys: ['r1', 'r2'], claims: { sub: 'u9' } });
});

test('through forward auth, a paths: exporter turns the body into keys', async () => {
  backend.setHandler((_req, res) => json(res, 200, { account: { id: 12, groups: ['g1', 'g2'] } }));
  const { logger } = captureLogger();
  const exporter = await loadExporter('paths:account.id,account.groups');
  const auth = createForwardPipeline(await forwardOptions(backend.url, { exporter }), logger);
  const result = await auth.authenticate(request, new AbortController().signal);
  await auth.close();
  assert.deepEqual(summary(result), { ok: true, keys: ['12', 'g1', 'g2'] });
});
