// Property: generated v2 client frames (text, binary, any JSON, frames of every known type with
// fields of any shape) sent on a fresh octoway.v2 socket of the real gateway. Nothing crashes: every
// frame the socket receives is a v2 frame of a known type, every error frame carries a registered
// code, and afterwards the socket either answers a valid subscribe or was closed with 1008 for one
// of its budgets; the gateway keeps serving. Fixed seed and bounded runs.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { startGateway, type GatewayProcess } from '../helpers/gateway.js';
import { nowS, sign, signingKey } from '../helpers/jwt.js';
import { connectV2, messagesOf } from '../helpers/v2.js';
import { CLOSE_CODES, ERRORS } from '../../src/errors.js';

const SEED = 2013;
const RUNS = 150;
const SERVER_TYPES = new Set(['welcome', 'message', 'subscribed', 'unsubscribed', 'published', 'error', 'refreshed']);
const hs = await signingKey('HS256');
let gw: GatewayProcess;

const anything = fc.oneof(fc.string({ maxLength: 40 }), fc.integer(), fc.boolean(), fc.constant(null), fc.array(fc.string({ maxLength: 10 }), { maxLength: 4 }), fc.json({ maxDepth: 2 }));
const topic = fc.oneof(fc.constantFrom('room', 'room:1', 'other', '', '\u0000t', 'x'.repeat(1100)), fc.string({ maxLength: 20 }), anything);
const typed = fc.record({
  type: fc.oneof(fc.constantFrom('subscribe', 'unsubscribe', 'unsubscribe-all', 'publish', 'ack', 'refresh', '__proto__', 'constructor', 'toString'), fc.string({ maxLength: 12 })),
  topic, topics: fc.oneof(fc.array(topic, { maxLength: 4 }), anything), data: anything, echo: anything, id: anything, token: anything,
  ref: fc.oneof(fc.string({ maxLength: 250 }), fc.integer(), fc.double(), anything),
}, { requiredKeys: ['type'] });
const frame = fc.oneof(
  typed.map((f) => JSON.stringify(f)),
  fc.string({ maxLength: 200 }),
  fc.json({ maxDepth: 3 }),
  fc.uint8Array({ maxLength: 300 }),
  fc.constantFrom('{', '[]', 'null', '{"type":{"x":1}}', '{"__proto__":{"type":"publish"}}', `${'['.repeat(200)}${']'.repeat(200)}`),
);

before(async () => {
  gw = await startGateway({ WS_AUTH_MODE: 'jwt', WS_JWT_SECRET: hs.configured, WS_MAX_INBOUND_RATE: '100000', WS_CLIENT_PUBLISH_RATE: '1000' });
});
after(async () => {
  assert.equal(await gw.stop(), 0, 'the gateway exits 0');
});

test('any sequence of v2 client frames gets v2 frames back, registered codes, and no crash', async () => {
  const token = await sign(hs, { sub: 'fuzz', exp: nowS() + 3600, read: ['room*'], write: ['room'] });
  await fc.assert(fc.asyncProperty(fc.array(frame, { minLength: 1, maxLength: 6 }), async (frames) => {
    const socket = await connectV2(gw.ws(`/ws?token=${token}`));
    for (const f of frames) socket.ws.send(typeof f === 'string' ? f : Buffer.from(f));
    const end = await Promise.race([socket.request({ type: 'subscribe', topic: 'room:end' }).then(() => 'answered'), socket.closed.then(() => 'closed')]);
    for (const f of socket.frames) {
      assert.ok(SERVER_TYPES.has(f.type), `unknown server frame ${JSON.stringify(f)}`);
      if (f.type === 'error') assert.ok(Object.hasOwn(ERRORS, f.code), `unregistered code ${f.code}`);
    }
    if (end === 'closed') {
      const { code, reason } = await socket.closed;
      assert.equal(code, CLOSE_CODES.POLICY_VIOLATION.code);
      assert.ok(['too many refused frames', 'client publish rate exceeded'].includes(reason), reason);
    } else await socket.close();
  }), { seed: SEED, numRuns: RUNS });
  const last = await connectV2(gw.ws(`/ws?token=${token}`));
  await gw.publish({ key: 'fuzz', value: 'still serving' });
  assert.deepEqual((await messagesOf(last, 1)).map((m) => m.payload), ['still serving']);
  await last.close();
});
