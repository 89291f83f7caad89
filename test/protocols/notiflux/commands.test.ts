// notiflux's slash commands, exactly as its session.rs splits them, with its two answers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { INVALID_SUBSCRIBE, parseCommand, UNKNOWN_COMMAND } from '../../../src/protocols/notiflux/commands.js';

const invalid = { type: 'reply', text: 'Invalid subscribe command, it should be: /subscribe <topic> <token>' };
const unknown = { type: 'reply', text: 'Unknown command' };

test('the three commands', () => {
  assert.deepEqual(parseCommand('/subscribe news tok.en.sig'), { type: 'subscribe', topic: 'news', token: 'tok.en.sig' });
  assert.deepEqual(parseCommand('/unsubscribe news'), { type: 'unsubscribe', topic: 'news' });
  assert.deepEqual(parseCommand('/unsubscribe-all'), { type: 'unsubscribe-all' });
  assert.equal(INVALID_SUBSCRIBE, invalid.text);
  assert.equal(UNKNOWN_COMMAND, unknown.text);
});

test('the frame is trimmed (Rust\'s whitespace), arguments split on single spaces', () => {
  assert.deepEqual(parseCommand(' \t\n/subscribe a b\r\n\u0085'), { type: 'subscribe', topic: 'a', token: 'b' });
  assert.deepEqual(parseCommand('\u3000/unsubscribe-all\u00a0'), { type: 'unsubscribe-all' });
  assert.deepEqual(parseCommand('\ufeff/unsubscribe-all'), { type: 'ignored' }, 'U+FEFF is not whitespace to Rust');
  assert.deepEqual(parseCommand('/unsubscribe-all\ufeff'), unknown);
  assert.deepEqual(parseCommand('/subscribe a\tb'), invalid, 'a tab does not split');
  assert.deepEqual(parseCommand('/subscribe  b'), { type: 'subscribe', topic: '', token: 'b' }, 'two spaces: an empty topic');
});

test('malformed subscribes: the invalid-subscribe answer, except a bare /subscribe, which is unknown', () => {
  assert.deepEqual(parseCommand('/subscribe a'), invalid);
  assert.deepEqual(parseCommand('/subscribe a b c'), invalid);
  assert.deepEqual(parseCommand('/subscribe a  b'), invalid);
  assert.deepEqual(parseCommand('/subscribe'), unknown);
  assert.deepEqual(parseCommand('  /subscribe  '), unknown);
});

test('unsubscribe takes the whole rest as the topic; a bare one is unknown', () => {
  assert.deepEqual(parseCommand('/unsubscribe a b'), { type: 'unsubscribe', topic: 'a b' });
  assert.deepEqual(parseCommand('/unsubscribe'), unknown);
  assert.deepEqual(parseCommand('/unsubscribe-all now'), unknown);
});

test('not a command: ignored; an unknown command: answered', () => {
  for (const text of ['', '   ', 'hello', 'subscribe a b', '{"type":"subscribe"}']) assert.deepEqual(parseCommand(text), { type: 'ignored' }, text);
  for (const text of ['/', '/Subscribe a b', '/broadcast a b', '/help', '/subscribe-all']) assert.deepEqual(parseCommand(text), unknown, text);
});
