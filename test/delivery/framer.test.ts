// The framers (src/delivery/framer.ts): Goctopus's frame is the message's own; v2's names where the
// message came from and carries the payload cut from the Goctopus frame, byte for byte the value
// published, for any JSON value and id (property), with a sender's id when there is one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { GOCTOPUS, V2, framerOf, payloadText } from '../../src/delivery/framer.js';
import { keyAddress, topicAddress } from '../../src/delivery/address.js';
import { frameOf } from '../../src/delivery/message.js';

test('Goctopus sockets get the message\'s own frame, on the address itself', () => {
  const frame = frameOf('id-1', { a: 1 });
  assert.equal(GOCTOPUS.frame('k', 'id-1', frame, 'conn-1'), frame);
  assert.equal(GOCTOPUS.tag, '');
  assert.equal(framerOf(''), GOCTOPUS);
  assert.equal(framerOf('chat'), GOCTOPUS);
  assert.equal(framerOf('octoway.v2'), V2);
});

test('v2 frames name the key or topic (of any app) and carry the payload and sender', () => {
  const frame = frameOf('m1', ['x', 2]);
  assert.deepEqual(JSON.parse(V2.frame(keyAddress('default', 'alice'), 'm1', frame, undefined)), { type: 'message', id: 'm1', key: 'alice', payload: ['x', 2] });
  assert.deepEqual(JSON.parse(V2.frame(keyAddress('blue', 'alice'), 'm1', frame, undefined)), { type: 'message', id: 'm1', key: 'alice', payload: ['x', 2] });
  assert.deepEqual(JSON.parse(V2.frame(topicAddress('default', 'chat:1'), 'm1', frame, 'n-7')), { type: 'message', id: 'm1', topic: 'chat:1', payload: ['x', 2], from: 'n-7' });
});

test('v2 tags can never equal an address: they start with U+0001 and hold NUL', () => {
  assert.ok(V2.tag.startsWith('\u0001') && V2.tag.includes('\u0000'));
});

test('property: the v2 payload is the published value, for any JSON value and id', () => {
  fc.assert(fc.property(fc.string(), fc.jsonValue(), fc.string({ minLength: 1, maxLength: 30 }), (id, value, name) => {
    fc.pre(value !== null && !name.includes('\u0000'));
    const frame = frameOf(id, value);
    const parsed = JSON.parse(V2.frame(topicAddress('default', name), id, frame, undefined));
    assert.deepEqual(parsed, { type: 'message', id, topic: name, payload: JSON.parse(JSON.stringify(value)) });
  }), { seed: 13, numRuns: 500 });
});

test('a frame of another shape is parsed rather than cut', () => {
  assert.equal(payloadText('{"payload":5,"id":"a"}', JSON.stringify('a')), '5');
  assert.equal(payloadText('{"id":"a","payload":{"b":[1]}}', JSON.stringify('a')), '{"b":[1]}');
});
