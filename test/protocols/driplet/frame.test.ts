// Driplet's server frame (json.Marshal of its BroadcastMessage) and client frames (its ReadPump).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseClientFrame, parsePublish } from '../../../src/protocols/driplet/frame.js';
import { DRIPLET_ANSWERS } from '../../../src/protocols/driplet/answers.js';

function frameOf(text: string, endpoint = 'web'): string {
  const result = parsePublish(text, endpoint);
  assert.ok('ok' in result, `expected a publish, got ${JSON.stringify(result)}`);
  return result.frame;
}

test('the frame: message as posted (compacted), target, endpoint from the URL, topic; nonce and timestamp dropped', () => {
  const text = '{ "nonce":"n", "timestamp":1, "topic":"news", "endpoint":"ignored", "message": { "b" : [1, 2.50, 1e3],\n "a":"x" } }';
  assert.equal(frameOf(text), '{"message":{"b":[1,2.50,1e3],"a":"x"},"target":{},"endpoint":"web","topic":"news"}');
});

test('include/exclude: keys sorted, empties and nulls left out, values as Go writes them', () => {
  const text = JSON.stringify({ topic: 't', message: 1, target: { exclude: { z: 1, 'user.id': -0, a: [true, null, 'x'] }, include: {} } });
  const result = parsePublish(text, 'web');
  assert.ok('ok' in result);
  assert.equal(result.frame, '{"message":1,"target":{"exclude":{"a":[true,null,"x"],"user.id":0,"z":1}},"endpoint":"web","topic":"t"}');
  assert.deepEqual(result.target, { exclude: { z: 1, 'user.id': 0, a: [true, null, 'x'] } });
  assert.equal(frameOf('{"topic":"t","target":{"include":{"b":1,"a":2},"exclude":null}}'), '{"message":null,"target":{"include":{"a":2,"b":1}},"endpoint":"web","topic":"t"}');
  assert.equal(frameOf('{"topic":"t","message":1,"target":{"include":{"n":-0}}}'), '{"message":1,"target":{"include":{"n":-0}},"endpoint":"web","topic":"t"}');
});

test('HTML characters and U+2028 are escaped as Go escapes them, in the message and the rest', () => {
  const text = '{"topic":"<t>","message":"a<b>&c\u2028","target":{"include":{"k&":"<v>"}}}';
  assert.equal(frameOf(text, 'e&'), '{"message":"a\\u003cb\\u003e\\u0026c\\u2028","target":{"include":{"k\\u0026":"\\u003cv\\u003e"}},"endpoint":"e\\u0026","topic":"\\u003ct\\u003e"}');
});

test('field names match case-insensitively and the last repeat wins, as in Go', () => {
  assert.equal(frameOf('{"TOPIC":"a","Message":"x","message":"y","topic":"b"}'), '{"message":"y","target":{},"endpoint":"web","topic":"b"}');
  assert.equal(frameOf('{"topic":"t","Target":{"INCLUDE":{"k":1}}}'), '{"message":null,"target":{"include":{"k":1}},"endpoint":"web","topic":"t"}');
});

test('wrongly typed fields or a number beyond float64 are 400; a missing topic or an object in a target is 500', () => {
  for (const text of ['{"topic":5}', '{"topic":"t","target":[]}', '{"topic":"t","target":{"include":[1]}}', '{"topic":"t","endpoint":1}', '{"topic":"t","target":{"include":{"a":1e400}}}', '[]']) {
    assert.equal(parsePublish(text, 'web'), DRIPLET_ANSWERS.invalidMessageFormat, text);
  }
  for (const text of ['{"message":1}', '{"topic":"","message":1}', '{"topic":null}', '{"topic":"t","target":{"include":{"a":{"b":1}}}}', '{"topic":"t","target":{"exclude":{"a":[[1],{"b":1}]}}}']) {
    assert.equal(parsePublish(text, 'web'), DRIPLET_ANSWERS.broadcastError, text);
  }
  assert.deepEqual(DRIPLET_ANSWERS.broadcastError, { status: 500, body: 'Error broadcasting message\n' });
  assert.deepEqual(DRIPLET_ANSWERS.invalidMessageFormat, { status: 400, body: 'Invalid message format\n' });
  assert.ok('ok' in parsePublish('{"topic":"t","target":{"include":{"a":[[1,[2]],"x"]}}}', 'web'), 'nested arrays are allowed');
});

test('client frames: subscribe and unsubscribe; anything else ignored without an answer', () => {
  assert.deepEqual(parseClientFrame('{"type":"subscribe","topic":"news"}'), { type: 'subscribe', topic: 'news' });
  assert.deepEqual(parseClientFrame(' {"Type":"unsubscribe","TOPIC":"news","extra":[1]} '), { type: 'unsubscribe', topic: 'news' });
  assert.deepEqual(parseClientFrame('{"type":"subscribe"}'), { type: 'subscribe', topic: '' });
  for (const text of ['', 'subscribe', '{"type":"Subscribe","topic":"t"}', '{"type":"subscribe","topic":5}', '{"type":1}', '[{"type":"subscribe"}]', 'null', '{"type":"subscribe","topic":"t"} x', '{"type":"ping"}']) {
    assert.deepEqual(parseClientFrame(text), { type: 'ignored' }, text);
  }
});
