// Under forward auth a socket has a user only when the exporter gives a subject (docs/authentication.md,
// "Users and sessions"): with the default goctopus exporter a user target reaches nothing; with the
// exporter that page shows (read from the page itself, so the documented code is the tested code)
// user publishes and disconnects reach the socket, and its session is the backend's `session`.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { json } from '../helpers/auth-backend.js';
import { withGateway } from '../helpers/gateway.js';
import { connect } from '../helpers/client.js';

const root = new URL('../../../', import.meta.url);
const dir = await mkdtemp(join(tmpdir(), 'octoway-forward-subject-'));
after(() => rm(dir, { recursive: true, force: true }));

const page = await readFile(new URL('docs/authentication.md', root), 'utf8');
const block = /```js\n(\/\/ exporter\.mjs \(WS_AUTH_EXPORTER=[^\n]*\n[\s\S]*?)```/.exec(page)?.[1];
assert.ok(block !== undefined, 'docs/authentication.md shows the subject exporter');
const exporter = join(dir, 'exporter.mjs');
await writeFile(exporter, block);

/** Goctopus's answer for ?email=, with `session` beside `user` when ?session= is given. */
const backend = (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse): void => {
  const query = new URL(String(req.headers['x-forwarded-uri'] ?? '/'), 'http://x').searchParams;
  const session = query.get('session');
  json(res, 200, { user: { email: query.get('email'), organization_name: 'acme' }, ...(session === null ? {} : { session }) });
};

test('the goctopus exporter gives no user: a user publish is held, a user disconnect closes nothing', async () => {
  await withGateway({}, async (gw, auth) => {
    auth.setHandler(backend);
    const socket = await connect(gw.ws('/ws?email=carol@example.com'));
    const listed = await gw.request('GET', '/connections?key=carol@example.com');
    assert.equal(listed.json.connections[0].user, null);
    assert.deepEqual((await gw.publish({ user: 'carol@example.com', value: 'to user' })).json.held, 1);
    assert.equal((await gw.request('POST', '/disconnect', { body: JSON.stringify({ user: 'carol@example.com' }) })).json.closed, 0);
    await socket.close();
  });
});

test('the documented exporter gives the email as the user and the backend\'s session: user targets reach the socket', async () => {
  await withGateway({ WS_AUTH_EXPORTER: exporter }, async (gw, auth) => {
    auth.setHandler(backend);
    const tab = await connect(gw.ws('/ws?email=carol@example.com&session=tab-2'));
    const plain = await connect(gw.ws('/ws?email=carol@example.com'));
    const listed = (await gw.request('GET', '/connections?user=carol@example.com')).json.connections as Array<{ user: string; session: string | null; keys: string[] }>;
    assert.deepEqual(listed.map((v) => [v.user, v.session, v.keys]).sort(),
      [['carol@example.com', 'tab-2', ['carol@example.com', 'acme']], ['carol@example.com', null, ['carol@example.com', 'acme']]].sort());
    assert.equal((await gw.publish({ user: 'carol@example.com', session: 'tab-2', value: 'to tab' })).json.delivered, 1);
    assert.equal((await gw.publish({ user: 'carol@example.com', value: 'to user' })).json.delivered, 2);
    assert.deepEqual((await tab.waitForFrames(2)).map((f) => f.payload), ['to tab', 'to user']);
    assert.deepEqual((await plain.waitForFrames(1)).map((f) => f.payload), ['to user']);
    const closed = await gw.request('POST', '/disconnect', { body: JSON.stringify({ user: 'carol@example.com' }), headers: { 'content-type': 'application/json' } });
    assert.equal(closed.json.closed, 2);
    assert.equal(await tab.closed, 4002);
    assert.equal(await plain.closed, 4002);
  });
});
