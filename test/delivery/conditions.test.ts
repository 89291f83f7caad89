// The conditions codec (delivery/conditions.ts): what a conditioned frame carries comes back out
// whole, plain frames are left alone, a frame it did not write admits nobody, and held messages a
// socket does not match are split off in order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { admits, decodeFrame, encodeFrame, isConditioned, plainFrame, splitHeld } from '../../src/delivery/conditions.js';
import { frameOf } from '../../src/delivery/message.js';
import type { Connection } from '../../src/socket/connection.js';

const socket = (claims: Record<string, unknown> | undefined, node = 'n1', conn = 5): Connection =>
  ({ node, conn, closed: false, identity: { claims } }) as unknown as Connection;

test('a frame without conditions is the plain frame itself', () => {
  const frame = frameOf('m1', { a: 1 });
  assert.equal(encodeFrame(frame, {}), frame);
  assert.equal(isConditioned(frame), false);
  assert.equal(plainFrame(frame), frame);
});

test('filter, excluded connection and binary body survive the round trip (property)', () => {
  fc.assert(fc.property(fc.jsonValue(), fc.uint8Array({ maxLength: 200 }), fc.boolean(), fc.string({ maxLength: 20 }), (value, bytes, binary, role) => {
    const frame = frameOf('id-1', value);
    const encoded = encodeFrame(frame, { filter: { include: { role } }, excludeConnection: 'abc-1z', ...(binary ? { binary: bytes } : {}) });
    assert.ok(isConditioned(encoded));
    const decoded = decodeFrame(encoded);
    assert.equal(decoded.broken, false);
    if (binary) assert.deepEqual(Buffer.from(decoded.binary as Uint8Array), Buffer.from(bytes));
    else assert.equal(decoded.frame, frame);
    assert.equal(decoded.excludeNode, 'abc');
    assert.equal(decoded.excludeConn, parseInt('1z', 36));
    assert.equal(admits(decoded, socket({ role })), true);
    assert.equal(admits(decoded, socket({ role: `${role}x` })), false);
    assert.equal(admits(decoded, socket({ role }, 'abc', parseInt('1z', 36))), false, 'the excluded connection');
  }), { numRuns: 300 });
});

test('a frame this module did not write admits nobody', () => {
  for (const text of ['\u0002', '\u0002not json\n{}', '\u0002{"f":{"include":{"":1}}}\n{}', '\u0002null\n{}']) {
    const decoded = decodeFrame(text);
    assert.equal(decoded.broken, true, JSON.stringify(text));
    assert.equal(admits(decoded, socket({})), false);
  }
});

test('held messages a socket does not match are split off, in order', () => {
  const admin = encodeFrame(frameOf('a', 1), { filter: { include: { role: 'admin' } } });
  const held = [
    { id: '1', frame: frameOf('1', 1) },
    { id: '2', frame: admin },
    { id: '3', frame: frameOf('3', 3) },
    { id: '4', frame: admin },
  ];
  const user = splitHeld(held, socket({ role: 'user' }));
  assert.deepEqual(user.admitted.map((m) => m.id), ['1', '3']);
  assert.deepEqual(user.refused.map((m) => m.id), ['2', '4']);
  const both = splitHeld(held, socket({ role: 'admin' }));
  assert.deepEqual([both.admitted.length, both.refused.length], [4, 0]);
});
