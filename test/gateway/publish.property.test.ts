// Property-based tests of the publish API (fast-check, fixed seed, bounded runs) against one real
// gateway process, in memory and in Redis mode, with two sockets open on different keys. Whatever
// body a backend sends (valid, almost valid, random JSON, random bytes, deep or long values, odd
// keys, odd expires, batches): the answer is 202 or a 4xx carrying a registered error code, never a
// 5xx; the process stays up; and no frame reaches a socket its message was not addressed to.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ERRORS, type ErrorCode } from '../../src/errors.js';
import { gatewayForSuite } from '../helpers/gateway.js';
import { connect, type TestSocket } from '../helpers/client.js';
import { deletePrefix, redisClient, SHARED_REDIS_URL, testPrefix } from '../helpers/redis.js';

const SEED = 20261202;
const NUM_RUNS = Number(process.env.PROP_RUNS ?? 400);
const ALICE = 'alice@example.com';
const BOB = 'bob@example.com';
const MAX_BATCH = 8;

/** Keys: the two with sockets, others with none, and ones the API must refuse. */
const key = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(ALICE, BOB, 'carol@example.com', 'acme') },
  { weight: 2, arbitrary: fc.string({ maxLength: 40, unit: 'grapheme' }) },
  { weight: 1, arbitrary: fc.constantFrom('', 'k'.repeat(1024), 'k'.repeat(1025), `${ALICE} `, ALICE.toUpperCase()) },
  { weight: 1, arbitrary: fc.oneof(fc.integer(), fc.constant(null), fc.boolean(), fc.array(fc.constant(ALICE), { maxLength: 2 })) },
);

/** A value nesting arrays around 1: around the depth bound, or thousands of levels (which once
 * overflowed the stack when the frame was serialised). Generated as a placeholder string that
 * `toText` expands, because this process's own JSON.stringify would overflow on the real thing. */
const deepValue = fc.oneof(fc.integer({ min: 90, max: 130 }), fc.integer({ min: 5_000, max: 12_000 })).map((levels) => `\u0000deep:${levels}`);

/** JSON text of a generated body, deep placeholders expanded. */
function toText(body: unknown): string {
  return JSON.stringify(body).replace(/"\\u0000deep:(\d+)"/g, (_match, levels: string) => `${'['.repeat(Number(levels))}1${']'.repeat(Number(levels))}`);
}

const value = fc.oneof(
  { weight: 6, arbitrary: fc.jsonValue({ maxDepth: 4 }) },
  { weight: 1, arbitrary: deepValue },
  { weight: 1, arbitrary: fc.string({ minLength: 2000, maxLength: 5000 }) },
  { weight: 1, arbitrary: fc.constantFrom(null, undefined) },
);

const expire = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('0', '1s', '30m', '1h30m', '1.5h', '365d', '366d', '9999999999999d', '1e400s', '-1s', '30', '', '1ns', `${'9'.repeat(400)}h`) },
  { weight: 2, arbitrary: fc.tuple(fc.nat({ max: 100_000 }), fc.constantFrom('ns', 'us', 'µs', 'ms', 's', 'm', 'h', 'd', 'x', '')).map(([n, unit]) => `${n}${unit}`) },
  { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
  { weight: 1, arbitrary: fc.oneof(fc.integer(), fc.double(), fc.constant(null)) },
);

const messageId = fc.oneof(fc.constantFrom('order-1', 'order-2', ''), fc.string({ maxLength: 210 }), fc.integer());

/** A message the API should accept: a known key or two, a value, maybe a valid expire and id. */
const validMessage = fc.record({
  key: fc.constantFrom(ALICE, BOB, 'carol@example.com', 'acme'),
  value: fc.oneof({ weight: 9, arbitrary: fc.jsonValue({ maxDepth: 4 }).filter((v) => v !== null) }, { weight: 1, arbitrary: deepValue }),
  expire: fc.option(fc.constantFrom('0', '1s', '30m', '1h30m', '365d', '9999999999999d'), { nil: undefined }),
  message_id: fc.option(fc.string({ minLength: 1, maxLength: 20 }), { nil: undefined, freq: 4 }),
  keys: fc.option(fc.array(fc.constantFrom(ALICE, BOB, 'acme'), { minLength: 1, maxLength: 3 }), { nil: undefined, freq: 3 }),
}).map((m) => JSON.parse(JSON.stringify(m)) as Record<string, unknown>); // drops the undefined fields

/** Any message, any field possibly missing or odd; `extra` adds fields the API does not know. */
const oddMessage = fc.record(
  { key, keys: fc.oneof(fc.array(key, { maxLength: 4 }), key), value, expire, message_id: messageId, extra: fc.jsonValue({ maxDepth: 1 }) },
  { requiredKeys: [] },
).map((m) => (m.value === undefined ? (({ value: _omitted, ...rest }) => rest)(m) : m));

const message = fc.oneof({ weight: 3, arbitrary: validMessage }, { weight: 2, arbitrary: oddMessage });

/** What a backend might send, as bytes: JSON text of messages and batches, the same slightly
 * broken, any JSON, and any bytes. */
