// Wildcard keys match as Goctopus's path.Match does: the cases below are Go's own behaviour.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compilePattern, isPattern, literalPrefix } from '../../src/delivery/key-pattern.js';

const cases: Array<[pattern: string, key: string, matches: boolean]> = [
  ['*', 'abc', true],
  ['*', 'a/b', false],
  ['*', '', true],
  ['org/*', 'org/sales', true],
  ['org/*', 'org/sales/eu', false],
  ['org/*/eu', 'org/sales/eu', true],
  ['org.*', 'org.sales', true],
  ['org.*', 'orgxsales', false],
  ['a?c', 'abc', true],
  ['a?c', 'a/c', false],
  ['a?c', 'aéc', true],
  ['a?c', 'a😀c', true],
  ['a?c', 'ac', false],
  ['[abc]x', 'bx', true],
  ['[abc]x', 'dx', false],
  ['[^abc]x', 'dx', true],
  ['[^abc]x', 'ax', false],
  ['[a-c]', 'b', true],
  ['[a-c]', 'd', false],
  ['[/]', '/', true],
  ['[\\]]', ']', true],
  ['a\\*b', 'a*b', true],
  ['a\\*b', 'axb', false],
  ['[z-a]', 'm', false],
  // Malformed: matches nothing, not even itself.
  ['a[', 'a[', false],
  ['[]a]', ']', false],
  ['[-a]', '-', false],
  ['[a-', 'a', false],
  ['a\\', 'a\\', false],
  ['[^]', 'x', false],
  ['[a', 'a', false],
];

test('patterns match as Go path.Match: * and ? never cross /, classes may, malformed ones never match', () => {
  for (const [pattern, key, expected] of cases) {
    assert.equal(compilePattern(pattern)(key), expected, `${pattern} against ${key}`);
  }
});

test('a key is a pattern when it holds *, ? or [; the literal prefix stops at the first metacharacter', () => {
  assert.deepEqual(['a*', 'a?', 'a[b]', 'plain', 'a]b', 'a\\b'].map(isPattern), [true, true, true, false, false, false]);
  assert.deepEqual(['org/*', 'a\\*', '*x', 'ab[c]'].map(literalPrefix), ['org/', 'a', '', 'ab']);
});

test('many stars against a long key that does not match cost little (no backtracking blow-up)', () => {
  // A backtracking RegExp ([^/]* per star) takes ~length^stars steps here; Go's algorithm
  // backtracks only the last star, so this is 20 × 10,000 steps at most.
  const key = 'a'.repeat(10_000);
  const started = performance.now();
  assert.equal(compilePattern(`${'*a'.repeat(20)}b`)(key), false);
  assert.equal(compilePattern(`${'*'.repeat(20)}b`)(key), false);
  assert.equal(compilePattern(`${'*?'.repeat(20)}/`)(key), false);
  assert.ok(performance.now() - started < 50, `took ${performance.now() - started} ms`);
});

test('the matcher agrees with Go on stars that must backtrack, and walks keys by code point', () => {
  const more: Array<[pattern: string, key: string, matches: boolean]> = [
    ['*a*b', 'xaybzb', true], ['*a*b', 'xaybzbc', false], ['a*b*c', 'abbbcc', true], ['*.go', 'x.go.go', true],
    ['*/b', 'a/b', true], ['*/b', 'a/c/b', false], ['a*', 'a/', false], ['*?', '😀', true], ['*??', '😀', false],
    ['[😀-😂]', '😁', true], ['[^😀]', '😀', false], ['', '', true], ['', 'a', false], ['**', 'ab', true],
  ];
  for (const [pattern, key, expected] of more) assert.equal(compilePattern(pattern)(key), expected, `${pattern} against ${key}`);
});

test('a pattern matches addresses of its own namespace only: a default-app * never reaches another app or a topic', async () => {
  const { keyAddress, topicAddress } = await import('../../src/delivery/address.js');
  const everything = compilePattern('*');
  assert.equal(everything('abc'), true);
  assert.equal(everything(keyAddress('blue', 'abc')), false);
  assert.equal(everything(topicAddress('default', 'abc')), false);
  const blueOrg = compilePattern(keyAddress('blue', 'org/*'));
  assert.equal(blueOrg(keyAddress('blue', 'org/sales')), true);
  assert.equal(blueOrg(keyAddress('blue', 'org/sales/eu')), false);
  assert.equal(blueOrg('org/sales'), false);
  assert.equal(blueOrg(keyAddress('green', 'org/sales')), false);
  assert.equal(blueOrg(keyAddress('bluer', 'org/sales')), false);
  assert.equal(literalPrefix(keyAddress('blue', 'org/*')), keyAddress('blue', 'org/'));
});
