import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDuration, parseSize } from '../src/units.js';

test('durations use Go syntax plus days; bare numbers other than 0 are refused', () => {
  assert.equal(parseDuration('300ms'), 300);
  assert.equal(parseDuration('1.5h'), 5_400_000);
  assert.equal(parseDuration('1h30m'), 5_400_000);
  assert.equal(parseDuration('2d'), 172_800_000);
  assert.equal(parseDuration('1500us'), 1.5);
  assert.equal(parseDuration('1µs'), 0.001);
  assert.equal(parseDuration('0'), 0);
  for (const bad of ['30', '', '-5s', '5 s', '1x', 'ms', '1h30', '1.2.3s']) assert.equal(parseDuration(bad), undefined, bad);
});

test('durations refuse exponents, signs, other digits and overflow; sub-millisecond parts stay fractional', () => {
  const overflow = `${'9'.repeat(400)}h`; // Number() gives Infinity
  for (const bad of ['1e400', '1e5s', '1e400s', overflow, `${'9'.repeat(400)}ns`, '-0', '+5s', 'NaN', 'Infinity', 'Infinitys', '1_000s', '0x10s', '\u0663s', '5S', '1h-30m', '00']) {
    assert.equal(parseDuration(bad), undefined, bad.slice(0, 20));
  }
  // Finite however long: the callers bound it (an `expire` by MAX_EXPIRE_MS, config by each variable).
  assert.equal(parseDuration('9999999999999d'), 9_999_999_999_999 * 86_400_000);
  assert.equal(parseDuration('.5s'), 500);
  assert.equal(parseDuration('1ns'), 0.000001);
  assert.equal(parseDuration(' 5s\n'), 5000);
});

test('sizes take bytes or a unit', () => {
  assert.equal(parseSize('1048576'), 1_048_576);
  assert.equal(parseSize('64KiB'), 65_536);
  assert.equal(parseSize('1MiB'), 1_048_576);
  assert.equal(parseSize('10MB'), 10_000_000);
  for (const bad of ['', '1 XB', '-1', 'KiB']) assert.equal(parseSize(bad), undefined, bad);
});
