// notiflux's POST /broadcast body as actix-web's Json extractor and serde accept it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NOTIFLUX_BODY_LIMIT, parseBroadcast } from '../../../src/protocols/notiflux/broadcast.js';

const json = 'application/json';
const b = (text: string): Uint8Array => Buffer.from(text);

test('a well-formed body: the three strings; unknown fields ignored; an array works positionally', () => {
  assert.deepEqual(parseBroadcast(json, b('{"topic":"t","message":"<b>hi</b>","token":"x.y.z","extra":1}')), { ok: true, topic: 't', message: '<b>hi</b>', token: 'x.y.z' });
  assert.deepEqual(parseBroadcast('application/json; charset=utf-8', b('["t","m","k"]')), { ok: true, topic: 't', message: 'm', token: 'k' });
  assert.ok('ok' in parseBroadcast('application/merge-patch+json', b('{"topic":"t","message":"m","token":"k"}')));
});

test('malformed: 400, with actix\'s text prefix', () => {
  for (const text of ['', 'nope', '{"topic":"t","message":"m"}', '{"topic":"t","message":{"a":1},"token":"k"}', '{"topic":"t","message":"m","token":null}', '"s"', '["t","m"]', '{"topic":"t","topic":"u","message":"m","token":"k"}']) {
    const answer = parseBroadcast(json, b(text));
    assert.ok(!('ok' in answer), text);
    assert.equal(answer.status, 400, text);
    assert.match(answer.body, /^Json deserialize error: /, text);
  }
  assert.deepEqual(parseBroadcast('text/plain', b('{"topic":"t","message":"m","token":"k"}')), { status: 400, body: 'Content type error' });
  assert.deepEqual(parseBroadcast(undefined, b('{}')), { status: 400, body: 'Content type error' });
  const big = parseBroadcast(json, new Uint8Array(NOTIFLUX_BODY_LIMIT + 1));
  assert.ok(!('ok' in big) && big.status === 413);
});
