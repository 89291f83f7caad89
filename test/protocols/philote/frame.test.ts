// Philote's client frames (gorilla ReadJSON into its Message) and server frame (WriteJSON).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseClientFrame, serverFrame } from '../../../src/protocols/philote/frame.js';

test('channel and data, case-insensitive, extra fields ignored, issuer overwritten later', () => {
  assert.deepEqual(parseClientFrame('{"channel":"c","data":"hello"}'), { type: 'publish', channel: 'c', data: 'hello' });
  assert.deepEqual(parseClientFrame('{"Channel":"c","Data":"x","Event":"e","issuer":"me"}'), { type: 'publish', channel: 'c', data: 'x' });
  assert.deepEqual(parseClientFrame('{"CHANNEL":"a","channel":"b"}'), { type: 'publish', channel: 'b', data: '' });
  assert.deepEqual(parseClientFrame('{}'), { type: 'publish', channel: '', data: '' });
});

test('only the first JSON value is read; what follows it is never looked at', () => {
  assert.deepEqual(parseClientFrame(' {"channel":"c","data":"}"} trailing {garbage'), { type: 'publish', channel: 'c', data: '}' });
});

test('a frame that does not decode ends the connection (and null, which crashed Philote)', () => {
  for (const text of ['', '   ', 'nope', '{"channel":', '{"channel":"c","data":5}', '{"issuer":1}', '[]', '"s"', '5', 'null', '{"channel" "c"}']) {
    assert.deepEqual(parseClientFrame(text), { type: 'close' }, text);
  }
});

test('the server frame: issuer, channel, data in that order, empties left out, newline-terminated, HTML escaped', () => {
  assert.equal(serverFrame('0f8e-id', 'c', 'hi'), '{"issuer":"0f8e-id","channel":"c","data":"hi"}\n');
  assert.equal(serverFrame('id', 'c', ''), '{"issuer":"id","channel":"c"}\n');
  assert.equal(serverFrame('id', '<c>', 'a&b'), '{"issuer":"id","channel":"\\u003cc\\u003e","data":"a\\u0026b"}\n');
});
