// Addresses keep kinds and apps apart: no two distinct (kind, app, name) ever share an address.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isHoldable, keyAddress, parseAddress, sessionAddress, topicAddress, userAddress } from '../../src/delivery/address.js';
import { isValidKey } from '../../src/delivery/routing-key.js';

test('a default-app key is its own address (held messages of older versions stay reachable)', () => {
  assert.equal(keyAddress('default', 'alice@example.com'), 'alice@example.com');
  assert.deepEqual(parseAddress('alice@example.com'), { kind: 'key', app: 'default', name: 'alice@example.com' });
});

test('a topic, a user and a key of the same name are different addresses; topics are never held', () => {
  const name = 'alice@example.com';
  const all = [keyAddress('default', name), keyAddress('blue', name), topicAddress('default', name), userAddress('default', name), sessionAddress('default', name, 's1')];
  assert.equal(new Set(all).size, all.length);
  assert.equal(isHoldable(topicAddress('default', name)), false);
  assert.equal(isHoldable(userAddress('default', name)), true);
  assert.equal(isHoldable(keyAddress('blue', name)), true);
  assert.deepEqual(parseAddress(sessionAddress('blue', 'u', 's')), { kind: 'session', app: 'blue', name: 'u', session: 's' });
});

test('names with NUL are refused, so no name can forge another kind or app', () => {
  assert.equal(isValidKey('\u0000tdefault\u0000x'), false);
  const valid = fc.string({ minLength: 1, maxLength: 20 }).filter((s) => isValidKey(s));
  const app = fc.constantFrom('default', 'blue', 'green');
  const kind = fc.constantFrom('key', 'topic', 'user') as fc.Arbitrary<'key' | 'topic' | 'user'>;
  const build = { key: keyAddress, topic: topicAddress, user: userAddress };
  fc.assert(fc.property(kind, app, valid, kind, app, valid, (k1, a1, n1, k2, a2, n2) => {
    const same = k1 === k2 && a1 === a2 && n1 === n2;
    assert.equal(build[k1](a1, n1) === build[k2](a2, n2), same);
    const parsed = parseAddress(build[k1](a1, n1));
    assert.deepEqual([parsed.kind, parsed.app, parsed.name], [k1, a1, n1]);
  }), { numRuns: 2000 });
});

test('sameNamespace: a default-app pattern never reaches another kind or app', async () => {
  const { sameNamespace } = await import('../../src/delivery/address.js');
  assert.equal(sameNamespace('*', 'abc'), true);
  assert.equal(sameNamespace('*', topicAddress('default', 'abc')), false);
  assert.equal(sameNamespace(keyAddress('blue', '*'), keyAddress('blue', 'x')), true);
  assert.equal(sameNamespace(keyAddress('blue', '*'), keyAddress('green', 'x')), false);
  assert.equal(sameNamespace(keyAddress('blue', '*'), topicAddress('blue', 'x')), false);
});
