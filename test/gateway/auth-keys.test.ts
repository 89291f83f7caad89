// Keys from the auth answer follow the publish API's routing-key rule: a socket never opens under a
// key that no publish could reach, nor under more keys than a socket may hold.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { json, startAuthBackend, type AuthBackend } from '../helpers/auth-backend.js';
import { startGateway, type GatewayProcess } from '../helpers/gateway.js';
import { connect, refusal } from '../helpers/client.js';

let auth: AuthBackend;
let gw: GatewayProcess;
before(async () => {
  auth = await startAuthBackend();
  gw = await startGateway({ WS_AUTH_URL: auth.url, WS_AUTH_EXPORTER: 'paths:keys' });
});
after(async () => {
  try {
    assert.equal(await gw.stop(), 0);
  } finally {
    await auth.close();
  }
});

const answer = (keys: string[]): void => auth.setHandler((_req, res) => json(res, 200, { keys }));

test('a key over 1024 characters refuses the upgrade with 502 AUTH_INVALID_KEYS; the log names the limit, not the key', async () => {
  const huge = `k${'x'.repeat(59_999)}`;
  answer(['short@example.com', huge]);
  const r = await refusal(gw.ws('/ws'));
  assert.equal(r.status, 502);
  assert.equal(JSON.parse(r.body).error, 'AUTH_INVALID_KEYS');
  const line = await gw.waitForLog((l) => l.msg === 'auth answer has keys past the routing-key limits');
  assert.equal(line.limit, 'length');
  assert.equal(line.longest, 60_000);
  assert.doesNotMatch(gw.output(), /xxxxxxxxxx|short@example\.com/);
});

test('more than 100 keys refuses the upgrade with AUTH_INVALID_KEYS, limit "count"', async () => {
  answer(Array.from({ length: 101 }, (_, i) => `team-${i}`));
  const r = await refusal(gw.ws('/ws'));
  assert.equal(JSON.parse(r.body).error, 'AUTH_INVALID_KEYS');
  await gw.waitForLog((l) => l.msg === 'auth answer has keys past the routing-key limits' && l.limit === 'count');
});

test('at the limits (100 keys, one of 1024 characters) the socket opens and a publish reaches it', async () => {
  const longest = 'L'.repeat(1024);
  answer([longest, ...Array.from({ length: 99 }, (_, i) => `team-${i}`)]);
  const socket = await connect(gw.ws('/ws'));
  const r = await gw.publish({ key: longest, value: 'reachable' });
  assert.equal(r.status, 202);
  assert.deepEqual((await socket.waitForFrames(1)).map((f) => f.payload), ['reachable']);
  await socket.close();
});