const body = fc.oneof(
  { weight: 5, arbitrary: message.map(toText) },
  { weight: 3, arbitrary: fc.array(message, { maxLength: MAX_BATCH + 2 }).map((messages) => toText({ messages })) },
  { weight: 1, arbitrary: fc.tuple(message.map(toText), fc.nat(), fc.string({ maxLength: 3 })).map(([text, at, insert]) => {
    const i = at % (text.length + 1);
    return text.slice(0, i) + insert + text.slice(i + (insert === '' ? 1 : 0));
  }) },
  { weight: 1, arbitrary: fc.json({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes).toString('latin1')) },
);

/** The keys a message was addressed to, as the gateway reads them (used only for 202 answers). */
function keysOf(m: Record<string, unknown>): string[] {
  const all: unknown[] = [];
  if (m['key'] !== undefined) all.push(m['key']);
  if (Array.isArray(m['keys'])) all.push(...(m['keys'] as unknown[]));
  return all.filter((k): k is string => typeof k === 'string');
}

for (const mode of ['memory', 'redis'] as const) {
  describe(`publish API properties (${mode} mode)`, () => {
    const prefix = testPrefix('publish-properties');
    const suite = gatewayForSuite({
      WS_MAX_BATCH: String(MAX_BATCH), WS_MAX_BODY: '64KiB',
      ...(mode === 'redis' ? { WS_REDIS_URL: SHARED_REDIS_URL, WS_REDIS_PREFIX: prefix } : {}),
    });
    after(async () => {
      if (mode !== 'redis') return;
      const client = await redisClient();
      await deletePrefix(client, prefix);
      client.disconnect();
    });

    test(`${NUM_RUNS} generated bodies: 202 or a registered 4xx, the process up, frames only where addressed`, async (t) => {
      const { gw } = suite;
      const sockets = new Map<string, TestSocket>([[ALICE, await connect(gw.ws(`/ws?email=${ALICE}`))], [BOB, await connect(gw.ws(`/ws?email=${BOB}`))]]);
      /** Every id answered 202, with every key it was addressed to. */
      const addressed = new Map<string, Set<string>>();
      let accepted = 0;
      const refused = new Map<string, number>();
      await fc.assert(fc.asyncProperty(body, async (text) => {
        const r = await gw.request('POST', '/', { body: text });
        assert.ok(r.status === 202 || (r.status >= 400 && r.status < 500), `status ${r.status}: ${r.text}`);
        if (r.status !== 202) {
          assert.ok(r.json !== undefined && typeof r.json.message === 'string', r.text);
          const code = r.json.error as ErrorCode;
          assert.ok(code in ERRORS, `unregistered code ${String(code)}`);
          assert.equal(r.status, ERRORS[code].status, code);
          refused.set(code, (refused.get(code) ?? 0) + 1);
          return;
        }
        accepted++;
        const sent = JSON.parse(text) as Record<string, unknown>;
        const messages = Array.isArray(sent['messages']) ? (sent['messages'] as Array<Record<string, unknown>>) : [sent];
        const results = Array.isArray(sent['messages']) ? (r.json.results as Array<{ id: string }>) : [r.json as { id: string }];
        assert.equal(results.length, messages.length);
        results.forEach((result, i) => {
          const keys = addressed.get(result.id) ?? new Set<string>();
          for (const k of keysOf(messages[i] as Record<string, unknown>)) keys.add(k);
          addressed.set(result.id, keys);
        });
      }), { seed: SEED, numRuns: NUM_RUNS, endOnFailure: true });

      // A last message to each socket: publish order is delivery order, so once it has arrived
      // every earlier frame for that socket has too.
      for (const [socketKey, socket] of sockets) {
        const marker = await gw.publish({ key: socketKey, value: 'marker', message_id: `marker-${socketKey}` });
        assert.equal(marker.status, 202);
        addressed.set(marker.json.id, new Set([socketKey]));
        await waitForFrame(socket, marker.json.id);
      }
      for (const [socketKey, socket] of sockets) {
        for (const frame of socket.frames) {
          assert.ok(addressed.get(frame.id)?.has(socketKey), `frame ${frame.id} reached ${socketKey}, which its message did not address`);
        }
        await socket.close();
      }
      // Whatever was accepted, the admin API can list it.
      const held = await gw.request('GET', '/');
      assert.equal(held.status, 200, held.text);
      for (const heldKey of held.json as string[]) {
        const listed = await gw.request('GET', `/?key=${encodeURIComponent(heldKey)}`);
        assert.equal(listed.status, 200, `GET /?key=${heldKey}: ${listed.text}`);
      }
      const delivered = [...sockets.values()].reduce((n, s) => n + s.frames.length, 0);
      t.diagnostic(`${accepted} accepted (${addressed.size} ids, ${delivered} frames delivered to the two sockets); refused: ${JSON.stringify(Object.fromEntries(refused))}`);
      assert.ok(accepted > NUM_RUNS / 10, `only ${accepted} of ${NUM_RUNS} bodies were accepted: the generators drifted`);
      assert.equal(gw.child.exitCode, null, 'the gateway is still running');
      assert.equal((await gw.request('GET', '/healthz', { auth: false })).status, 200);
      assert.deepEqual(gw.logs.filter((l) => l.level >= 50), [], 'nothing logged as an error');
    });
  });
}

/** Waits until `socket` has received the frame with `id`. */
async function waitForFrame(socket: TestSocket, id: string): Promise<void> {
  for (let count = socket.frames.length + 1; !socket.frames.some((f) => f.id === id); count++) await socket.waitForFrames(count);
}
