// Apps (WS_CONFIG's `apps:`, docs/apps.md) against the real gateway: the same key names in two apps
// never reach each other's sockets, live or held; each app's credentials are its own; unknown apps
// are 404; apps share one WS_WORKERS bound; a bad apps configuration stops the start with exit 2.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { connect, refusal, type TestSocket } from '../helpers/client.js';
import { BASIC, startExpectingFailure, startGateway, type GatewayProcess } from '../helpers/gateway.js';
import { json, startAuthBackend, type AuthBackend } from '../helpers/auth-backend.js';
import { nowS, sign, signingKey, type SigningKey } from '../helpers/jwt.js';
import { appsYaml, BLUE, BLUE_LOGIN, BLUE_PASSWORD, GREEN, publishTo, yamlFile } from '../helpers/apps.js';

describe('two apps and the default on one gateway', () => {
  let auth: AuthBackend;
  let gw: GatewayProcess;
  let hs: SigningKey;
  const open: TestSocket[] = [];
  const socket = async (url: string, headers: Record<string, string> = {}): Promise<TestSocket> => {
    const s = await connect(url, headers);
    open.push(s);
    return s;
  };
  const synced = async (n: number): Promise<void> => {
    await gw.waitForLog(() => gw.logs.filter((l) => l.msg === 'socket synced').length >= n);
  };

  before(async () => {
    auth = await startAuthBackend();
    hs = await signingKey('HS256');
    gw = await startGateway({ WS_AUTH_URL: auth.url, WS_CONFIG: await yamlFile(appsYaml(auth.url, hs.configured)) });
  });
  after(async () => {
    for (const s of open) await s.close();
    assert.equal(await gw.stop(), 0);
    await auth.close();
  });

  test('a publish to blue\'s key K reaches only blue\'s sockets under K; the same for each app', async () => {
    const plain = await socket(gw.ws('/ws?email=K'));
    const blue = await socket(gw.ws('/apps/blue/ws?email=K'));
    const green = await socket(gw.ws(`/apps/green/ws?jwt=${await sign(hs, { sub: 'K', exp: nowS() + 600 })}`), { origin: 'https://green.example' });
    const viaDefaultPath = await socket(gw.ws('/apps/default/ws?email=K'));
    // A default-app pattern matching every name: never another app's keys.
    const everything = await connect(gw.ws('/ws?email=*'));
    await synced(5);
    const toBlue = await publishTo(gw, '/apps/blue', BLUE, { key: 'K', value: 'for blue' });
    assert.deepEqual([toBlue.status, toBlue.json.delivered, toBlue.json.held], [202, 1, 0]);
    const toGreen = await publishTo(gw, '/apps/green', GREEN, { key: 'K', value: 'for green' });
    assert.deepEqual([toGreen.status, toGreen.json.delivered], [202, 1]);
    // `/` and `/apps/default/` are one app: both of its sockets, neither of the others.
    const toDefault = await publishTo(gw, '', BASIC, { key: 'K', value: 'for default' });
    assert.deepEqual([toDefault.status, toDefault.json.delivered], [202, 3]);
    // Each socket's first frame is its own app's: a frame that crossed apps would have come first.
    assert.deepEqual((await blue.waitForFrames(1))[0]!.payload, 'for blue');
    assert.deepEqual((await green.waitForFrames(1))[0]!.payload, 'for green');
    assert.deepEqual((await plain.waitForFrames(1))[0]!.payload, 'for default');
    assert.deepEqual((await viaDefaultPath.waitForFrames(1))[0]!.payload, 'for default');
    assert.deepEqual((await everything.waitForFrames(1))[0]!.payload, 'for default');
    await everything.close();
    // Presence lists each app's own keys, by name.
    const presence = await gw.request('GET', '/apps/blue/?presence', { headers: { authorization: BLUE } });
    assert.deepEqual(presence.json, { K: 1 });
  });

  test('control requests (presence, connections, disconnect) see and close their own app\'s sockets only', async () => {
    const before = gw.logs.filter((l) => l.msg === 'socket synced').length;
    const plain = await connect(gw.ws('/ws?email=C'));
    const blue = await connect(gw.ws('/apps/blue/ws?email=C'));
    await synced(before + 2);
    const ask = (method: string, path: string, authorization: string, body?: unknown) =>
      gw.request(method, path, { headers: { authorization, 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    assert.equal((await ask('GET', '/apps/blue/presence?key=C', BLUE)).json.connections, 1);
    const listed = (await ask('GET', '/apps/blue/connections?key=C', BLUE)).json.connections as Array<{ id: string; keys: string[] }>;
    assert.deepEqual(listed.map((v) => v.keys), [['C']]);
    const plainId = (await ask('GET', '/connections?key=C', BASIC)).json.connections[0].id as string;
    // Blue cannot reach the default app's socket, even by its connection id.
    assert.equal((await ask('POST', '/apps/blue/disconnect', BLUE, { connection: plainId })).json.closed, 0);
    assert.equal((await ask('POST', '/apps/blue/disconnect', BLUE, { key: 'C', code: 4100 })).json.closed, 1);
    assert.equal((await blue.closed), 4100);
    assert.equal((await publishTo(gw, '', BASIC, { key: 'C', value: 'still open' })).json.delivered, 1);
    assert.equal((await plain.waitForFrames(1))[0]!.payload, 'still open');
    await plain.close();
  });

  test('user targets stay in their app: a default-app message to user U is held there, never sent to green\'s U', async () => {
    const before = gw.logs.filter((l) => l.msg === 'socket synced').length;
    const green = await socket(gw.ws(`/apps/green/ws?jwt=${await sign(hs, { sub: 'U9', exp: nowS() + 600 })}`), { origin: 'https://green.example' });
    await synced(before + 1);
    const toDefault = await publishTo(gw, '', BASIC, { user: 'U9', value: 'for default U9' });
    assert.deepEqual([toDefault.status, toDefault.json.delivered, toDefault.json.held], [202, 0, 1]);
    const toGreen = await publishTo(gw, '/apps/green', GREEN, { user: 'U9', value: 'for green U9' });
    assert.deepEqual([toGreen.status, toGreen.json.delivered], [202, 1]);
    assert.deepEqual((await green.waitForFrames(1))[0]!.payload, 'for green U9');
    await green.close();
  });

  test('held messages stay in their app: listed, delivered and removed by name, per app', async () => {
    const blueHeld = await publishTo(gw, '/apps/blue', BLUE, { key: 'H', value: 'blue held', message_id: 'same-id' });
    assert.deepEqual([blueHeld.status, blueHeld.json.held], [202, 1]);
    // The same message_id in another app is another message, not a retry.
    const plainHeld = await publishTo(gw, '', BASIC, { key: 'H', value: 'default held', message_id: 'same-id' });
    assert.deepEqual([plainHeld.status, plainHeld.json.held, plainHeld.json.duplicate], [202, 1, undefined]);
    await publishTo(gw, '/apps/green', GREEN, { key: 'G', value: 'green held' });

    const blueList = await gw.request('GET', '/apps/blue/?key=H', { headers: { authorization: BLUE } });
    assert.deepEqual(blueList.json.map((m: { key: string; payload: unknown }) => [m.key, m.payload]), [['H', 'blue held']]);
    assert.deepEqual((await gw.request('GET', '/apps/blue/', { headers: { authorization: BLUE } })).json, ['H']);
    assert.deepEqual((await gw.request('GET', '/apps/green/?counts', { headers: { authorization: GREEN } })).json, [{ key: 'G', count: 1 }]);
    assert.deepEqual((await gw.request('GET', '/')).json, ['H']);

    const blue = await socket(gw.ws('/apps/blue/ws?email=H'));
    assert.deepEqual((await blue.waitForFrames(1))[0]!.payload, 'blue held');
    // Green's DELETE / removes green's messages only.
    assert.deepEqual((await gw.request('DELETE', '/apps/green/', { headers: { authorization: GREEN } })).json, { removed: 1 });
    const plain = await socket(gw.ws('/ws?email=H'));
    assert.deepEqual((await plain.waitForFrames(1))[0]!.payload, 'default held');
  });

  test('a topic-only publish\'s message_id stays in its app: another app\'s publish with it is delivered', async () => {
    const toBlueTopic = await publishTo(gw, '/apps/blue', BLUE, { topic: 't', value: 'blue topic', message_id: 'topic-id' });
    assert.deepEqual([toBlueTopic.status, toBlueTopic.json.duplicate], [202, undefined]);
    // Within blue it is the same message: a retry.
    assert.equal((await publishTo(gw, '/apps/blue', BLUE, { topic: 't', value: 'retry', message_id: 'topic-id' })).json.duplicate, true);
    const before = gw.logs.filter((l) => l.msg === 'socket synced').length;
    const plain = await socket(gw.ws('/ws?email=M'));
    await synced(before + 1);
    const toDefault = await publishTo(gw, '', BASIC, { key: 'M', value: 'default key', message_id: 'topic-id' });
    assert.deepEqual([toDefault.status, toDefault.json.duplicate, toDefault.json.delivered], [202, undefined, 1]);
    assert.equal((await plain.waitForFrames(1))[0]!.payload, 'default key');
    const toGreenTopic = await publishTo(gw, '/apps/green', GREEN, { topic: 't', value: 'green topic', message_id: 'topic-id' });
    assert.deepEqual([toGreenTopic.status, toGreenTopic.json.duplicate], [202, undefined]);
  });

  test('each app takes its own credentials only, for publishing and for sockets', async () => {
    for (const [base, authorization] of [['/apps/blue', BASIC], ['', BLUE], ['/apps/green', BLUE], ['/apps/blue', GREEN]] as const) {
      const r = await publishTo(gw, base, authorization, { key: 'K', value: 'x' });
      assert.equal(r.status, 401, `${base || '/'} with another app's credentials`);
    }
    assert.equal((await gw.request('GET', '/apps/green/', { headers: { authorization: BASIC } })).status, 401);
    // Green authenticates sockets by JWT only, from its own origins; blue's forward auth is not its.
    const noJwt = await refusal(gw.ws('/apps/green/ws?email=K'), { origin: 'https://green.example' });
    assert.deepEqual([noJwt.status, JSON.parse(noJwt.body).error], [401, 'AUTH_CREDENTIALS_MISSING']);
    const jwt = await sign(hs, { sub: 'K', exp: nowS() + 600 });
    const origin = await refusal(gw.ws(`/apps/green/ws?jwt=${jwt}`), { origin: 'https://other.example' });
    assert.deepEqual([origin.status, JSON.parse(origin.body).error], [403, 'ORIGIN_NOT_ALLOWED']);
    // The default app has no JWT mode: green's token is forward auth's to judge, and it refuses it.
    assert.equal((await refusal(gw.ws(`/ws?jwt=${jwt}`))).status, 401);
  });

  test('an unknown app is 404 APP_NOT_FOUND, for the API and for sockets', async () => {
    for (const [method, path] of [['GET', '/apps/nope/'], ['POST', '/apps/nope/'], ['GET', '/apps/nope'], ['GET', '/apps/nope/tickets']] as const) {
      const r = await gw.request(method, path, method === 'POST' ? { body: '{}' } : {});
      assert.deepEqual([r.status, r.json?.error], [404, 'APP_NOT_FOUND'], `${method} ${path}`);
    }
    const refused = await refusal(gw.ws('/apps/nope/ws?email=K'));
    assert.deepEqual([refused.status, JSON.parse(refused.body).error], [404, 'APP_NOT_FOUND']);
    // A known app's unknown path is the app's own NOT_FOUND.
    assert.deepEqual((await gw.request('GET', '/apps/blue/elsewhere', { headers: { authorization: BLUE } })).json?.error, 'NOT_FOUND');
  });
});

test('apps share one WS_WORKERS bound: a call of one app in flight fills the slot for every app', async () => {
  const waiting: ServerResponse[] = [];
  const auth = await startAuthBackend((req, res) => {
    if (String(req.headers['x-forwarded-uri']).includes('hold')) waiting.push(res);
    else json(res, 200, { user: { email: 'k' } });
  });
  const gw = await startGateway({
    WS_AUTH_URL: auth.url, WS_WORKERS: '1', WS_AUTH_QUEUE: '0',
    WS_CONFIG: await yamlFile(`apps:\n  blue:\n    auth_url: ${auth.url}\n    login: ${BLUE_LOGIN}\n    password: ${BLUE_PASSWORD}\n`),
  });
  try {
    const held = connect(gw.ws('/apps/blue/ws?hold=1')).catch((err: unknown) => err);
    await auth.waitForRequests(1);
    const full = await refusal(gw.ws('/ws?email=k'));
    assert.deepEqual([full.status, JSON.parse(full.body).error], [503, 'AUTH_QUEUE_FULL']);
    json(waiting[0]!, 200, { user: { email: 'k' } });
    const first = await held;
    assert.ok(!(first instanceof Error), String(first));
    // The slot is free again: the default app's upgrade goes through.
    const plain = await connect(gw.ws('/ws?email=k'));
    await plain.close();
    await (first as TestSocket).close();
  } finally {
    assert.equal(await gw.stop(), 0);
    await auth.close();
  }
});

test('apps.default overrides the environment for the default app, setting by setting', async () => {
  const auth = await startAuthBackend();
  const gw = await startGateway({
    WS_AUTH_URL: auth.url,
    WS_CONFIG: await yamlFile(`apps:\n  default:\n    login: ${BLUE_LOGIN}\n    password: ${BLUE_PASSWORD}\n`),
  });
  try {
    assert.equal((await publishTo(gw, '', BASIC, { key: 'k', value: 1 })).status, 401);
    assert.equal((await publishTo(gw, '', BLUE, { key: 'k', value: 1 })).status, 202);
    // WS_AUTH_URL, which apps.default does not set, stays the environment's.
    const s = await connect(gw.ws('/ws?email=k'));
    await s.close();
  } finally {
    assert.equal(await gw.stop(), 0);
    await auth.close();
  }
});

test('a bad apps configuration stops the start with exit 2, naming the app and the setting', async () => {
  const env = { WS_AUTH_URL: 'http://127.0.0.1:9/auth', WS_LOGIN: 'l', WS_PASSWORD: 'p' };
  const cases: Array<[string, RegExp[]]> = [
    ['apps:\n  Blue!:\n    login: a\n', [/apps\."Blue!": an app name is/]],
    ['apps:\n  green:\n    auth_mode: jwt\n    login: a\n    password: b\n', [/apps\.green\.jwt_secret is not set/]],
    ['apps:\n  blue:\n    auth_url: http://a/\n', [/apps\.blue\.login is not set/, /apps\.blue\.password is not set/]],
    ['apps:\n  blue:\n    auth_url: http://a/\n    login: a\n    password: b\n    port: 80\n    colour: blue\n', [/apps\.blue\.port: a gateway-wide setting \(WS_PORT\)/, /apps\.blue: unknown setting "colour"/]],
    ['apps:\n  blue:\n    auth_url: http://a/\n    login: a\n    password: b\n    msg_expire: soon\n', [/apps\.blue\.msg_expire="soon": expected a duration/]],
    ['apps: [blue]\n', [/apps must be a mapping of app names/]],
    ['apps:\n  blue: yes\n', [/apps\.blue must be a mapping of settings/]],
  ];
  for (const [yaml, expected] of cases) {
    const result = await startExpectingFailure({ ...env, WS_CONFIG: await yamlFile(yaml) });
    assert.equal(result.exitCode, 2, `${yaml}\n${result.stderr}`);
    for (const pattern of expected) assert.match(result.stderr, pattern, yaml);
    assert.doesNotMatch(result.stderr, /at .*\.js/, 'no stack trace');
  }
});

test('with apps in WS_CONFIG, a default-app setting left unset names apps.default.<setting> beside its variable', async () => {
  // docs/apps.md's example once gave app default only allowed_origins, with nothing in the environment.
  const yaml = 'apps:\n  blue:\n    auth_url: http://a/\n    login: a\n    password: b\n  default:\n    allowed_origins: [https://www.example.com]\n';
  const result = await startExpectingFailure({ WS_CONFIG: await yamlFile(yaml) });
  assert.equal(result.exitCode, 2, result.stderr);
  assert.match(result.stderr, /WS_AUTH_URL is not set: .*apps\.default\.auth_url/);
  assert.match(result.stderr, /WS_LOGIN is not set: .*apps\.default\.login/);
  assert.match(result.stderr, /WS_PASSWORD is not set: .*apps\.default\.password/);
  // Without apps the message stays the environment's alone.
  const plain = await startExpectingFailure({ WS_CONFIG: await yamlFile('port: 7890\n') });
  assert.match(plain.stderr, /WS_AUTH_URL is not set/);
  assert.doesNotMatch(plain.stderr, /apps\.default/);
});

test('a ticket made in one app connects to that app only, under its keys', async () => {
  const auth = await startAuthBackend();
  const gw = await startGateway({
    WS_AUTH_URL: auth.url, WS_AUTH_MODE: 'forward,ticket',
    WS_CONFIG: await yamlFile(`apps:\n  blue:\n    auth_mode: ticket\n    login: ${BLUE_LOGIN}\n    password: ${BLUE_PASSWORD}\n`),
  });
  try {
    const made = async (base: string, authorization: string): Promise<string> => {
      const r = await gw.request('POST', `${base}/tickets`, { body: JSON.stringify({ user: 'T' }), headers: { authorization, 'content-type': 'application/json' } });
      assert.equal(r.status, 201, r.text);
      return r.json.ticket as string;
    };
    // Blue's admin credentials make blue's tickets only.
    assert.equal((await gw.request('POST', '/apps/blue/tickets', { body: '{"user":"T"}', headers: { authorization: BASIC } })).status, 401);
    const blueTicket = await made('/apps/blue', BLUE);
    const refused = await refusal(gw.ws(`/ws?ticket=${blueTicket}`));
    assert.deepEqual([refused.status, JSON.parse(refused.body).error], [401, 'TICKET_NOT_FOUND']);
    assert.deepEqual((await gw.request('GET', '/tickets?user=T')).json, { tickets: [] });
    const blue = await connect(gw.ws(`/apps/blue/ws?ticket=${blueTicket}`));
    const plainTicket = await made('', BASIC);
    assert.equal((await refusal(gw.ws(`/apps/blue/ws?ticket=${plainTicket}`))).status, 401);
    const plain = await connect(gw.ws(`/ws?ticket=${plainTicket}`));
    await gw.waitForLog(() => gw.logs.filter((l) => l.msg === 'socket synced').length >= 2);
    assert.equal((await publishTo(gw, '/apps/blue', BLUE, { key: 'T', value: 'blue' })).json.delivered, 1);
    assert.equal((await publishTo(gw, '', BASIC, { key: 'T', value: 'default' })).json.delivered, 1);
    assert.equal((await blue.waitForFrames(1))[0]!.payload, 'blue');
    assert.equal((await plain.waitForFrames(1))[0]!.payload, 'default');
    await Promise.all([blue.close(), plain.close()]);
  } finally {
    assert.equal(await gw.stop(), 0);
    await auth.close();
  }
});

test('history is kept per app: each app lists its own messages of a key, under the key\'s name', async () => {
  const auth = await startAuthBackend();
  const gw = await startGateway({
    WS_AUTH_URL: auth.url, WS_HISTORY_SIZE: '10',
    WS_CONFIG: await yamlFile(`apps:\n  blue:\n    auth_url: ${auth.url}\n    login: ${BLUE_LOGIN}\n    password: ${BLUE_PASSWORD}\n`),
  });
  try {
    assert.equal((await publishTo(gw, '/apps/blue', BLUE, { key: 'K', value: 'blue 1' })).status, 202);
    assert.equal((await publishTo(gw, '', BASIC, { key: 'K', value: 'default 1' })).status, 202);
    assert.equal((await publishTo(gw, '/apps/blue', BLUE, { key: 'K', value: 'blue 2' })).status, 202);
    const blue = await gw.request('GET', '/apps/blue/?key=K&history', { headers: { authorization: BLUE } });
    assert.deepEqual(blue.json.map((m: { key: string; payload: unknown }) => [m.key, m.payload]), [['K', 'blue 1'], ['K', 'blue 2']]);
    const plain = await gw.request('GET', '/?key=K&history');
    assert.deepEqual(plain.json.map((m: { key: string; payload: unknown }) => [m.key, m.payload]), [['K', 'default 1']]);
  } finally {
    assert.equal(await gw.stop(), 0);
    await auth.close();
  }
});
