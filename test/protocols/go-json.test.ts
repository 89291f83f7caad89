// Go's encoding/json output, byte for byte, for what the Go seeds send their clients.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareUtf8, goCompact, goField, goObject, goString, goValue, rawField, rawMembers } from '../../src/protocols/go-json.js';

test('strings: Go\'s escapes, HTML characters, U+2028/9, lone surrogates as U+FFFD, the rest as is', () => {
  assert.equal(goString('plain é 😀'), '"plain é 😀"');
  assert.equal(goString('"\\\n\r\t\b\f\u0001\u001f<>&\u2028\u2029\u007f'), '"\\"\\\\\\n\\r\\t\\b\\f\\u0001\\u001f\\u003c\\u003e\\u0026\\u2028\\u2029\u007f"');
  assert.equal(goString('a\ud800b\udc00'), '"a\ufffdb\ufffd"');
});

test('numbers as Go formats float64', () => {
  assert.equal(goValue(1e21), '1e+21');
  assert.equal(goValue(1e20), '100000000000000000000');
  assert.equal(goValue(1.5e-7), '1.5e-7');
  assert.equal(goValue(0.000001), '0.000001');
  assert.equal(goValue(-0), '-0');
  assert.equal(goValue(2.5), '2.5');
  assert.throws(() => goValue(Infinity), RangeError);
});

test('maps: keys sorted by UTF-8 bytes (astral characters after U+FFFF\'s neighbours)', () => {
  assert.equal(goObject({ b: 1, a: [true, null], B: { y: 1, x: 2 } }), '{"B":{"x":2,"y":1},"a":[true,null],"b":1}');
  assert.ok(compareUtf8('\uffff', '😀') < 0, 'U+FFFF sorts before U+1F600 in UTF-8');
  assert.ok('\uffff'.localeCompare('😀') !== 0 && '\uffff' > '😀', 'while UTF-16 order says the opposite');
  assert.equal(compareUtf8('a', 'ab') < 0, true);
});

test('compact: whitespace outside strings removed, HTML escaped, spellings kept', () => {
  assert.equal(goCompact(' { "a" : [ 1.0 , 1E3, "x y<" ] ,\n"\\u0041":"\\"}" } '), '{"a":[1.0,1E3,"x y\\u003c"],"\\u0041":"\\"}"}');
});

test('raw members: document order with repeats; fields match as Go\'s decoder matches them', () => {
  const text = ' {"a" : 1, "b":{"c":[1,"}"]}, "A":"x" , "\\u0062": null}';
  const members = rawMembers(text);
  assert.deepEqual(members?.map((m) => [m.key, text.slice(m.start, m.end)]), [['a', '1'], ['b', '{"c":[1,"}"]}'], ['A', '"x"'], ['b', 'null']]);
  assert.equal(rawField(text, members ?? [], 'a'), '"x"');
  assert.equal(rawField(text, members ?? [], 'b'), 'null');
  assert.equal(rawMembers('[1]'), undefined);
  assert.deepEqual(rawMembers('{}'), []);
  // U+017F (ſ) folds to s and U+212A (K) to k in Go's field matching.
  assert.equal(rawField('{"meſſage":1}', rawMembers('{"meſſage":1}') ?? [], 'message'), '1');
  assert.equal(goField({ '\u212aey': 2 }, 'key'), 2);
});
