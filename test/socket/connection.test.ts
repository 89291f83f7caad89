// The connection record: ids unique across gateway instances, identity held by reference, not copied.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { connectionId, createConnections, DEFAULT_APP } from '../../src/socket/connection.js';
import { identityFrom } from '../../src/identity/identity.js';
import { OctowayError } from '../../src/errors.js';

const log = pino({ level: 'silent' });

function identity(keys: string[], claims?: Record<string, unknown>) {
  const made = identityFrom(claims === undefined ? { keys } : { keys, claims }, log);
  assert.ok(!(made instanceof OctowayError));
  return made;
}

test('ids are <node>-<n> in base36, distinct within a gateway and across gateway instances', () => {
  const a = createConnections();
  const b = createConnections();
  const ids = new Set<string>();
  const shared = identity(['k']);
  for (let i = 0; i < 1000; i++) {
    ids.add(connectionId(a.open(shared, '127.0.0.1')));
    ids.add(connectionId(b.open(shared, '127.0.0.1')));
  }
  assert.equal(ids.size, 2000);
  const first = connectionId(createConnections().open(shared, '127.0.0.1'));
  assert.match(first, /^[0-9a-z]{1,8}-1$/);
});

test('a record holds the identity by reference, its keys as the same array, and the client address', () => {
  const who = identity(['a@x.io', 'acme'], { role: 'admin' });
  const connections = createConnections();
  const one = connections.open(who, '203.0.113.7');
  const two = connections.open(who, '198.51.100.1');
  assert.equal(one.identity, two.identity);
  assert.equal(one.keys, who.keys);
  assert.equal(one.app, DEFAULT_APP);
  assert.equal(one.remoteAddress, '203.0.113.7');
  assert.deepEqual(one.identity.claims, { role: 'admin' });
  assert.deepEqual(one.identity.grants, { subscribe: [], publish: [] });
  assert.ok(Object.isFrozen(who) && Object.isFrozen(who.keys) && Object.isFrozen(who.claims) && Object.isFrozen(who.grants));
  assert.deepEqual(
    { syncAttempt: one.syncAttempt, pending: one.pending, closed: one.closed, inboundSpent: one.inboundSpent, inboundCredit: one.inboundCredit, acksInFlight: one.acksInFlight },
    { syncAttempt: 0, pending: undefined, closed: false, inboundSpent: 0, inboundCredit: 0, acksInFlight: 0 },
  );
});

test('an identity needs a key within the routing-key limits', () => {
  const none = identityFrom({ keys: [] }, log);
  assert.equal(none instanceof OctowayError && none.code, 'AUTH_NO_KEYS');
  const long = identityFrom({ keys: ['x'.repeat(1025)] }, log);
  assert.equal(long instanceof OctowayError && long.code, 'AUTH_INVALID_KEYS');
  const granted = identityFrom({ keys: ['k'], subject: 'u1', session: 's1', grants: { subscribe: ['room:1'] }, expiresAt: 2_000_000_000 }, log);
  assert.ok(!(granted instanceof OctowayError));
  assert.deepEqual({ ...granted, grants: { ...granted.grants } }, {
    subject: 'u1', session: 's1', keys: ['k'], claims: undefined, grants: { subscribe: ['room:1'], publish: [] }, expiresAt: 2_000_000_000,
  });
});

test('a socket of another app is under its keys\' addresses in that app, one array per identity; ids share the node', async () => {
  const { keyAddress } = await import('../../src/delivery/address.js');
  const who = identity(['a@x.io', 'acme']);
  const connections = createConnections();
  const plain = connections.open(who, '127.0.0.1');
  const blue = connections.open(who, '127.0.0.1', 'blue');
  const again = connections.open(who, '127.0.0.1', 'blue');
  assert.equal(blue.app, 'blue');
  assert.deepEqual(blue.keys, [keyAddress('blue', 'a@x.io'), keyAddress('blue', 'acme')]);
  assert.notDeepEqual(blue.keys, plain.keys);
  assert.equal(again.keys, blue.keys, 'shared by the sockets of one identity');
  assert.deepEqual(blue.identity.keys, ['a@x.io', 'acme'], 'the identity keeps the names');
  assert.equal(blue.node, plain.node);
  assert.deepEqual(Object.keys(blue), Object.keys(plain), 'the same fields in the same order');
});
